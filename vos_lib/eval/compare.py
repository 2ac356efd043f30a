"""Comparing two methods on the same videos, and the book's verdict words.

Videos are the unit, not frames (frames of one video are not independent): the
difference of two methods is the mean of their per-video differences, and its noise the
standard error of that mean ("paired per-video SE").  A verdict compares our difference
with the paper's, in the words every chapter uses (STYLE.md):

* **reproduces** - same sign as the paper, outside 2 SE;
* **same sign, within noise** - same sign, inside 2 SE;
* **does not reproduce** - opposite sign, outside 2 SE (or the paper's effect is larger
  than our noise could hide);
* **not measurable here** - opposite sign but inside 2 SE, while the paper's effect is
  itself within our noise: this sample could not have shown it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Gap:
    """``mean`` of the per-video differences ``a - b``, its standard error, the number
    of videos and how many favour ``a``."""
    mean: float
    se: float
    n: int
    n_better: int

    @property
    def clear(self) -> bool:
        """Outside 2 SE of zero."""
        return abs(self.mean) > 2 * self.se

    def __str__(self) -> str:
        return f"{self.mean:+.3f} ± {2 * self.se:.3f}"


def paired_gap(a: dict, b: dict, scale: float = 1.0) -> Gap:
    """Per-video paired difference of two ``{video: score}`` dicts (e.g. the
    ``per_sequence`` J&F of :func:`vos_lib.eval.run.summarize`), on their common videos,
    times ``scale`` (100 for points)."""
    common = sorted(set(a) & set(b))
    if len(common) < 2:
        raise ValueError(f"need at least 2 common videos, got {len(common)}")
    d = np.array([a[v] - b[v] for v in common], dtype=float) * scale
    return Gap(float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d))), len(d),
               int((d > 0).sum()))


def verdict(ours: Gap, paper: float) -> str:
    """The book's verdict on our gap against the paper's difference ``paper`` (same
    sign convention and scale)."""
    same_sign = np.sign(ours.mean) == np.sign(paper)
    if same_sign:
        return "reproduces" if ours.clear else "same sign, within noise"
    if ours.clear or abs(paper) > 2 * ours.se:
        return "does not reproduce"
    return "not measurable here"
