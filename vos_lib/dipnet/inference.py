"""DIPNet over a whole video: the per-frame loop apart from the network (as Cutie keeps
it).  :class:`DIPNetSegmenter` implements the shared
:class:`~vos_lib.core.segmenter.Segmenter` interface.

Per frame t (Fig. 2, Sec. 3.3):

1. **Eq. 2** - each object's dynamic identity vector alpha is updated with beta, the
   identity vector of the object's mask in frame t-1 (skipped when that mask is empty).
   The foreground (all objects as one) has its own vector.
2. **Foreground** (Sec. 3.3.1) - the foreground's coarse mask (IPN) is refined by the
   SSN on the whole frame; a tight box around it, grown by ``crop_margin``, is cropped
   from the frame at full resolution and resized to the SSN size.
3. **Instances** (Sec. 3.3.2) - on the crop, each object's coarse logit f_i and the
   foreground's f_fg; a softmax over ``[-f_fg, f_1 .. f_n]`` (the batch dimension) gives
   every pixel to one object; the SSN refines each object's coarse mask; the refined
   masks are pasted back and merged (each pixel to its most likely object, background
   below 0.5).

Switches for the ablations: ``crop=False`` is DIPNet* (no foreground crop),
``joint=False`` segments the instances separately (a sigmoid each; overlaps are
counted), ``use_ipn=False`` feeds the SSN the previous frame's masks instead of the
propagated ones ("SSN alone", Table 6), ``use_ssn=False`` upsamples the coarse masks
("IPN alone"), ``finetune=False`` skips the one-shot fine-tuning.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from ..core.boxes import crop_resize, foreground_box, merge_masks, paste_masks
from ..core.segmenter import SegmentResult, first_masks, frame_tensor, object_masks, paste_ids
from ..io import VOID
from .finetune import one_shot_finetune
from .identity import update_identity
from .model import DIPNet, resize
from .propagation import joint_softmax


@dataclass
class _Track:
    """What the loop carries from frame to frame."""
    alpha_fg: torch.Tensor               # (1, C) the foreground's dynamic identity
    alpha: torch.Tensor                  # (K, C) each object's dynamic identity
    box: torch.Tensor                    # (1, 4) the last crop box (SSN-size pixels)
    masks: torch.Tensor                  # (K, 1, h, w) last masks at the SSN size
    view: tuple                          # (image, masks) of the last instance view
    ssn_fg: torch.nn.Module
    ssn_inst: list
    canvas: torch.Tensor | None = None   # the last frame at the SSN size
    skips: list = field(default_factory=list)   # per frame: objects not updated
    overlaps: list = field(default_factory=list)  # per frame: pixels claimed twice


class DIPNetSegmenter:
    """Runs a trained DIPNet over a whole video (one-shot fine-tuning on by default)."""
    name = "dipnet"

    def __init__(self, model: DIPNet, device=None, omega: float | None = None,
                 finetune: bool | None = None, crop: bool | None = None, joint: bool = True,
                 use_ipn: bool = True, use_ssn: bool = True, seed: int = 0):
        self.model = model.eval()
        self.device = torch.device(device) if device else next(model.parameters()).device
        self.model.to(self.device)
        cfg = model.cfg
        self.omega = cfg.omega if omega is None else omega
        self.finetune = cfg.finetune if finetune is None else finetune
        self.crop = cfg.crop if crop is None else crop
        self.joint, self.use_ipn, self.use_ssn, self.seed = joint, use_ipn, use_ssn, seed

    # ------------------------------------------------------------------ views and crops
    def _crop_box(self, fg: torch.Tensor, fallback: torch.Tensor | None) -> torch.Tensor:
        """The crop box of a ``(1, h, w)`` foreground (SSN pixels), Sec. 3.3.1."""
        return foreground_box(fg, self.model.cfg.crop_margin, fallback=fallback)

    def _cut(self, x: torch.Tensor, box: torch.Tensor, scale=None) -> torch.Tensor:
        """``x (N, C, H, W)`` inside ``box`` (SSN pixels; ``scale`` = ``(sx, sy, sx, sy)``
        maps them to ``x``'s pixels) resized to the SSN size."""
        box = box * (1 if scale is None else scale)
        return crop_resize(x, box.expand(x.shape[0], 4), self.model.cfg.ssn_size)

    def _coarse(self, track: _Track, feats, prev_view_masks) -> torch.Tensor:
        """Coarse probabilities ``(K, 1, hc, wc)`` of the objects in one view."""
        m = self.model
        if not self.use_ipn:                       # "SSN alone": the previous masks
            return resize(prev_view_masks, m.coarse_size, "area")
        f = m.propagate(feats, track.alpha)
        if not self.joint:
            return torch.sigmoid(f)
        return joint_softmax(f, m.propagate(feats, track.alpha_fg))[1:]

    def _refine(self, image, coarse, ssns) -> torch.Tensor:
        """Refined probabilities ``(K, 1, H, W)`` at the SSN size."""
        if not self.use_ssn:                       # "IPN alone": the coarse masks upsampled
            return resize(coarse, self.model.cfg.ssn_size)
        return torch.cat([torch.sigmoid(self.model.refine(image, coarse[k:k + 1], ssns[k]))
                          for k in range(coarse.shape[0])])

    # ---------------------------------------------------------------------- the loop
    def _start(self, canvas, full, masks, scale) -> tuple[_Track, tuple]:
        """Frame 1: identity vectors, the first crop, one-shot fine-tuning; returns the
        track and the fine-tuning seconds (full frame, instances)."""
        m, cfg = self.model, self.model.cfg
        fg = masks.amax(0, keepdim=True)                           # (1, 1, h, w)
        box = self._crop_box(fg[0] > 0.5, None)
        view = self._view(canvas, full, masks, box, scale)
        tune = dict(lr=cfg.ft_lr, batch=cfg.ft_batch, morph_max=cfg.morph_max, seed=self.seed)
        ssn_fg, secs, secs_inst = m.ssn, 0.0, 0.0
        ssn_inst = [m.ssn] * masks.shape[0]
        if self.finetune and self.use_ssn:
            ssn_fg, secs = one_shot_finetune(m.ssn, canvas, fg, m.coarse_size,
                                             iters=cfg.ft_iters_full, **tune)
            ssn_inst = []
            for k in range(masks.shape[0]):
                tuned, s = one_shot_finetune(ssn_fg, view[0], view[1][k:k + 1],
                                             m.coarse_size, iters=cfg.ft_iters_crop, **tune)
                ssn_inst.append(tuned)
                secs_inst += s
        track = _Track(alpha_fg=m.identify(canvas, fg), alpha=m.identify(*self._expand(view)),
                       box=box, masks=masks, view=view, ssn_fg=ssn_fg, ssn_inst=ssn_inst)
        return track, (secs, secs_inst)

    def _view(self, canvas, full, masks, box, scale) -> tuple:
        """The instance stage's view: the crop (or the whole frame for DIPNet*)."""
        if not self.crop:
            return canvas, masks
        return self._cut(full, box, scale), (self._cut(masks, box) > 0.5).float()

    @staticmethod
    def _expand(view) -> tuple:
        image, masks = view
        return image.expand(masks.shape[0], -1, -1, -1), masks

    def _update(self, track: _Track) -> None:
        """Eq. 2 with the previous frame's results (empty masks: no update)."""
        m = self.model
        fg = track.masks.amax(0, keepdim=True)
        empty = track.view[1].flatten(1).sum(1) == 0
        track.alpha = update_identity(track.alpha, m.identify(*self._expand(track.view)),
                                      self.omega, empty)
        fg_empty = (fg.sum() == 0).reshape(1)
        track.alpha_fg = update_identity(track.alpha_fg, m.identify(track.canvas, fg),
                                         self.omega, fg_empty)
        track.skips.append(int(empty.sum()))

    def _locate(self, track: _Track, canvas, full, scale) -> dict:
        """The foreground stage of one frame (Sec. 3.3.1): the foreground's coarse mask
        (``fg_coarse``) and SSN output (``fg``), the crop ``box``, the instances' view
        (``image``), the previous masks in it (``prev``) and its features (``feats``).
        DIPNet* (no crop) views the whole frame, with ``fg_coarse = fg = None``."""
        m = self.model
        feats = m.encode(canvas)
        if not self.crop:
            return dict(feats=feats, image=canvas, prev=track.masks, box=track.box,
                        fg_coarse=None, fg=None)
        fg_coarse = (torch.sigmoid(m.propagate(feats, track.alpha_fg)) if self.use_ipn
                     else resize(track.masks.amax(0, keepdim=True), m.coarse_size, "area"))
        fg = self._refine(canvas, fg_coarse, [track.ssn_fg])
        box = self._crop_box(fg[0] > 0.5, track.box)
        image = self._cut(full, box, scale)
        return dict(feats=m.encode(image), image=image, prev=self._cut(track.masks, box),
                    box=box, fg_coarse=fg_coarse, fg=fg)

    def _step(self, track: _Track, canvas, full, scale) -> torch.Tensor:
        """One frame: foreground, crop, instances; returns the id mask at the SSN size."""
        h, w = canvas.shape[-2:]
        K = track.masks.shape[0]
        v = self._locate(track, canvas, full, scale)
        box = v["box"]
        probs = self._refine(v["image"], self._coarse(track, v["feats"], v["prev"]),
                             track.ssn_inst)
        if self.crop:
            probs = paste_masks(probs, box.expand(K, 4), (h, w))[:, None]
        track.overlaps.append(int(((probs > 0.5).sum(0) > 1).sum()))
        ids = merge_masks(probs)
        track.masks = object_masks(ids, K)[:, None].to(canvas.device)
        track.box, track.canvas = box, canvas
        track.view = self._view(canvas, full, track.masks, box, scale)
        return ids

    @torch.no_grad()
    def segment(self, frames, first_mask) -> SegmentResult:
        size = tuple(self.model.cfg.ssn_size)
        masks, ids = first_masks(first_mask, size, self.device)
        full = frame_tensor(frames[0], None, self.device)
        sx, sy = full.shape[-1] / size[1], full.shape[-2] / size[0]
        scale = full.new_tensor([sx, sy, sx, sy])  # SSN pixels -> frame pixels
        canvas = resize(full, size)
        track, ft_seconds = self._start(canvas, full, masks[:, None], scale)
        track.canvas = canvas
        out = [np.where(first_mask == VOID, 0, first_mask).astype(np.uint8)]
        seconds = []
        for t in range(1, len(frames)):
            t0 = time.perf_counter()
            full = frame_tensor(frames[t], None, self.device)
            canvas = resize(full, size)
            if t > 1:
                self._update(track)
            id_mask = self._step(track, canvas, full, scale)
            if self.device.type == "cuda":
                torch.cuda.synchronize()
            seconds.append(time.perf_counter() - t0)
            out.append(paste_ids(id_mask, first_mask.shape, ids))
        return SegmentResult(np.stack(out), {
            "routes": [], "frame_seconds": seconds, "finetune_seconds": sum(ft_seconds),
            "finetune_seconds_full": ft_seconds[0], "finetune_seconds_instances": ft_seconds[1],
            "identity_skips": track.skips, "overlap_pixels": track.overlaps})
