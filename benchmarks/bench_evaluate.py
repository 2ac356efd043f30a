"""Benchmark: DAVIS 2017 semi-supervised evaluation of a results folder.

Generates (deterministically, from ``--seed``) a DAVIS-format folder -- by default 20
sequences x 40 frames at 480x854 with 1-3 moving, deforming blob objects -- and a folder of
perturbed "results" (shifted / rescaled / reshaped objects, dropped frames, false-positive
specks, a few objects never predicted), then times

* ``vos_lib.evaluate.evaluate`` (this library; threads over sequences, and on 1 thread),
* ``vos_benchmark.benchmark`` (PyPI ``vos-benchmark``; a process per core), if installed,
* the official toolkit's ``DAVISEvaluation(...).evaluate`` (semi-supervised), only when a
  checkout of github.com/davisvideochallenge/davis2017-evaluation is given with
  ``--official PATH`` (imported from there, never copied here),

all in this process on files already in the page cache, and prints a table of seconds,
speed-ups and the agreement of J&F-Mean (and, for the official toolkit, of every
per-object statistic).

    python benchmarks/bench_evaluate.py [--official /tmp/davis2017-evaluation]
        [--sequences 20] [--frames 40] [--height 480] [--width 854] [--void] [--keep DIR]

``--void`` adds void (255) bands around objects in the ground truth; vos-benchmark has no
void label (it scores 255 as an object), so leave it off to compare with vos-benchmark.
"""
from __future__ import annotations

import argparse
import contextlib
import io as _io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vos_lib.evaluate import evaluate  # noqa: E402
from vos_lib.io import VOID, write_mask  # noqa: E402
from vos_lib.eval.metrics import GLOBAL_COLUMNS  # noqa: E402


