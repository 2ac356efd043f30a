"""Real footage: J&F of the registry's methods on a few real DAVIS clips.

Everything else in this repository trains and tests on generated videos.  This script
scores the cached CPU-scale models (``data/checkpoints``, trained on synthetic videos
only; never trained here) and the baselines on the real-footage split that
``python -m vos_lib.data.real`` builds in ``data/real`` (DAVIS 2016 clips with a mask for
every frame; ``benchmarks/README.md``, *Real footage*, says where they come from):

==============  ===========================================================
``first``       the first mask repeated (zero motion)
``dis``         the previous mask warped by OpenCV's DIS flow (learns nothing)
``flow``        the previous mask warped by DTN's trained flow network
``dtn``         DTN (decision module, BP/BR streams, MRN)
``dipnet``      DIPNet with its one-shot fine-tuning on the first frame
``dipnet-noft`` DIPNet without it (``segment --method dipnet --no-finetune``)
==============  ===========================================================

and four diagnostic runs that say which part fails (segmenter options the command line
does not offer): ``dtn-bp`` / ``dtn-br`` (DTN with every frame routed to box
propagation / box re-identification), ``dipnet-ssn`` / ``dipnet-ssn-noft`` (DIPNet's
refinement network fed the previous frame's masks instead of the identity propagation,
"SSN alone" of DIPNet Table 6, with and without the one-shot fine-tuning).

Each run goes through :func:`vos_lib.eval.run.run_and_score` (masks kept in
``data/results/real/<run>``) and :func:`~vos_lib.eval.run.summarize`; differences
between runs are paired per video (:func:`vos_lib.eval.compare.paired_gap`, in J&F
points, ``mean +- 2 SE``).  To see *when* a method loses the object it also reports J at
frames 1, 2, 3, 5, 10 (mean over videos), the first frame whose J drops below 0.5, and
how much of the frames' predicted object is empty or far too large.

With ``--cli`` (default) it also runs ``python -m vos_lib segment --method dipnet`` and
``--method dtn`` on the first clip's frames and first mask into ``--cli-out/<method>``
and checks what they wrote (one indexed PNG per frame in the DAVIS palette, the frame's
size, only the first mask's ids, frame 0 = the given mask) and its J against the
ground truth.

Writes ``benchmarks/results/real_footage.json`` and prints the tables.  Run (after
building the split)::

    python benchmarks/bench_real.py [--threads 1] [--runs first dis ...] [--no-cli]
    python benchmarks/bench_real.py --show      # the tables of the saved JSON again
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vos_lib.core.segmenter import get_method
from vos_lib.data import DAVIS
from vos_lib.data.real import MANIFEST, real_root
from vos_lib.engine.cache import results_dir
from vos_lib.eval.compare import paired_gap
from vos_lib.eval.metrics import evaluate_frames
from vos_lib.eval.run import run_and_score, summarize
from vos_lib.io import PALETTE, read_mask
from vos_lib.segment import check_model_available

from cpu_common import machine   # benchmarks/cpu_common.py

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "benchmarks" / "results" / "real_footage.json"

# run name -> (registry method, segmenter options)
RUNS = {
    "first": ("first", {}),
    "dis": ("dis", {}),
    "flow": ("flow", {}),
    "dtn": ("dtn", {}),
    "dipnet": ("dipnet", {}),
    "dipnet-noft": ("dipnet", {"finetune": False}),
    # diagnostics: which part fails (segmenter options, not on the command line)
    "dtn-bp": ("dtn", {"policy": "bp"}),                 # box propagation on every frame
    "dtn-br": ("dtn", {"policy": "br"}),                 # box re-identification on every frame
    "dipnet-ssn": ("dipnet", {"use_ipn": False}),        # SSN on the previous masks, no IPN
    "dipnet-ssn-noft": ("dipnet", {"use_ipn": False, "finetune": False}),
}
DIAGNOSTIC = ("dtn-bp", "dtn-br", "dipnet-ssn", "dipnet-ssn-noft")
# paired differences a - b reported (those whose runs both ran)
GAPS = [("dtn", "first"), ("dipnet", "first"), ("dipnet-noft", "first"),
        ("dipnet", "dipnet-noft"), ("dipnet", "dtn"), ("flow", "first"), ("dis", "first"),
        ("dtn", "flow"), ("dtn-bp", "first"), ("dtn-br", "first"), ("dipnet-ssn", "first"),
        ("dipnet-ssn", "dipnet-ssn-noft")]
J_AT = (1, 2, 3, 5, 10)


def parse_args() -> argparse.Namespace:
    """The command line (see the module docstring); sets torch's thread count."""
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default=str(real_root()), help="the real split (data/real)")
    ap.add_argument("--runs", nargs="+", default=list(RUNS), choices=list(RUNS))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cli", action=argparse.BooleanOptionalAction, default=True,
                    help="also run and check `python -m vos_lib segment` (dipnet, dtn)")
    ap.add_argument("--cli-out", default="/tmp/real_seg")
    ap.add_argument("--note", default="", help="free text stored with the results")
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--show", action="store_true",
                    help="only print the tables of the JSON at --out (runs nothing)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    return a


