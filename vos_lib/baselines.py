"""Reference points every method must beat.

* :class:`RepeatFirstMask` - the first-frame mask copied to every frame (zero motion).
* :class:`FlowPropagation` - the previous mask warped into each frame by optical flow,
  nothing else (DTN's box-propagation stream with no box and no refinement).
"""
from __future__ import annotations

import numpy as np

from .io import VOID
from .segment import SegmentResult


class RepeatFirstMask:
    name = "first"

    def segment(self, frames, first_mask) -> SegmentResult:
        m = np.where(first_mask == VOID, 0, first_mask).astype(np.uint8)
        return SegmentResult(np.repeat(m[None], len(frames), axis=0), {"routes": []})
