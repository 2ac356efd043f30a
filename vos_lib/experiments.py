"""The DTN experiments of the book (Table 3, Fig. 6), computed once and cached.

Each experiment segments the synthetic val split with one configuration, scores it
with :mod:`vos_lib.metrics`, and stores a small JSON summary in ``data/results/``.  The
summary remembers which checkpoint produced it, so retraining invalidates it.  Two
processes asking for the same result at once compute it once (file lock).

Times are *not* measured here: wall-clock figures depend on the machine, so they come
from ``benchmarks/bench_dtn.py`` (see :func:`speed_model`).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from .baselines import FlowPropagation, RepeatFirstMask
from .dtn import DTNSegmenter
from .inference import run_and_score
from .paths import data_root, file_lock, synthetic_root
from .train import load_dtn, train_dtn

REPO = Path(__file__).resolve().parent.parent
TIMING_FILE = REPO / "benchmarks" / "results" / "dtn_cpu.json"


def results_dir() -> Path:
    return data_root() / "results"


def _fingerprint(path) -> str:
    st = os.stat(path)
    return f"{Path(path).name}:{st.st_size}:{int(st.st_mtime)}"


def _summary(r: dict) -> dict:
    g = r["scores"]["global"]
    routes = {seq: info.get("routes", []) for seq, info in r["infos"].items()}
    conf = {seq: info.get("confidence", []) for seq, info in r["infos"].items()}
    per_seq = {}
    for obj, v in r["scores"].get("per_object", {}).items():
        seq = obj.rsplit("_", 1)[0]
        per_seq.setdefault(seq, []).append((v["J-Mean"] + v["F-Mean"]) / 2)
    return {"global": {k: float(v) for k, v in g.items() if isinstance(v, (int, float))},
            "br_fraction": r["br_fraction"], "routes": routes, "confidence": conf,
            "per_sequence": {s: float(np.mean(v)) for s, v in per_seq.items()}}


def run(name: str, make_segmenter, ckpt=None, sequences=None, root=None) -> dict:
    """Segment + score the val split with ``make_segmenter()``; cached by name."""
    root = Path(root) if root else synthetic_root()
    out = results_dir()
    path = out / f"{name}.json"
    key = {"checkpoint": _fingerprint(ckpt) if ckpt else None, "sequences": sequences}
    def fresh():
        if path.is_file():
            s = json.loads(path.read_text())
            if s.get("key") == key:
                return s
        return None
    s = fresh()
    if s:
        return s
    with file_lock(out / f".{name}.lock"):
        s = fresh()
        if s:
            return s
        r = run_and_score(make_segmenter(), root, out / name, split="val", sequences=sequences,
                          progress=False)
        s = {"name": name, "key": key, **_summary(r)}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(s))
        os.replace(tmp, path)
    return s


# --------------------------------------------------------------------------- Table 3
TABLE3_PAPER = {  # DTN Table 3, DAVIS-2016 val: (J Mean, F Mean, G=J&F Mean)
    "w/o FT": (67.1, 66.5, 66.8),
    "w/o PT": (68.4, 69.9, 69.2),
    "w/o DTN": (72.7, 71.8, 72.3),
    "BR with ori RPN": (81.7, 81.6, 81.6),
    "MRN w/o mask guidance": (82.1, 81.7, 81.9),
    "Ours": (83.7, 83.5, 83.6),
}


def table3_configs():
    """Row name -> (checkpoint variant, segmenter options): how each ablation is run."""
    return {
        "w/o FT": ("no_finetune", {}),
        "w/o PT": ("no_pretrain", {}),
        "w/o DTN": ("full", {"use_dtn": False}),
        "BR with ori RPN": ("full", {"rpn": "full"}),
        "MRN w/o mask guidance": ("no_guidance", {}),
        "Ours": ("full", {}),
    }


def table3(sequences=None) -> dict:
    rows = {}
    for row, (variant, opts) in table3_configs().items():
        ck = train_dtn("cpu", variant=variant, progress=False)
        name = "t3-" + row.lower().replace(" ", "_").replace("/", "")
        rows[row] = run(name, lambda: DTNSegmenter(load_dtn(ck), **opts), ck, sequences)
    return rows


def baselines(sequences=None) -> dict:
    ck = train_dtn("cpu", progress=False)
    first = run("repeat_first_mask", RepeatFirstMask, None, sequences)
    def flow_seg():
        m = load_dtn(ck)
        return FlowPropagation(m.flow, m.cfg.input_size)
    flow = run("flow_propagation", flow_seg, ck, sequences)
    return {"repeat first mask": first, "flow-only propagation": flow}


# --------------------------------------------------------------------------- Fig. 6
FIG6_N_SEQUENCES = 8   # the sweeps use the first 8 val videos to stay cheap on a CPU


def fig6_sequences(root=None) -> list[str]:
    from .data import DAVIS
    return sorted(DAVIS(Path(root) if root else synthetic_root(), split="val").sequences)[:FIG6_N_SEQUENCES]


def fig6(thetas=(0.5, 0.7, 0.83, 0.9, 0.95, 1.01), p_bp=(0.0, 0.25, 0.5, 0.75, 1.0),
         periods=(2, 3, 5, 11), sequences=None, seeds=(0, 1)) -> dict:
    """J&F and BR fraction for DM thresholds, random assignment and periodic assignment.

    Random assignment is averaged over ``seeds`` (the paper averages four draws).
    ``sequences=None`` means :func:`fig6_sequences`.
    """
    sequences = sequences or fig6_sequences()
    ck = train_dtn("cpu", progress=False)
    out = {"dm": [], "random": [], "periodic": []}
    for th in thetas:
        r = run(f"f6-dm-{th}", lambda: DTNSegmenter(load_dtn(ck), theta_c=th), ck, sequences)
        out["dm"].append({"theta_c": th, "J&F": r["global"]["J&F-Mean"], "br": r["br_fraction"]})
    for p in p_bp:
        rs = [run(f"f6-random-{p}-{s}", lambda: DTNSegmenter(load_dtn(ck), policy="random",
                                                             p_bp=p, seed=s), ck, sequences)
              for s in seeds]
        out["random"].append({"p_bp": p, "J&F": float(np.mean([r["global"]["J&F-Mean"] for r in rs])),
                              "br": float(np.mean([r["br_fraction"] for r in rs]))})
    for n in periods:
        r = run(f"f6-periodic-{n}", lambda: DTNSegmenter(load_dtn(ck), policy="periodic", period=n),
                ck, sequences)
        out["periodic"].append({"period": n, "J&F": r["global"]["J&F-Mean"], "br": r["br_fraction"]})
    return out


def speed_model(timing_file=TIMING_FILE) -> dict:
    """Per-component seconds per frame measured by ``benchmarks/bench_dtn.py``.

    Frames per second at a BR fraction b is modelled as
    ``1 / (backbone + DM + BP + MRN + b BR)``: every frame pays for the backbone, the
    "DM" (flow network + mask warp + decision head: the warp is shared with BP and the
    MRN's guidance needs it on BR frames too), the BP boxes and the MRN; a BR frame adds
    the re-identification.
    """
    t = json.loads(Path(timing_file).read_text())
    return t


def fps_at(br_fraction: float, comp: dict) -> float:
    common = comp["backbone"] + comp["DM"] + comp["BP"] + comp["MRN"]
    return 1.0 / (common + br_fraction * comp["BR"])


# ------------------------------------------------------------------ `python -m vos_lib prepare`
# after the flow stage, two halves, each in its own process with one torch thread (on a
# small CPU two single-threaded jobs finish sooner than one job with two threads); every
# step is cached and locked, so the jobs wait for each other's checkpoints instead of
# training them twice
PREPARE_JOBS = (
    (("full", "no_finetune"), (table3, baselines)),
    (("no_pretrain", "no_guidance"), (fig6,)),
)


def prepare_job(job: int, quiet: bool = True) -> None:
    """Train the variants of ``PREPARE_JOBS[job]``, then run its cached experiments."""
    torch.set_num_threads(1)
    variants, exps = PREPARE_JOBS[job]
    for v in variants:
        train_dtn("cpu", variant=v, progress=not quiet)
        print(f"checkpoint ready: {v}", flush=True)
    for e in exps:
        e()
        print(f"experiment ready: {e.__name__}", flush=True)


def prepare(jobs: int = 2, quiet: bool = True) -> dict:
    """The synthetic data, every DTN checkpoint and every cached experiment the book uses.

    Returns the baselines and Table 3 rows.  Safe to rerun (it only loads what exists) and
    to run beside a notebook (locks).
    """
    import multiprocessing as mp
    from .config import cpu
    from .synthetic import ensure_dataset
    ensure_dataset(cfg=cpu().data, progress=not quiet)
    train_dtn("cpu", variant="flow", progress=not quiet)       # every variant needs it
    print("checkpoint ready: flow", flush=True)
    if jobs > 1:
        ctx = mp.get_context("spawn")
        procs = [ctx.Process(target=prepare_job, args=(j, quiet)) for j in range(len(PREPARE_JOBS))]
        for pr in procs:
            pr.start()
        for pr in procs:
            pr.join()
        bad = [pr.exitcode for pr in procs if pr.exitcode != 0]
        if bad:
            raise RuntimeError(f"a prepare job failed (exit codes {bad}); rerun to resume")
    else:
        for j in range(len(PREPARE_JOBS)):
            prepare_job(j, quiet)
    return {**baselines(), **table3()}                         # all cached by now