def sha256(path, n=12) -> str:
    """The first ``n`` hex digits of the SHA-256 of the file at ``path``."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:n]


# ----------------------------------------------------------------------- analysis
def behaviour(davis: DAVIS, pred_dir: Path, per_frame: dict) -> dict:
    """When and how a run loses the object: J at a few frames, the first frame with
    J < 0.5, and the share of scored frames whose prediction is empty or > 3x the
    ground truth's area (per video, objects pooled)."""
    out = {}
    for seq in davis.sequences:
        J = np.asarray(per_frame[seq]["J"], float).mean(0)      # (T-2,) frames 1..T-2
        below = np.flatnonzero(J < 0.5)
        empty = big = 0
        T = davis.num_frames(seq)
        for t in range(1, T - 1):
            gt = davis.read_mask(seq, t)
            pr = read_mask(pred_dir / seq / f"{t:05d}.png")
            g, p = int(((gt != 0) & (gt != 255)).sum()), int((pr != 0).sum())
            empty += p == 0
            big += g > 0 and p > 3 * g
        out[seq] = {"J_at": {str(t): float(J[t - 1]) for t in J_AT if t - 1 < len(J)},
                    "first_frame_J_below_0.5": int(below[0]) + 1 if len(below) else None,
                    "J_last5": float(J[-5:].mean()),
                    "empty_frames": empty / (T - 2), "oversized_frames": big / (T - 2)}
    return out


def pooled(beh: dict) -> dict:
    """:func:`behaviour`'s per-video numbers averaged over the videos."""
    seqs = list(beh)
    at = {t: [beh[s]["J_at"][t] for s in seqs if t in beh[s]["J_at"]] for t in map(str, J_AT)}
    return {"J_at": {t: float(np.mean(v)) for t, v in at.items() if v},
            "J_last5": float(np.mean([beh[s]["J_last5"] for s in seqs])),
            "empty_frames": float(np.mean([beh[s]["empty_frames"] for s in seqs])),
            "oversized_frames": float(np.mean([beh[s]["oversized_frames"] for s in seqs]))}


def run_one(name: str, root: Path, davis: DAVIS) -> dict:
    """Run ``name`` (:data:`RUNS`) on the split, score it, and describe its checkpoint,
    scores, behaviour and timing; its masks go to ``data/results/real/<name>``."""
    method, opts = RUNS[name]
    check_model_available(method)                       # cached model or a clear error
    spec = get_method(method)
    ckpt = spec.cached("cpu") if spec.cached else None
    seg = spec.segmenter(**opts)
    out_dir = results_dir() / "real" / name
    t0 = time.perf_counter()
    r = run_and_score(seg, root, out_dir, split="val", progress=False)
    seconds = time.perf_counter() - t0
    s = summarize(r)
    beh = behaviour(davis, out_dir, r["scores"]["per_frame"])
    frames = sum(davis.num_frames(q) for q in davis.sequences)
    return {"method": method, "options": opts, "diagnostic": name in DIAGNOSTIC,
            "checkpoint": None if ckpt is None else
            {"path": os.path.relpath(ckpt, REPO), "sha256": sha256(ckpt)},
            "global": s["global"], "per_sequence": s["per_sequence"],
            "br_fraction": s["br_fraction"], "info": s["info"],
            "behaviour": {"pooled": pooled(beh), "per_sequence": beh},
            "seconds": seconds, "seconds_per_frame": seconds / frames,
            "results": os.path.relpath(out_dir, REPO)}


