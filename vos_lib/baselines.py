"""Reference points every method must beat.

* :class:`RepeatFirstMask` - the first-frame mask copied to every frame (zero motion).
* :class:`FlowPropagation` - the previous mask warped into each frame by optical flow,
  nothing else (DTN's box-propagation stream with no box and no refinement).
"""
from __future__ import annotations

import numpy as np

from .io import VOID
from .segmenter import SegmentResult


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
        import torch.nn.functional as F
        from .flow import warp
        from .segmenter import from_consecutive, to_consecutive

        H0, W0 = first_mask.shape
        cons, ids = to_consecutive(first_mask)
        K = len(ids)

        def tens(f):
            t = torch.from_numpy(np.array(f)).to(self.device).permute(2, 0, 1)[None].float() / 255
            return F.interpolate(t, size=self.size, mode="bilinear", align_corners=False)

        with torch.no_grad():
            m = torch.from_numpy(cons).to(self.device)[None, None].float()
            m = F.interpolate(m, size=self.size, mode="nearest")[0, 0]
            probs = torch.stack([(m == k + 1).float() for k in range(K)])[:, None]
            prev = tens(frames[0])
            out = [np.where(first_mask == VOID, 0, first_mask).astype(np.uint8)]
            for t in range(1, len(frames)):
                cur = tens(frames[t])
                flow = self.flow_net(cur, prev)["flow"]
                probs = warp(probs, flow.expand(K, -1, -1, -1))
                best, arg = probs[:, 0].max(0)
                ids_t = torch.where(best > 0.5, arg + 1, torch.zeros_like(arg))
                probs = torch.stack([(ids_t == k + 1).float() for k in range(K)])[:, None]
                full = F.interpolate(ids_t[None, None].float(), size=(H0, W0), mode="nearest")
                out.append(from_consecutive(full[0, 0].byte().cpu().numpy(), ids))
                prev = cur
        return SegmentResult(np.stack(out), {"routes": []})