# ----------------------------------------------------------------------------- data
def _blob(shape, cy, cx, radius, harmonics, angle):
    """Boolean star-shaped blob: the polygon rho(theta) = radius * (1 + sum a cos(j theta +
    phi)) around (cy, cx), rotated by ``angle``, filled with OpenCV (sub-pixel vertices)."""
    theta = np.linspace(0, 2 * np.pi, 240, endpoint=False)
    rho = np.ones_like(theta)
    for a, j, phi in harmonics:
        rho += a * np.cos(j * theta + phi)
    rho *= radius
    pts = np.stack([cx + rho * np.cos(theta + angle), cy + rho * np.sin(theta + angle)], 1)
    out = np.zeros(shape, dtype=np.uint8)
    cv2.fillPoly(out, [np.round(pts * 16).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=4)
    return out.view(bool)


def make_dataset(root, n_sequences=20, n_frames=40, height=480, width=854, seed=0,
                 void=False):
    """Write ``root/davis`` (DAVIS 2017 layout, ``val`` set) and ``root/results``.

    Returns (davis_root, results_dir, annotation_root).
    """
    rng = np.random.default_rng(seed)
    root = Path(root)
    davis, results = root / "davis", root / "results"
    names = [f"blobs{s:03d}" for s in range(n_sequences)]
    (davis / "ImageSets" / "2017").mkdir(parents=True, exist_ok=True)
    (davis / "ImageSets" / "2017" / "val.txt").write_text("\n".join(names) + "\n")
    ok, jpg = cv2.imencode(".jpg", np.full((height, width, 3), 128, np.uint8))
    assert ok
    jpg = jpg.tobytes()  # the evaluators only list the frames; one gray JPEG serves all
    diag = float(np.hypot(height, width))
    for name in names:
        n_obj = int(rng.integers(1, 4))
        objs = []
        for _ in range(n_obj):
            objs.append(dict(
                c=np.array([rng.uniform(0.2, 0.8) * height, rng.uniform(0.15, 0.85) * width]),
                v=rng.normal(0, 0.004 * diag, 2),
                r=rng.uniform(0.03, 0.14) * diag,
                harm=[(rng.uniform(0.02, 0.18) / np.sqrt(j), j, rng.uniform(0, 2 * np.pi))
                      for j in range(2, 7)],
                spin=rng.normal(0, 0.05),
                pulse=rng.uniform(0.0, 0.15),
                # how the "method" gets this object wrong
                never=rng.random() < 0.08,
                bias=rng.normal(0, 0.004 * diag, 2),
                drift=rng.uniform(0.0, 0.003 * diag),
                scale=rng.normal(1.0, 0.06),
                p_miss=rng.uniform(0.0, 0.08),
            ))
        gt_dir = davis / "Annotations" / "480p" / name
        img_dir = davis / "JPEGImages" / "480p" / name
        res_dir = results / name
        for d in (gt_dir, img_dir, res_dir):
            d.mkdir(parents=True, exist_ok=True)
        for t in range(n_frames):
            gt = np.zeros((height, width), np.uint8)
            pred = np.zeros((height, width), np.uint8)
            for k, o in enumerate(objs, 1):
                c = o["c"] + o["v"] * t + 0.01 * diag * np.sin(np.array([t / 5.0, t / 7.0]))
                rad = o["r"] * (1 + o["pulse"] * np.sin(t / 6.0))
                ang = o["spin"] * t
                hidden = t > 0 and rng.random() < 0.03          # occluded in this frame
                if not hidden:
                    gt[_blob((height, width), c[0], c[1], rad, o["harm"], ang)] = k
                if t == 0:
                    pred[gt == k] = k                            # the given first frame
                    continue
                if o["never"] or rng.random() < o["p_miss"]:
                    continue
                pc = c + o["bias"] + rng.normal(0, o["drift"] * np.sqrt(t) + 0.5, 2)
                ph = [(a + rng.normal(0, 0.02), j, phi + rng.normal(0, 0.1))
                      for a, j, phi in o["harm"]]
                pm = _blob((height, width), pc[0], pc[1], rad * o["scale"] *
                           rng.normal(1, 0.03), ph, ang + rng.normal(0, 0.05))
                if rng.random() < 0.1:                           # a false-positive speck
                    pm |= _blob((height, width), rng.uniform(0, height), rng.uniform(0, width),
                                rng.uniform(3, 15), [], 0.0)
                pred[pm] = k
            if void and t % 3 != 1:
                fg = (gt > 0).astype(np.uint8)
                band = cv2.dilate(fg, np.ones((5, 5), np.uint8)).astype(bool) & (gt == 0)
                gt[band] = VOID
            write_mask(gt_dir / f"{t:05d}.png", gt)
            write_mask(res_dir / f"{t:05d}.png", pred)
            (img_dir / f"{t:05d}.jpg").write_bytes(jpg)
    return davis, results, davis / "Annotations" / "480p"


# ----------------------------------------------------------------------------- runners
def run_ours(davis, results, workers=None):
    t0 = time.perf_counter()
    res = evaluate(davis, results, split="val", year="2017", write=True, workers=workers)
    return time.perf_counter() - t0, res


def run_vos_benchmark(ann_root, results):
    try:
        from vos_benchmark.benchmark import benchmark
    except ImportError:
        return None
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(_io.StringIO()):
        jf, j, f, _ = benchmark([str(ann_root)], [str(results)], num_processes=None,
                                verbose=False)
    return time.perf_counter() - t0, {"J&F-Mean": jf[0] / 100, "J-Mean": j[0] / 100,
                                      "F-Mean": f[0] / 100}


def run_official(path, davis, results):
    sys.path.insert(0, str(Path(path).resolve()))
    from davis2017.evaluation import DAVISEvaluation
    t0 = time.perf_counter()
    with contextlib.redirect_stderr(_io.StringIO()):
        ev = DAVISEvaluation(davis_root=str(davis), task="semi-supervised", gt_set="val")
        m = ev.evaluate(str(results))
    secs = time.perf_counter() - t0
    J, F = m["J"], m["F"]
    out = {"J&F-Mean": (np.mean(J["M"]) + np.mean(F["M"])) / 2.0,
           "J-Mean": np.mean(J["M"]), "J-Recall": np.mean(J["R"]), "J-Decay": np.mean(J["D"]),
           "F-Mean": np.mean(F["M"]), "F-Recall": np.mean(F["R"]), "F-Decay": np.mean(F["D"])}
    names = list(J["M_per_object"])
    per_object = {n: {"J-Mean": J["M"][i], "J-Recall": J["R"][i], "J-Decay": J["D"][i],
                      "F-Mean": F["M"][i], "F-Recall": F["R"][i], "F-Decay": F["D"][i]}
                  for i, n in enumerate(names)}
    return secs, out, per_object


# ----------------------------------------------------------------------------- main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--official", help="checkout of davisvideochallenge/davis2017-evaluation")
    ap.add_argument("--sequences", type=int, default=20)
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--width", type=int, default=854)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--void", action="store_true", help="void bands in the ground truth")
    ap.add_argument("--workers", type=int, default=None, help="threads for vos_lib")
    ap.add_argument("--repeat", type=int, default=1,
                    help="best of N runs for vos_lib and vos-benchmark (official: 1 run)")
    ap.add_argument("--keep", help="generate into (and keep) this folder")
    args = ap.parse_args(argv)

    tmp = None
    root = Path(args.keep) if args.keep else Path(tmp := tempfile.mkdtemp(prefix="bench_eval_"))
    try:
        t0 = time.perf_counter()
        davis, results, ann_root = make_dataset(root, args.sequences, args.frames, args.height,
                                                args.width, args.seed, args.void)
        print(f"generated {args.sequences} sequences x {args.frames} frames at "
              f"{args.height}x{args.width} in {time.perf_counter() - t0:.1f} s "
              f"({root}); {os.cpu_count()} CPU cores")

        rows = []  # (label, seconds, results)
        run_ours(davis, results)  # warm-up: imports, page cache

        def best(fn, *a):
            runs = [fn(*a) for _ in range(max(1, args.repeat))]
            return min(runs, key=lambda r: r[0])

        secs, ours = best(run_ours, davis, results, args.workers)
        n_objects = len(ours["per_object"])
        rows.append((f"vos_lib ({args.workers or 'default'} threads)", secs, ours))
        secs1, _ = best(run_ours, davis, results, 1)
        rows.append(("vos_lib (1 thread)", secs1, ours))
        vb = None
        if run_vos_benchmark(ann_root, results) is None:  # (also its warm-up)
            print("vos-benchmark is not installed: skipped (pip install vos-benchmark)")
        else:
            vb = best(run_vos_benchmark, ann_root, results)
            rows.append(("vos-benchmark (1 process/core)", *vb))
        official = None
        if args.official:
            secs_o, off, off_obj = run_official(args.official, davis, results)
            official = (secs_o, off, off_obj)
            rows.append(("official davis2017-evaluation", secs_o, off))

        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"\n{n_objects} objects in {args.sequences} sequences, {args.frames - 2} scored "
              f"frames each; best of {max(1, args.repeat)}; load average {load:.1f}\n")
        base = rows[0][1]
        print(f"{'evaluator':<34}{'seconds':>9}{'vs vos_lib':>12}{'J&F-Mean':>11}"
              f"{'|dJ&F| vs vos_lib':>19}")
        for label, s, r in rows:
            d = abs(r["J&F-Mean"] - ours["J&F-Mean"])
            print(f"{label:<34}{s:>9.2f}{s / base:>11.2f}x{r['J&F-Mean']:>11.6f}{d:>19.2e}")
        if official is not None:
            _, off, off_obj = official
            gdiff = max(abs(off[c] - ours[c]) for c in GLOBAL_COLUMNS)
            odiff = max(abs(off_obj[n][c] - ours["per_object"][n][c])
                        for n in off_obj for c in off_obj[n])
            same = set(off_obj) == set(ours["per_object"])
            print(f"\nofficial vs vos_lib: max |diff| global {gdiff:.3e}, per-object "
                  f"(mean, recall, decay of J and F) {odiff:.3e}; same objects: {same}")
            print(f"speed-up over official: {official[0] / base:.1f}x "
                  f"({official[0] / secs1:.1f}x on 1 thread)")
        if vb is not None:
            print(f"speed-up over vos-benchmark: {vb[0] / base:.1f}x")
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
