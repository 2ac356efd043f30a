"""The DIPNet network (Fig. 2-3): feature encoder, identity encoder, instance
propagation module and spatial segmentation network, with their training steps.

The per-frame loop (Eq. 2 updates, foreground crop, joint softmax, one-shot
fine-tuning) lives in :mod:`vos_lib.dipnet.inference`; this module is the network.
The two phases are trained separately (Sec. 3.4): ``stage = "ipn"`` trains the encoders
and the propagation module on frame pairs, ``stage = "ssn"`` the segmentation network
on single frames with coarse masks made from the ground truth by morphology.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core.backbone import Backbone
from ..core.boxes import crop_resize, foreground_box
from .config import DIPNetConfig
from .identity import IdentityEncoder
from .propagation import InstancePropagation
from .ssn import SpatialSegmentationNetwork

VOID = 255


def _backbone(cfg: DIPNetConfig, name: str | None = None, upto: str = "res5") -> Backbone:
    blocks = None if cfg.backbone_blocks is None else tuple(cfg.backbone_blocks)
    return Backbone(name or cfg.backbone, blocks=blocks, pretrained=cfg.pretrained, upto=upto)


def resize(x: Tensor, size, mode: str = "bilinear") -> Tensor:
    """``(N, C, H, W)`` to ``size``: ``"bilinear"`` for images, ``"area"`` for masks
    (a mask pixel becomes the fraction of the object it covers)."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    if mode == "area":
        return F.interpolate(x, size=tuple(size), mode="area")
    return F.interpolate(x, size=tuple(size), mode=mode, align_corners=False)


