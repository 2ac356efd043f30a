"""DTN over a whole video: the per-frame loop apart from the network (as Cutie keeps it).

:class:`DTNSegmenter` implements the shared :class:`~vos_lib.core.segmenter.Segmenter`
interface: frame 1 initialises the state (:meth:`DTN.first_frame`), each later frame
is one :meth:`DTN.step` with the routing policy of DTN Fig. 6.
"""
from __future__ import annotations

import time

import numpy as np
import torch

from ..core.segmenter import SegmentResult, first_masks, frame_tensor, paste_ids
from ..core.timer import Timer
from ..io import VOID
from .model import DTN


class DTNSegmenter:
    """Runs a trained DTN over a whole video (no online fine-tuning, Sec. 3.4).

    ``policy`` picks BP/BR per frame: ``"dm"`` (the decision module with ``theta_c``),
    ``"random"`` (BP with probability ``p_bp``), ``"periodic"`` (BR every ``period``
    frames), ``"bp"``/``"br"`` (always one stream), as in DTN Fig. 6.
    """
    name = "dtn"

    def __init__(self, model: DTN, device=None, theta_c: float | None = None, policy: str = "dm",
                 p_bp: float = 0.5, period: int = 5, rpn: str = "conditional", use_dtn: bool = True,
                 seed: int = 0):
        self.model = model.eval()
        self.device = torch.device(device) if device else next(model.parameters()).device
        self.model.to(self.device)
        self.theta_c, self.policy, self.p_bp, self.period = theta_c, policy, p_bp, period
        self.rpn, self.use_dtn, self.seed = rpn, use_dtn, seed

    def _force(self, t: int, rng: np.random.Generator) -> str | None:
        if self.policy == "dm":
            return None
        if self.policy == "random":
            return "BP" if rng.random() < self.p_bp else "BR"
        if self.policy == "periodic":
            return "BR" if t % self.period == 0 else "BP"
        if self.policy in ("bp", "br"):
            return self.policy.upper()
        raise ValueError(f"unknown routing policy {self.policy!r}")

    @torch.no_grad()
    def segment(self, frames, first_mask) -> SegmentResult:
        size = self.model.cfg.input_size
        masks0, ids = first_masks(first_mask, size, self.device)
        timer = Timer(self.device)
        state = self.model.first_frame(frame_tensor(frames[0], size, self.device), masks0)
        rng = np.random.default_rng(self.seed)
        out = [np.where(first_mask == VOID, 0, first_mask).astype(np.uint8)]
        routes, confs, seconds = [], [], []
        for t in range(1, len(frames)):
            img = frame_tensor(frames[t], size, self.device)
            t0 = time.perf_counter()
            idm, state, info = self.model.step(img, state, self.theta_c, self._force(t, rng),
                                               self.rpn, self.use_dtn, timer)
            if self.device.type == "cuda":
                torch.cuda.synchronize()
            seconds.append(time.perf_counter() - t0)
            routes.append(info["route"])
            confs.append(round(info["confidence"], 4))
            out.append(paste_ids(idm, first_mask.shape, ids))
        n = max(len(routes), 1)
        return SegmentResult(np.stack(out), {
            "routes": routes, "confidence": confs,
            "br_fraction": sum(r == "BR" for r in routes) / n,
            "component_seconds": timer.per_call(), "component_total": dict(timer.total),
            "frame_seconds": seconds})
