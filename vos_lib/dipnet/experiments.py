"""The DIPNet experiments of the book, computed once and cached (as
:mod:`vos_lib.dtn.experiments`): each segments the synthetic val split with one
configuration, scores it and keeps a JSON summary that is recomputed only when the
checkpoint changes.  Times are not measured here but in ``benchmarks/bench_dipnet.py``.

The ablations run on the first :data:`N_ABLATION` val videos without one-shot
fine-tuning (to stay cheap on a CPU); the main results on all 20 val videos.
"""
from __future__ import annotations

from pathlib import Path

from ..data import DAVIS
from ..eval.run import run_cached
from ..paths import synthetic_root
from .inference import DIPNetSegmenter
from .train import load_dipnet, train_dipnet, train_phase

N_ABLATION = 8
OMEGAS = (0.0, 0.5, 0.8, 0.95, 1.0)


def ablation_sequences(root=None) -> list[str]:
    davis = DAVIS(Path(root) if root else synthetic_root(), split="val")
    return sorted(davis.sequences)[:N_ABLATION]


def run(name: str, variant: str = "full", sequences=None, **options) -> dict:
    """DIPNet ``variant`` with segmenter ``options`` on the val split (cached as
    ``dip-<name>``)."""
    ck = train_dipnet("cpu", variant=variant, progress=False)
    return run_cached(f"dip-{name}", lambda: DIPNetSegmenter(load_dipnet(ck), **options),
                      ck, sequences)


def _dis() -> dict:
    from ..baselines import DISPropagation
    return run_cached("dis_propagation", DISPropagation, None, None)


#: The main results (all 20 val videos): name -> how it is computed.
MAIN = {"DIPNet": lambda: run("full"),
        "DIPNet w/o one-shot": lambda: run("no-ft", finetune=False),
        "DIPNet*": lambda: run("no-crop", crop=False),
        "DIS flow": _dis}


def main_results() -> dict:
    """All 20 val videos: DIPNet with and without one-shot fine-tuning, DIPNet* (no
    foreground crop), and the DIS optical-flow baseline."""
    return {name: compute() for name, compute in MAIN.items()}


def ablations() -> dict:
    """On :func:`ablation_sequences`, no fine-tuning (but Table 7's last column): Table 6
    (IPN alone, SSN alone, both), Table 7's training stages, joint vs separate instances
    (Sec. 4.2.3) and the omega sweep (Fig. 6).  (The concatenating identity encoder of
    Sec. 4.2.2 is the ``concat`` variant: ``run("a-concat", "concat", seqs,
    finetune=False)``; not in ``make prepare``, it costs a second propagation training.)"""
    seqs = ablation_sequences()
    out = {"table6": {"IPN": run("a-ipn", sequences=seqs, finetune=False, use_ssn=False),
                      "SSN": run("a-ssn", sequences=seqs, finetune=False, use_ipn=False),
                      "IPN+SSN": run("a-both", sequences=seqs, finetune=False)},
           "table7": {"pre-training": run("a-pretrain", "pretrain_only", seqs,
                                          finetune=False),
                      "+ off-line": run("a-both", sequences=seqs, finetune=False),
                      "+ one-shot": run("a-ft", sequences=seqs)},
           "joint": {"separate": run("a-separate", sequences=seqs, finetune=False,
                                     crop=False, joint=False),
                     "joint": run("a-nocrop", sequences=seqs, finetune=False, crop=False)},
           "omega": {w: run("a-both" if w == 0.95 else f"a-omega-{w}", sequences=seqs,
                            finetune=False, omega=w) for w in OMEGAS}}
    return out


# ------------------------------------------------------------------ `python -m vos_lib prepare`
# two single-threaded jobs (see vos_lib.prepare): one trains the propagation phase, the
# other the SSN (Sec. 3.4 trains them separately); stage checkpoints are cached and
# locked, so a job that needs the other's checkpoint waits for it instead of training
# it.  Then each computes half of the main results.  (The ablations are computed by
# the chapter that shows them.)
PREPARE_JOBS = (("ipn", ("DIPNet", "DIPNet w/o one-shot")), ("ssn", ("DIPNet*", "DIS flow")))


def prepare_job(job: int, quiet: bool = True) -> None:
    """Train the phase of ``PREPARE_JOBS[job]``, then compute its main results."""
    import torch
    torch.set_num_threads(1)
    phase, results = PREPARE_JOBS[job]
    train_phase("cpu", phase, progress=not quiet)
    print(f"checkpoint ready: dipnet {phase}", flush=True)
    train_dipnet("cpu", progress=not quiet)
    for name in results:
        MAIN[name]()
        print(f"experiment ready: dipnet {name}", flush=True)