def morph_coarse(masks: Tensor, coarse_size, max_kernel: int,
                 generator: torch.Generator | None = None) -> Tensor:
    """Sec. 3.4's coarse masks: each ``(N, 1, H, W)`` binary mask is dilated or eroded
    with a random square kernel of 0..``max_kernel`` pixels, then resized (area) to
    ``coarse_size``."""
    out = []
    for m in masks:
        k = int(torch.randint(0, max_kernel + 1, (1,), generator=generator))
        if k > 1:
            pad = (k // 2, k - 1 - k // 2, k // 2, k - 1 - k // 2)
            if torch.rand(1, generator=generator) < 0.5:     # dilation
                m = F.max_pool2d(F.pad(m[None], pad), k, stride=1)[0]
            else:                                             # erosion
                m = -F.max_pool2d(F.pad(-m[None], pad, value=-1.0), k, stride=1)[0]
        out.append(m)
    return resize(torch.stack(out), coarse_size, "area")


def pick_targets(mask: Tensor, n_objects: Tensor, union_p: float) -> Tensor:
    """One training target per sample: a random object, or with probability
    ``union_p`` the union of all objects (the foreground of Sec. 3.3.1).  ``mask``:
    ``(N, H, W)`` ids 1..K (255 void); returns ``(N, H, W)`` float {0, 1}."""
    N = mask.shape[0]
    k = (torch.rand(N) * n_objects.cpu().float()).long() + 1
    union = torch.rand(N) < union_p
    single = mask == k.to(mask.device)[:, None, None]
    allobj = (mask >= 1) & (mask != VOID)
    return torch.where(union.to(mask.device)[:, None, None], allobj, single).float()


class DIPNet(nn.Module):
    """DIPNet's four networks (Fig. 3 a, c, d and Sec. 3.2)."""

    def __init__(self, cfg: DIPNetConfig):
        super().__init__()
        self.cfg = cfg
        level = cfg.feature_level
        self.features = _backbone(cfg, upto=level)                             # Fig. 3 (c)
        self.identity = IdentityEncoder(_backbone(cfg, upto=level), cfg.identity_encoder)
        self.ipn = InstancePropagation(self.features.channels[level], cfg.ipn_channels)
        self.ssn = SpatialSegmentationNetwork(_backbone(cfg, cfg.ssn_backbone),
                                              cfg.ssn_channels)
        self.stage = "ipn"

    @property
    def coarse_size(self) -> tuple:
        """The coarse mask's size: 4x the feature grid (32x32 for the paper's 256x256
        inputs and Conv5, and for the CPU preset's 128x128 inputs and Conv4)."""
        stride = self.features.strides[self.cfg.feature_level]
        return tuple(4 * s // stride for s in self.cfg.prop_size)

    # ----------------------------------------------------------------- inference parts
    def encode(self, images: Tensor) -> Tensor:
        """Conv5 (``feature_level``) features of frames at the propagation size."""
        return self.features(resize(images, self.cfg.prop_size))[self.cfg.feature_level]

    def identify(self, images: Tensor, masks: Tensor) -> Tensor:
        """Identity attention vectors beta ``(N, C)`` of ``masks (N, 1, H, W)``."""
        return self.identity(resize(images, self.cfg.prop_size),
                             resize(masks, self.cfg.prop_size, "area"))

    def propagate(self, features: Tensor, alpha: Tensor) -> Tensor:
        """Coarse logits ``(K, 1, h, w)``: one frame's features, K identity vectors."""
        return self.ipn(features.expand(alpha.shape[0], -1, -1, -1), alpha)

    def refine(self, images: Tensor, coarse: Tensor, ssn: nn.Module | None = None) -> Tensor:
        """Full-resolution logits ``(K, 1, H, W)`` at the SSN size from coarse
        probabilities; ``ssn`` is a fine-tuned copy when given."""
        imgs = resize(images, self.cfg.ssn_size).expand(coarse.shape[0], -1, -1, -1)
        return (ssn or self.ssn)(imgs, coarse)[-1]

    # ------------------------------------------------------------------ training steps
    def training_step(self, batch: dict) -> dict:
        return self.ipn_step(batch) if self.stage == "ipn" else self.ssn_step(batch)

    def ipn_step(self, batch: dict) -> dict:
        """Propagation phase on a (previous, current) pair: beta from the previous frame
        and mask, the current frame's features, BCE against the current mask at the
        coarse size (void pixels weigh 0)."""
        n = batch["n_objects"]
        prev = pick_targets(batch["prev_mask"], n, self.cfg.union_p)
        cur = batch["cur_mask"]
        same = _same_target(batch["prev_mask"], prev, cur)   # that object, current frame
        fg = _foreground(batch["prev_mask"]) | _foreground(cur)
        prev_img, cur_img, prev, same, void = self.crop_some(
            fg, batch["prev_img"], batch["cur_img"], prev[:, None], same[:, None],
            (cur == VOID).float()[:, None])
        logit = self.ipn(self.encode(cur_img), self.identify(prev_img, prev))
        target = resize(same, logit.shape[-2:], "area")
        valid = 1 - resize(void, logit.shape[-2:], "area")
        loss = F.binary_cross_entropy_with_logits(logit, target, weight=valid)
        return {"ipn_bce": loss}

    def ssn_step(self, batch: dict) -> dict:
        """Segmentation phase on single frames: a coarse mask from the ground truth by
        random dilation/erosion (Sec. 3.4), BCE on every stage of the cascade."""
        cur = batch["cur_mask"]
        target = pick_targets(cur, batch["n_objects"], self.cfg.union_p)[:, None]
        image, target, valid = self.crop_some(_foreground(cur), batch["cur_img"], target,
                                              (cur != VOID).float()[:, None])
        target = (target > 0.5).float()
        coarse = morph_coarse(target.cpu(), self.coarse_size, self.cfg.morph_max)
        return ssn_loss(self.ssn(image, coarse.to(image.device)), target, valid)

    def crop_some(self, fg: Tensor, *tensors: Tensor) -> list:
        """Crop a random share ``crop_p`` of the samples around their foreground ``fg``
        ``(N, H, W)``, as inference crops the instance stage (Sec. 3.3.1), so that the
        networks also see objects at the crop's scale; the rest stay whole."""
        sel = (torch.rand(fg.shape[0]) < self.cfg.crop_p).to(fg.device)
        if not bool(sel.any()):
            return list(tensors)
        boxes = foreground_box(fg[sel], self.cfg.crop_margin)
        out = []
        for t in tensors:
            t = t.clone()
            t[sel] = crop_resize(t[sel].float(), boxes, t.shape[-2:]).to(t.dtype)
            out.append(t)
        return out


def ssn_loss(logits: list, target: Tensor, valid: Tensor | None = None) -> dict:
    """BCE of the SSN's output (``ssn_bce``) and, at half weight, of its earlier cascade
    stages (``ssn_stages``, deep supervision as in CRN), against ``target (N, 1, H, W)``;
    pixels where ``valid`` is 0 do not count."""
    valid = torch.ones_like(target) if valid is None else valid
    losses = []
    for lg in logits:
        t = resize(target, lg.shape[-2:], "area")
        w = resize(valid, lg.shape[-2:], "area")
        losses.append(F.binary_cross_entropy_with_logits(lg, t, weight=w))
    return {"ssn_bce": losses[-1], "ssn_stages": 0.5 * sum(losses[:-1]) / len(losses[:-1])}


def _foreground(mask: Tensor) -> Tensor:
    return (mask >= 1) & (mask != VOID)


def _same_target(prev_mask: Tensor, prev_target: Tensor, cur_mask: Tensor) -> Tensor:
    """The current frame's mask of the object (or union) picked in the previous frame."""
    out = torch.zeros_like(prev_target)
    for i in range(prev_mask.shape[0]):
        ids = torch.unique(prev_mask[i][prev_target[i] > 0])
        ids = ids[(ids >= 1) & (ids != VOID)]
        if len(ids):
            out[i] = torch.isin(cur_mask[i], ids).float()
    return out
