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

A paper's table reports a *global* score (the mean over objects), so the book's gap
between two cached results (:func:`global_gap`) is the difference of their global
scores, with the standard error of the paired per-video differences
(:func:`paired_gap`).  A paper's effect that has a sign but no number (a curve, a
sentence) enters :func:`verdict` as :data:`DIRECTION` times its sign.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

#: The size given to a paper's effect that has a sign but no number (a figure, a
#: sentence): smaller than any measured gap, so that in :func:`verdict` it only carries
#: the sign.
DIRECTION = 1e-9
#: The global score of a cached result (``summary["global"]``) for each measure.
GLOBAL_KEYS = {"J&F": "J&F-Mean", "J": "J-Mean"}


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


def per_video(summary: Mapping, measure: str = "J&F", root=None) -> dict:
    """``{video: score}`` of a cached result (:func:`vos_lib.eval.run.summarize`):
    ``"J&F"`` is its ``per_sequence``; ``"J"`` the mean over the video's objects of their
    J Mean, taken from the summary's ``per_sequence_J`` when it has one, else scored from
    its results folder (:func:`vos_lib.eval.evaluate.evaluate` on the dataset ``root``,
    default the synthetic data) and remembered for the session."""
    if measure not in GLOBAL_KEYS:
        raise ValueError(f"measure must be 'J&F' or 'J', got {measure!r}")
    if measure == "J&F":
        return dict(summary["per_sequence"])
    if "per_sequence_J" in summary:
        return dict(summary["per_sequence_J"])
    return dict(_scored_j(summary["name"], str(root) if root else None,
                          tuple(sorted(summary["per_sequence"]))))


_SCORED: dict = {}


def _scored_j(name: str, root, sequences: tuple) -> dict:
    key = (name, root, sequences)
    if key not in _SCORED:
        from ..engine.cache import results_dir
        from ..paths import synthetic_root
        from .evaluate import evaluate
        r = evaluate(root or synthetic_root(), results_dir() / name, split="val",
                     sequences=list(sequences), write=False, workers=1)
        by_video: dict = {}
        for obj, v in r["per_object"].items():
            by_video.setdefault(obj.rsplit("_", 1)[0], []).append(v["J-Mean"])
        _SCORED[key] = {s: float(np.mean(v)) for s, v in by_video.items()}
    return _SCORED[key]


def global_gap(a: Mapping, b: Mapping, measure: str = "J&F", scale: float = 1.0,
               root=None, sequences=None) -> Gap:
    """``a - b`` for two cached results on the same videos: the difference of their
    global ``measure`` (``"J&F"`` or ``"J"``: the mean over objects, as the papers'
    tables report), times ``scale`` (100 for points), with the standard error, count
    and wins of the paired per-video differences (:func:`paired_gap`, scores from
    :func:`per_video`).  ``a`` and ``b`` need ``"global"`` and ``"per_sequence"``.

    With ``sequences`` (a subset of the videos) the mean is that of the per-video
    differences on the subset: the global scores cover all the videos."""
    pa, pb = per_video(a, measure, root), per_video(b, measure, root)
    if sequences is not None:
        keep = set(sequences)
        return paired_gap({v: s for v, s in pa.items() if v in keep},
                          {v: s for v, s in pb.items() if v in keep}, scale)
    key = GLOBAL_KEYS[measure]
    return replace(paired_gap(pa, pb, scale),
                   mean=(a["global"][key] - b["global"][key]) * scale)
