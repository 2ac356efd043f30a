"""``python -m vos_lib prepare`` (and ``make prepare``): the synthetic data, every
checkpoint the chapters share and every cached experiment, for both methods.

Jobs run in ``jobs`` processes with one torch thread each: on a small CPU two
single-threaded jobs finish sooner than one job with two threads, and OpenMP training
collapses when other CPU work runs beside it.  Every step is cached and locked, so a
rerun only loads what exists, and a job that needs another job's checkpoint waits for
it instead of training it twice.
"""
from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
import multiprocessing as mp


def _jobs():
    """Every job, longest-waiting last: DTN's two, DIPNet's two main jobs and its concat
    variant, the 480p comparison (needs DTN's checkpoint), then DIPNet's ablations
    (Table 6's settings, the omega sweep, the rest)."""
    from . import experiments as both
    from .dipnet import experiments as dip
    from .dtn import experiments as dtn
    return ([(dtn.prepare_job, j) for j in range(len(dtn.PREPARE_JOBS))]
            + [(dip.prepare_job, j) for j in (0, 1, 2)]
            + [(both.prepare_job, 0)] + [(dip.prepare_job, j) for j in (3, 4, 5)])


def prepare(jobs: int = 2, quiet: bool = True) -> dict:
    """Run every job; return the headline results (DTN baselines and Table 3, DIPNet's
    main results), all cached by then."""
    from .config import cpu
    from .data.synthetic import ensure_dataset
    from .dipnet import experiments as dip
    from .dtn import experiments as dtn
    from .dtn.train import train_dtn
    ensure_dataset(cfg=cpu().data, progress=not quiet)
    train_dtn("cpu", variant="flow", progress=not quiet)      # every DTN variant needs it
    print("checkpoint ready: flow", flush=True)
    if jobs > 1:
        with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as pool:
            for f in [pool.submit(fn, j, quiet) for fn, j in _jobs()]:
                f.result()                    # re-raises a failed job's error
    else:
        for fn, j in _jobs():
            fn(j, quiet)
    return {**dtn.baselines(), **dtn.table3(), **dip.main_results()}