# ------------------------------------------------------------------------ CLI check
def cli_check(method: str, root: Path, davis: DAVIS, seq: str, out: Path, threads: int,
              bench_jf: float | None) -> dict:
    """Run the `segment` command on one real clip and check its output files."""
    frames_dir, mask = davis.frame_dir(seq), davis.mask_dir(seq) / "00000.png"
    cmd = [sys.executable, "-m", "vos_lib", "segment", "--method", method,
           "--frames", str(frames_dir), "--mask", str(mask), "--out", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO)
    res = {"command": " ".join(["python"] + cmd[1:]).replace(str(REPO) + "/", ""),
           "returncode": p.returncode, "seconds": time.perf_counter() - t0,
           "stdout": p.stdout.strip().splitlines()[-6:],
           "stderr": p.stderr.strip().splitlines()[-3:]}
    if p.returncode != 0:
        res["ok"] = False
        return res
    T, (H, W) = davis.num_frames(seq), davis.read_frame(seq, 0).shape[:2]
    first = davis.read_mask(seq, 0)
    ids0 = {0} | {int(i) for i in np.unique(first) if i not in (0, 255)}
    problems, preds = [], []
    pal = PALETTE.ravel().tolist()
    for t in range(T):
        f = out / f"{t:05d}.png"
        if not f.is_file():
            problems.append(f"{f.name} missing")
            continue
        with Image.open(f) as im:
            if im.mode != "P":
                problems.append(f"{f.name}: mode {im.mode}")
            if im.size != (W, H):
                problems.append(f"{f.name}: size {im.size}")
            if (im.getpalette() or [])[:768] != pal:
                problems.append(f"{f.name}: not the DAVIS palette")
            a = np.array(im)
        extra = set(np.unique(a).tolist()) - ids0
        if extra:
            problems.append(f"{f.name}: ids {sorted(extra)} not in the first mask")
        preds.append(a)
    if preds and not np.array_equal(preds[0], np.where(first == 255, 0, first)):
        problems.append("frame 0 differs from the given first mask")
    report = json.loads((out / "report.json").read_text())
    res.update({"frames_written": len(preds), "frames": T, "size": [H, W],
                "ids": sorted(ids0 - {0}), "report_method": report.get("method"),
                "overlay_gif": (out / "overlay.gif").is_file(), "problems": problems,
                "ok": not problems and len(preds) == T})
    if len(preds) == T:
        gt = np.stack([davis.read_mask(seq, t) for t in range(1, T - 1)])
        e = evaluate_frames(gt, np.stack(preds[1:T - 1]), len(ids0) - 1, seq)
        res["J&F"] = float((np.mean(e["J-Mean"]) + np.mean(e["F-Mean"])) / 2)
        res["bench_J&F"] = bench_jf
    return res


# ----------------------------------------------------------------------------- main
def show(out_path: Path, root: Path) -> None:
    """``--show``: print the tables of the saved JSON at ``out_path`` (runs nothing)."""
    out = json.loads(out_path.read_text())
    print_tables(out, DAVIS(root, year="2017", split="val"))


def load_split(root: Path) -> tuple[DAVIS, dict]:
    """The real-footage split at ``root`` (validated) and its manifest; exit with a hint
    on how to build it when it is not there."""
    if not (root / MANIFEST).is_file():
        sys.exit(f"{root}: no real-footage split here; build it first (benchmarks/README.md, "
                 f"Real footage): python -m vos_lib.data.real --git PATH/EOR-VOS")
    davis = DAVIS(root, year="2017", split="val").validate()
    manifest = json.loads((root / MANIFEST).read_text())
    return davis, manifest


def run_all(names: list[str], root: Path, davis: DAVIS) -> dict:
    """:func:`run_one` for each run name, in order: ``{name: result}``."""
    runs = {}
    for name in names:
        print(f"[{time.strftime('%H:%M:%S')}] {name} ...", flush=True)
        runs[name] = run_one(name, root, davis)
    return runs


def paired_gaps(runs: dict, davis: DAVIS) -> dict:
    """The :data:`GAPS` whose two runs both ran, as paired per-video J&F differences in
    points (none with fewer than two videos)."""
    gaps = {}
    for x, y in GAPS:
        if x in runs and y in runs and len(davis.sequences) >= 2:
            g = paired_gap(runs[x]["per_sequence"], runs[y]["per_sequence"], scale=100)
            gaps[f"{x} - {y}"] = {"mean": g.mean, "se": g.se, "n": g.n,
                                  "n_better": g.n_better, "clear": g.clear, "text": str(g)}
    return gaps


