"""Reference points every method must beat.

* :class:`RepeatFirstMask` - the first-frame mask copied to every frame (zero motion).
* :class:`FlowPropagation` - the previous mask warped into each frame by optical flow,
  nothing else (DTN's box-propagation stream with no box and no refinement).
"""
from __future__ import annotations

import numpy as np

from .core.segmenter import (Method, SegmentResult, first_masks, frame_tensor, object_masks,
                             paste_ids)
from .io import VOID


class RepeatFirstMask:
    name = "first"

    def segment(self, frames, first_mask) -> SegmentResult:
        m = np.where(first_mask == VOID, 0, first_mask).astype(np.uint8)
        return SegmentResult(np.repeat(m[None], len(frames), axis=0), {"routes": []})


class FlowPropagation:
    """Warp the previous per-object masks into each frame with estimated optical flow.

    This is DTN's box-propagation stream used *as* the segmentation: no box, no mask
    refinement.  Errors accumulate, and occlusions or jumps are never recovered.
    """
    name = "flow"

    def __init__(self, flow_net, input_size, device="cpu"):
        import torch
        self.flow_net = flow_net.eval().to(device)
        self.size = tuple(input_size)
        self.device = torch.device(device)

    def segment(self, frames, first_mask) -> SegmentResult:
        import torch
        from .core.flow import warp

        with torch.no_grad():
            probs, ids = first_masks(first_mask, self.size, self.device)
            K = len(ids)
            probs = probs[:, None]
            prev = frame_tensor(frames[0], self.size, self.device)
            out = [np.where(first_mask == VOID, 0, first_mask).astype(np.uint8)]
            for t in range(1, len(frames)):
                cur = frame_tensor(frames[t], self.size, self.device)
                flow = self.flow_net(cur, prev)["flow"]
                probs = warp(probs, flow.expand(K, -1, -1, -1))
                best, arg = probs[:, 0].max(0)
                ids_t = torch.where(best > 0.5, arg + 1, torch.zeros_like(arg))
                probs = object_masks(ids_t, K)[:, None]
                out.append(paste_ids(ids_t, first_mask.shape, ids))
                prev = cur
        return SegmentResult(np.stack(out), {"routes": []})


FIRST_METHOD = Method(name="first", summary="the first mask repeated (zero motion, baseline)",
                      segmenter=lambda checkpoint=None, device=None: RepeatFirstMask())

# flow-only propagation needs a trained flow network: DTN's (registered in vos_lib.dtn.method)
