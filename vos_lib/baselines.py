"""Reference points every method must beat.

* :class:`RepeatFirstMask` - the first-frame mask copied to every frame (zero motion).
* :class:`FlowPropagation` - the previous mask warped into each frame by optical flow,
  nothing else (DTN's box-propagation stream with no box and no refinement).
* :class:`DISPropagation` - the same with OpenCV's DIS optical flow (Kroeger et al.,
  ECCV 2016): a classical method that learns nothing, at the frame's own resolution.
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


class DISPropagation:
    """Warp the previous per-object masks into each frame with OpenCV's DIS optical
    flow, computed on the grey frames at their own size (no network, no training).

    DIS gives the backward flow ``f`` with ``I_t(x) ~ I_{t-1}(x + f(x))``; each object's
    mask is sampled there (bilinear), and every pixel goes to its most likely object
    (background below 0.5), as in :class:`FlowPropagation`.
    """
    name = "dis"

    def __init__(self, preset: str = "medium"):
        import cv2
        presets = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
                   "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
                   "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}
        self.dis = cv2.DISOpticalFlow_create(presets[preset])

    def segment(self, frames, first_mask) -> SegmentResult:
        import cv2
        m0 = np.where(first_mask == VOID, 0, first_mask).astype(np.uint8)
        ids = [int(i) for i in np.unique(m0) if i != 0]
        H, W = m0.shape
        gx, gy = np.meshgrid(np.arange(W, dtype=np.float32), np.arange(H, dtype=np.float32))
        probs = np.stack([(m0 == i).astype(np.float32) for i in ids]) if ids else None
        out, prev = [m0], cv2.cvtColor(np.asarray(frames[0]), cv2.COLOR_RGB2GRAY)
        for t in range(1, len(frames)):
            cur = cv2.cvtColor(np.asarray(frames[t]), cv2.COLOR_RGB2GRAY)
            if prev.shape != cur.shape:
                raise ValueError(f"frame {t} has size {cur.shape}, frame 0 {prev.shape}")
            if probs is None:
                out.append(np.zeros_like(m0))
                continue
            f = self.dis.calc(cur, prev, None)
            warped = np.stack([cv2.remap(p, gx + f[..., 0], gy + f[..., 1], cv2.INTER_LINEAR,
                                         borderMode=cv2.BORDER_CONSTANT, borderValue=0)
                               for p in probs])
            best, arg = warped.max(0), warped.argmax(0)
            ids_t = np.where(best > 0.5, np.asarray(ids, np.uint8)[arg], 0).astype(np.uint8)
            probs = np.stack([(ids_t == i).astype(np.float32) for i in ids])
            out.append(ids_t)
            prev = cur
        return SegmentResult(np.stack(out), {"routes": []})


FIRST_METHOD = Method(name="first", summary="the first mask repeated (zero motion, baseline)",
                      segmenter=lambda checkpoint=None, device=None: RepeatFirstMask())

DIS_METHOD = Method(name="dis", summary="the previous mask warped by OpenCV's DIS optical "
                    "flow (classical baseline, learns nothing)",
                    segmenter=lambda checkpoint=None, device=None: DISPropagation())

# flow-only propagation needs a trained flow network: DTN's (registered in vos_lib.dtn.method)
