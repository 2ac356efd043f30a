"""What every VOS method in the library is: a *segmenter* (the shared interface).

A segmenter maps the frames of a video and its first-frame mask to one id mask per frame
(:class:`SegmentResult`); DTN, DIPNet and the baselines implement it, and the ``segment``
command, the evaluation and the book's experiments only talk to it.  Methods work on the
objects renumbered 1..K (:func:`to_consecutive`) and hand back the first mask's own ids
(:func:`from_consecutive`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Sequence

import numpy as np

from .io import VOID


@dataclass
class SegmentResult:
    masks: np.ndarray                   # (T, H, W) uint8 ids, original ids of the first mask
    info: dict = field(default_factory=dict)  # per-frame routes, timings, ... (JSON-able)


class Segmenter(Protocol):
    name: str

    def segment(self, frames: Sequence[np.ndarray], first_mask: np.ndarray) -> SegmentResult: ...


def object_ids(mask: np.ndarray) -> list[int]:
    return [int(i) for i in np.unique(mask) if i not in (0, VOID)]


def to_consecutive(mask: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Map object ids to 1..K (void -> 0); return the mapped mask and the original ids."""
    ids = object_ids(mask)
    lut = np.zeros(256, np.uint8)
    for k, i in enumerate(ids, 1):
        lut[i] = k
    return lut[mask], ids


def from_consecutive(mask: np.ndarray, ids: list[int]) -> np.ndarray:
    lut = np.zeros(256, np.uint8)
    lut[1:len(ids) + 1] = ids
    out = lut[mask]
    unknown = set(np.unique(mask).tolist()) - set(range(len(ids) + 1))
    if unknown:
        raise ValueError(f"segmenter produced unknown object ids {sorted(unknown)}")
    return out
