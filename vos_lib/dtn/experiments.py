"""The DTN experiments of the book (Table 3, Fig. 6), computed once and cached.

Each experiment segments the synthetic val split with one configuration, scores it with
:mod:`vos_lib.eval.metrics` and keeps a small JSON summary, recomputed only when the
checkpoint that produced it changes (:func:`vos_lib.eval.run.run_cached`).  Two
processes asking for the same result at once compute it once (file lock).

Times are *not* measured here: wall-clock figures depend on the machine, so they come
from ``benchmarks/bench_dtn.py``, which stores them in this package
(:func:`cpu_timings`), so that a ``pip install``-ed copy reads the same numbers.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ..baselines import RepeatFirstMask
from ..eval.compare import Gap, global_gap
from ..eval.run import run_cached as run
from ..paths import synthetic_root
from .inference import DTNSegmenter
from .paper import TABLE3 as TABLE3_PAPER, TABLE4 as TABLE4_PAPER  # noqa: F401 (re-export)
from .train import load_dtn, train_dtn

TIMING_FILE = Path(__file__).resolve().parent / "timings_cpu.json"


# --------------------------------------------------------------------------- Table 3
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
    from .method import flow_segmenter
    flow = run("flow_propagation", lambda: flow_segmenter(ck), ck, sequences)
    return {"repeat first mask": first, "flow-only propagation": flow}


# --------------------------------------------------------------------------- Fig. 6
FIG6_N_SEQUENCES = 8   # the sweeps use the first 8 val videos to stay cheap on a CPU


def fig6_sequences(root=None) -> list[str]:
    from ..data import DAVIS
    return sorted(DAVIS(Path(root) if root else synthetic_root(), split="val").sequences)[:FIG6_N_SEQUENCES]


def _point(r: dict) -> dict:
    """The part of a cached result a Fig. 6 point keeps."""
    return {"J&F": r["global"]["J&F-Mean"], "br": r["br_fraction"], "routes": r["routes"],
            "global": r["global"], "per_sequence": r["per_sequence"]}


def _mean_point(runs: list) -> dict:
    """The mean of several points (random assignment's seeds): J&F, BR fraction, global
    scores and per-video J&F (on the videos they share)."""
    videos = sorted(set.intersection(*(set(r["per_sequence"]) for r in runs)))
    glob = {k: float(np.mean([r["global"][k] for r in runs])) for k in runs[0]["global"]
            if all(k in r["global"] for r in runs)}
    return {"J&F": float(np.mean([r["J&F"] for r in runs])),
            "br": float(np.mean([r["br"] for r in runs])), "global": glob,
            "per_sequence": {v: float(np.mean([r["per_sequence"][v] for r in runs]))
                             for v in videos}}


def fig6(thetas=(0.5, 0.7, 0.83, 0.9, 0.95, 1.01), p_bp=(0.0, 0.25, 0.5, 0.75, 1.0),
         periods=(2, 3, 5, 11), sequences=None, seeds=(0, 1)) -> dict:
    """J&F and BR fraction for DM thresholds, random assignment and periodic assignment.

    Every point holds its global J&F (``"J&F"``), BR fraction (``"br"``), per-video
    ``routes``, global scores (``"global"``) and per-video J&F (``"per_sequence"``), so
    that two points compare with :func:`vos_lib.eval.compare.global_gap`.  Random
    assignment is averaged over ``seeds`` (the paper averages four draws): its point
    holds the means over the seeds and keeps each seed's point in ``per_seed`` (with
    ``seed`` and ``name``).  ``sequences=None`` means :func:`fig6_sequences`.
    """
    sequences = sequences or fig6_sequences()
    ck = train_dtn("cpu", progress=False)
    out = {"dm": [], "random": [], "periodic": []}
    for th in thetas:
        r = run(f"f6-dm-{th}", lambda: DTNSegmenter(load_dtn(ck), theta_c=th), ck, sequences)
        out["dm"].append({"theta_c": th, **_point(r)})
    for p in p_bp:
        seeds_out = []
        for sd in seeds:
            name = f"f6-random-{p}-{sd}"
            r = run(name, lambda: DTNSegmenter(load_dtn(ck), policy="random", p_bp=p, seed=sd),
                    ck, sequences)
            seeds_out.append({"seed": sd, "name": name, **_point(r)})
        out["random"].append({"p_bp": p, **_mean_point(seeds_out), "per_seed": seeds_out})
    for n in periods:
        r = run(f"f6-periodic-{n}", lambda: DTNSegmenter(load_dtn(ck), policy="periodic", period=n),
                ck, sequences)
        out["periodic"].append({"period": n, **_point(r)})
    return out


#: The thresholds the paper's Fig. 6 sweeps: theta_c from 0.5 to 1.0.
PAPER_THETA_RANGE = (0.5, 1.0)


def theta_ends(dm_points: list) -> tuple:
    """The points of ``fig6()["dm"]`` at the lowest and at the highest threshold inside
    the paper's range (:data:`PAPER_THETA_RANGE`): ``(low, high)``."""
    lo, hi = PAPER_THETA_RANGE
    inside = sorted((p for p in dm_points if lo <= p["theta_c"] <= hi),
                    key=lambda p: p["theta_c"])
    if len(inside) < 2:
        raise ValueError(f"need two thresholds in {PAPER_THETA_RANGE}, got {len(inside)}")
    return inside[0], inside[-1]