def cli_checks(root: Path, davis: DAVIS, runs: dict, cli_out: Path, threads: int) -> dict:
    """:func:`cli_check` of ``segment --method dipnet`` and ``dtn`` on the first clip,
    each next to the benchmark's J&F of that clip (``None`` where the run did not run)."""
    cli = {}
    seq = davis.sequences[0]
    for m in ("dipnet", "dtn"):
        print(f"[{time.strftime('%H:%M:%S')}] segment --method {m} on {seq} ...",
              flush=True)
        bench = runs.get(m, {}).get("per_sequence", {}).get(seq)
        cli[m] = cli_check(m, root, davis, seq, cli_out / m, threads, bench)
    return cli


def results(a: argparse.Namespace, root: Path, manifest: dict, load0: tuple, runs: dict,
            gaps: dict, cli: dict) -> dict:
    """The JSON written to ``--out``: machine, date, load, data, protocol and results."""
    return {"machine": machine(a.threads), "date": time.strftime("%Y-%m-%d"),
            "load_average_start": [round(x, 2) for x in load0],
            "load_average_end": [round(x, 2) for x in os.getloadavg()],
            "data": {"root": os.path.relpath(root, REPO), "source": manifest["source"],
                     "sequences": {s: {k: c[k] for k in ("frames", "height", "width",
                                                         "object_ids")}
                                   for s, c in manifest["clips"].items()}},
            "protocol": "DAVIS semi-supervised: first mask given, frames 1..T-2 scored "
                        "(vos_lib.evaluate); J&F per video = mean over its objects",
            "runs": runs, "paired_gaps_points": gaps, "cli_check": cli, "note": a.note}


def write_json(out: dict, path: Path) -> None:
    """Write ``out`` to ``path`` (its folder created if needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1))


def main():
    """Score the runs on the real split, check the CLI, write the JSON, print the tables
    (or, with ``--show``, only print the tables of the saved JSON)."""
    a = parse_args()
    root = Path(a.root)
    if a.show:
        show(Path(a.out), root)
        return
    davis, manifest = load_split(root)
    load0 = os.getloadavg()
    runs = run_all(a.runs, root, davis)
    gaps = paired_gaps(runs, davis)
    cli = cli_checks(root, davis, runs, Path(a.cli_out), a.threads) if a.cli else {}
    out = results(a, root, manifest, load0, runs, gaps, cli)
    write_json(out, Path(a.out))
    print_tables(out, davis)


def print_tables(out: dict, davis: DAVIS) -> None:
    """Print the runs' table, the paired gaps and the CLI checks of the results ``out``."""
    seqs = davis.sequences
    frames = sum(davis.num_frames(s) for s in seqs)
    print(f"\nreal footage: {len(seqs)} DAVIS 2016 clips, {frames} frames "
          f"({out['machine']})")
    head = f"{'run':<16}{'J&F':>7}{'J':>7}{'F':>7}" + "".join(f"{s[:10]:>11}" for s in seqs)
    head += "".join(f"{'J@' + str(t):>7}" for t in J_AT) + f"{'empty':>7}{'BR':>6}"
    head += f"{'s/frame':>9}"
    print(head)
    for name, r in out["runs"].items():
        g, b = r["global"], r["behaviour"]["pooled"]
        row = f"{name:<16}{g['J&F-Mean']:7.3f}{g['J-Mean']:7.3f}{g['F-Mean']:7.3f}"
        row += "".join(f"{r['per_sequence'][s]:11.3f}" for s in seqs)
        row += "".join(f"{b['J_at'][str(t)]:7.2f}" if str(t) in b["J_at"] else f"{'-':>7}"
                       for t in J_AT)
        br = f"{r['br_fraction']:6.0%}" if r["method"] == "dtn" else f"{'':>6}"
        row += f"{b['empty_frames']:7.0%}{br}{r['seconds_per_frame']:9.3f}"
        print(row)
    if out["paired_gaps_points"]:
        print(f"\npaired per-video gaps, J&F points (mean +- 2 SE, {len(seqs)} videos)")
        for k, g in out["paired_gaps_points"].items():
            print(f"  {k:<30}{g['text']:>17}   {g['n_better']}/{g['n']} videos favour "
                  f"{k.split(' - ')[0]}")
    for m, c in out["cli_check"].items():
        status = "ok" if c.get("ok") else f"FAILED {c.get('problems') or c.get('stderr')}"
        jf = f", J&F {c['J&F']:.3f} (bench {c['bench_J&F']:.3f})" if "J&F" in c and \
            c.get("bench_J&F") is not None else ""
        print(f"\nsegment --method {m}: {status}; {c.get('frames_written')} masks "
              f"{c.get('size')}, ids {c.get('ids')}, {c['seconds']:.0f} s{jf}")


if __name__ == "__main__":
    main()
