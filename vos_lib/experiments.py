"""Experiments that compare the two papers' methods with each other and with baselines
(chapter 12), above both method packages.  Cached like theirs (:func:`run_cached`).

:func:`hires_results` runs on the synthetic val videos generated again at 480x854, the
size of DAVIS's 480p frames (same seeds, so the same scenes): the classical DIS flow
baseline works at the full frame size, while our CPU-scale DTN resizes every frame to
96x160 inside.  This is where a method that learns nothing can beat one trained only on
small synthetic frames.
"""
from __future__ import annotations

from pathlib import Path

from .data.synthetic import SyntheticConfig, ensure_dataset
from .eval.run import run_cached
from .paths import data_root

#: The 480p copy of the val split (one train video: the generator needs a train split).
HIRES = SyntheticConfig(height=480, width=854, n_train=1, n_val=20)


def hires_root() -> Path:
    """The 480x854 synthetic dataset (generated once, ~1 min, ~200 MB)."""
    return ensure_dataset(data_root() / "synthetic480", HIRES, progress=False, workers=1)


def hires_results() -> dict:
    """J&F summaries on the 20 val videos at 480x854: DIS flow, DTN (CPU scale) and
    repeat-the-first-mask."""
    from .baselines import DISPropagation, RepeatFirstMask
    from .dtn import DTNSegmenter, load_dtn, train_dtn
    root = hires_root()
    ck = train_dtn("cpu", progress=False)
    return {"DIS flow": run_cached("hr-dis", DISPropagation, None, None, root),
            "DTN": run_cached("hr-dtn", lambda: DTNSegmenter(load_dtn(ck)), ck, None, root),
            "repeat first mask": run_cached("hr-first", RepeatFirstMask, None, None, root)}


def prepare_job(job: int = 0, quiet: bool = True) -> None:
    """``make prepare``'s job: the 480p results (one torch thread)."""
    import torch
    torch.set_num_threads(1)
    hires_results()
    print("experiment ready: 480p", flush=True)


PREPARE_JOBS = (None,)
