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


def run(name: str, variant: str = "full", sequences=None, root=None, **options) -> dict:
    """DIPNet ``variant`` with segmenter ``options`` on the val split of ``root`` (default
    the synthetic data; cached as ``dip-<name>``)."""
    ck = train_dipnet("cpu", variant=variant, progress=False)
    return run_cached(f"dip-{name}", lambda: DIPNetSegmenter(load_dipnet(ck), **options),
                      ck, sequences, root)


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
    (IPN alone, SSN alone, both; the instances setting, :func:`table6` has all three),
    Table 7's training stages, the identity encoders (Sec. 4.2.2: masked, Eq. 1, vs frame
    and mask concatenated, the ``concat`` variant, which trains its own propagation
    phase), joint vs separate instances (Sec. 4.2.3) and the omega sweep (Fig. 6)."""
    seqs = ablation_sequences()
    out = {"table6": {"IPN": run("a-ipn", sequences=seqs, finetune=False, use_ssn=False),
                      "SSN": run("a-ssn", sequences=seqs, finetune=False, use_ipn=False),
                      "IPN+SSN": run("a-both", sequences=seqs, finetune=False)},
           "table7": {"pre-training": run("a-pretrain", "pretrain_only", seqs,
                                          finetune=False),
                      "+ off-line": run("a-both", sequences=seqs, finetune=False),
                      "+ one-shot": run("a-ft", sequences=seqs)},
           "encoder": {"masked": run("a-both", sequences=seqs, finetune=False),
                       "concat": run("a-concat", "concat", seqs, finetune=False)},
           "joint": {"separate": run("a-separate", sequences=seqs, finetune=False,
                                     crop=False, joint=False),
                     "joint": run("a-nocrop", sequences=seqs, finetune=False, crop=False)},
           "omega": {w: run("a-both" if w == 0.95 else f"a-omega-{w}", sequences=seqs,
                            finetune=False, omega=w) for w in OMEGAS}}
    return out


#: Table 6's configurations: segmenter options for IPN alone, SSN alone, both.
TABLE6_CONFIGS = {"IPN": dict(use_ssn=False), "SSN": dict(use_ipn=False), "IPN+SSN": {}}
#: Table 6's settings: the derived copy of the ablation videos (``vos_lib.data.variants``)
#: standing in for DAVIS16 (one object) and DAVIS17 foreground; None = the instances.
TABLE6_SETTINGS = {"single object": "single", "foreground": "foreground",
                   "multi-instance": None}


def table6_root(kind: str) -> Path:
    """The ``kind`` copy (``"single"``, ``"foreground"``) of the ablation videos."""
    from ..data.variants import derived_split
    from ..paths import data_root
    return derived_split(synthetic_root(), data_root() / "derived" / kind, kind,
                         ablation_sequences())


def table6() -> dict:
    """Table 6 on the first :data:`N_ABLATION` val videos, no fine-tuning: ``{setting:
    {"IPN", "SSN", "IPN+SSN": summary}}`` for one object (only object 1 annotated), all
    objects merged into one foreground, and the instances (the multi-object videos)."""
    seqs, out = ablation_sequences(), {}
    for setting, kind in TABLE6_SETTINGS.items():
        root = table6_root(kind) if kind else None
        tag = {"single": "t6s-", "foreground": "t6f-"}.get(kind, "a-")
        out[setting] = {c: run(tag + {"IPN": "ipn", "SSN": "ssn", "IPN+SSN": "both"}[c],
                               sequences=seqs, root=root, finetune=False, **opts)
                        for c, opts in TABLE6_CONFIGS.items()}
    return out


# ------------------------------------------------------------------ `python -m vos_lib prepare`
# single-threaded jobs (see vos_lib.prepare).  The first two train the propagation phase
# and the SSN (Sec. 3.4 trains them separately), then compute half of the main results
# each; the third trains the concatenating encoder's propagation phase; the last three
# run Table 6's settings, the omega sweep and the other ablations.  Stage checkpoints are cached and
# locked, so a job that needs another job's checkpoint waits for it instead of training
# it twice.
def _main_job(phase: str, names, quiet: bool) -> None:
    train_phase("cpu", phase, progress=not quiet)
    print(f"checkpoint ready: dipnet {phase}", flush=True)
    train_dipnet("cpu", progress=not quiet)
    for name in names:
        MAIN[name]()
        print(f"experiment ready: dipnet {name}", flush=True)


def _concat_job(quiet: bool) -> None:
    train_phase("cpu", "ipn", variant="concat", progress=not quiet)
    print("checkpoint ready: dipnet concat ipn", flush=True)


def _omega_job(quiet: bool) -> None:
    """The omega sweep's runs, beside :func:`_ablation_job` (which then finds them cached,
    or waits on their locks), so that the pool's last minutes use both workers."""
    for w in OMEGAS:
        if w != 0.95:
            run(f"a-omega-{w}", sequences=ablation_sequences(), finetune=False, omega=w)
    print("experiment ready: dipnet omega sweep", flush=True)


def _ablation_job(quiet: bool) -> None:
    ablations()
    print("experiment ready: dipnet ablations", flush=True)


def _table6_job(quiet: bool) -> None:
    table6()
    print("experiment ready: dipnet table6", flush=True)


PREPARE_JOBS = (lambda q: _main_job("ipn", ("DIPNet", "DIPNet w/o one-shot"), q),
                lambda q: _main_job("ssn", ("DIPNet*", "DIS flow"), q),
                _concat_job, _table6_job, _omega_job, _ablation_job)


def prepare_job(job: int, quiet: bool = True) -> None:
    """Run ``PREPARE_JOBS[job]`` on one torch thread."""
    import torch
    torch.set_num_threads(1)
    PREPARE_JOBS[job](quiet)