def theta_gap(dm_points: list, scale: float = 1.0) -> Gap:
    """Fig. 6's trade-off: the DM at the highest threshold of the paper's range minus the
    DM at the lowest (:func:`theta_ends`), in J&F times ``scale``: the difference of the
    global J&F with the paired per-video SE (:func:`vos_lib.eval.compare.global_gap`)."""
    low, high = theta_ends(dm_points)
    return global_gap(high, low, scale=scale)


def curve_at(points: list, br: float) -> dict:
    """A routing policy's sweep (the points of ``fig6()["random"]`` or ``["periodic"]``)
    read at the BR fraction ``br``: its global J&F and each video's J&F, linearly
    interpolated along the BR fraction, as a point (``"br"``, ``"J&F"``, ``"global"``,
    ``"per_sequence"``).  ``br`` must lie inside the sweep's BR range."""
    pts = sorted(points, key=lambda p: p["br"])
    xs = [p["br"] for p in pts]
    if not xs[0] <= br <= xs[-1]:
        raise ValueError(f"BR fraction {br:.3f} outside the sweep's {xs[0]:.3f}-{xs[-1]:.3f}")

    def at(ys):
        return float(np.interp(br, xs, ys))
    videos = sorted(set.intersection(*(set(p["per_sequence"]) for p in pts)))
    jf = at([p["J&F"] for p in pts])
    return {"br": br, "J&F": jf, "global": {"J&F-Mean": jf},
            "per_sequence": {v: at([p["per_sequence"][v] for p in pts]) for v in videos}}


def policy_gap(dm: dict, policy: list, scale: float = 1.0) -> Gap:
    """The DM against another routing policy at the same BR fraction (the paper's Fig. 6
    compares them at the same speed, and the modelled speed falls with the BR fraction):
    the J&F of the DM point ``dm`` minus that of the policy's sweep ``policy`` read at the
    DM's BR fraction (:func:`curve_at`), times ``scale``, with the paired per-video SE
    (:func:`vos_lib.eval.compare.global_gap`)."""
    return global_gap(dm, curve_at(policy, dm["br"]), scale=scale)


def cpu_timings(timing_file=TIMING_FILE) -> dict:
    """Per-component seconds per frame measured by ``benchmarks/bench_dtn.py`` on a
    2-core CPU (1 thread), shipped with the package.

    Frames per second at a BR fraction b is modelled as
    ``1 / (backbone + DM + BP + MRN + b BR)`` (:func:`fps_at`): every frame pays for the
    backbone, the "DM" (flow network + mask warp + decision head: the warp is shared with
    BP and the MRN's guidance needs it on BR frames too), the BP boxes and the MRN; a BR
    frame adds the re-identification.
    """
    return json.loads(Path(timing_file).read_text())


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
