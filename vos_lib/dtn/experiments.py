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


def fig6(thetas=(0.5, 0.7, 0.83, 0.9, 0.95, 1.01), p_bp=(0.0, 0.25, 0.5, 0.75, 1.0),
         periods=(2, 3, 5, 11), sequences=None, seeds=(0, 1)) -> dict:
    """J&F and BR fraction for DM thresholds, random assignment and periodic assignment.

    Random assignment is averaged over ``seeds`` (the paper averages four draws); each
    point keeps its ``per_seed`` results.  Every point carries its per-video ``routes``.
    ``sequences=None`` means :func:`fig6_sequences`.
    """
    sequences = sequences or fig6_sequences()
    ck = train_dtn("cpu", progress=False)
    out = {"dm": [], "random": [], "periodic": []}
    for th in thetas:
        r = run(f"f6-dm-{th}", lambda: DTNSegmenter(load_dtn(ck), theta_c=th), ck, sequences)
        out["dm"].append({"theta_c": th, "J&F": r["global"]["J&F-Mean"], "br": r["br_fraction"],
                          "routes": r["routes"]})
    for p in p_bp:
        seeds_out = []
        for sd in seeds:
            name = f"f6-random-{p}-{sd}"
            r = run(name, lambda: DTNSegmenter(load_dtn(ck), policy="random", p_bp=p, seed=sd),
                    ck, sequences)
            seeds_out.append({"seed": sd, "name": name, "J&F": r["global"]["J&F-Mean"],
                              "br": r["br_fraction"], "routes": r["routes"]})
        out["random"].append({"p_bp": p, "J&F": float(np.mean([x["J&F"] for x in seeds_out])),
                              "br": float(np.mean([x["br"] for x in seeds_out])),
                              "per_seed": seeds_out})
    for n in periods:
        r = run(f"f6-periodic-{n}", lambda: DTNSegmenter(load_dtn(ck), policy="periodic", period=n),
                ck, sequences)
        out["periodic"].append({"period": n, "J&F": r["global"]["J&F-Mean"],
                                "br": r["br_fraction"], "routes": r["routes"]})
    return out


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
