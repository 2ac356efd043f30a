"""Mask Refinement Network (DTN paper, Sec. 3.3, Eq. 3 and Eq. 4).

Given the target RoIs ``T_i^k`` of frame ``i`` (from the DTN) the MRN crops the
multi-level backbone features ``f_j``, ``j = 2..5`` (Res2..Res5, strides 4, 8, 16, 32) with
RoIAlign to ``m_j x m_j``, ``m_j = M / 2^(j-2)``, and fuses them from Res5 down to Res2
with four stacked mask refinement modules (MRM):

    Eq. 3   f_j^U = Conv^2( f_j + Up(f_{j+1}^M) )
    Eq. 4   f_j^M = Conv^2( f_j^U ) (.) Y + f_j^U

``Y`` is the previous frame's mask warped to frame ``i`` by optical flow (the BP stream),
cropped with the same RoI and resized to ``m_j x m_j``.  A final 3x3 conv gives the mask
logit at ``M x M`` (sigmoid = the mask probability; the loss of Eq. 5 is the binary cross
entropy, computed on logits).

Implementation choices
----------------------
* ``f_j`` first goes through a 1x1 lateral conv to the common ``channels`` (256 in the
  paper) so that it can be added to ``Up(f_{j+1}^M)``.
* ``Conv^2`` = two 3x3 convs (padding 1), each followed by ReLU.  No normalisation layer
  (the number of RoIs per batch is small).
* ``Up`` = x2 bilinear upsampling (``align_corners=False``); ``m_j = 2 m_{j+1}`` exactly.
* The deepest module (``j = 5``) has no ``f_6^M``: it is taken as zeros (the addition is
  skipped, which is identical).
* Mask guidance off ("MRN w/o mask guidance", Sec. 4.3): the ``(.) Y`` factor is dropped,
  i.e. ``Y == 1`` and ``f_j^M = Conv^2(f_j^U) + f_j^U``; the ablated network has exactly the
  same layers and parameters, only the prior is removed.  The warped masks are then
  ignored entirely (they may be ``None``).
* Feature crops use ``roi_align(sampling_ratio=1, aligned=True)``; the full-frame guidance
  masks are cropped with the same boxes and ``aligned=True`` but an adaptive sampling ratio
  (``ceil(roi_size / m_j)`` points per bin), i.e. an area-average resize of the mask into
  each ``m_j x m_j`` grid, which stays faithful when the box is much larger than ``m_j``.
* Boxes are xyxy float pixels of the backbone's input image.  Context enlargement of the
  RoI (``DTNConfig.box_context``) is *not* applied here: the caller passes the enlarged
  boxes to both :class:`MaskRefinementNetwork` and :func:`paste_masks`.
"""
from __future__ import annotations

from typing import Dict, Mapping, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.ops import roi_align

from ..core.backbone import LEVELS, STRIDES
from ..core.boxes import roi_rows
from ..core.boxes import merge_masks, paste_masks  # noqa: F401  (DIPNet uses them too)

__all__ = [
    "LEVELS",
    "STRIDES",
    "level_sizes",
    "roi_crops",
    "crop_masks",
    "MRM",
    "MaskRefinementNetwork",
    "paste_masks",
    "merge_masks",
    "mrn_targets",
    "mrn_loss",
]



def level_sizes(M: int) -> Dict[str, int]:
    """``{"res2": M, "res3": M/2, "res4": M/4, "res5": M/8}`` (``m_j = M / 2^(j-2)``)."""
    if M % 8 != 0:
        raise ValueError(f"M must be divisible by 8 (m_5 = M/8), got {M}")
    return {lvl: M // (2 ** i) for i, lvl in enumerate(LEVELS)}



def roi_crops(features: Mapping[str, Tensor], boxes: Tensor, M: int = 32,
              batch_index: Optional[Tensor] = None,
              strides: Optional[Mapping[str, int]] = None) -> Dict[str, Tensor]:
    """RoIAlign crops ``f_j(T^k)`` of every level (Sec. 3.3).

    Args:
        features: ``{"res2".."res5": (B, C_j, h_j, w_j)}``.
        boxes: ``(K, 4)`` xyxy input-image pixels; ``batch_index`` ``(K,)`` their images
            in the feature batch (default 0).
    Returns:
        ``{level: (K, C_j, m_j, m_j)}`` with ``m_j = M / 2^(j-2)`` (``spatial_scale =
        1 / stride_j``, ``sampling_ratio=1``, ``aligned=True``; one sample per bin keeps the CPU backward pass cheap).
    """
    strides = dict(STRIDES if strides is None else strides)
    out = {}
    for lvl, m in level_sizes(M).items():
        f = features[lvl]
        out[lvl] = roi_align(f, roi_rows(boxes, batch_index, f), output_size=(m, m),
                             spatial_scale=1.0 / strides[lvl], sampling_ratio=1, aligned=True)
    return out


def crop_masks(masks: Tensor, boxes: Tensor, size: int,
               image_size: Optional[Tuple[int, int]] = None) -> Tensor:
    """Crop mask ``k`` (full frame) with box ``k`` and resize it to ``size x size``.

    Args:
        masks: ``(K, 1, H, W)`` or ``(K, H, W)``, one full-frame map per box.
        boxes: ``(K, 4)`` in input-image pixels.
        image_size: ``(H_img, W_img)`` of the boxes' coordinate frame if the masks are at
            another resolution (boxes are rescaled per axis); default: the masks' own.
    Returns:
        ``(K, 1, size, size)`` (RoIAlign, ``aligned=True``, adaptive sampling = area
        average).
    """
    if masks.dim() == 3:
        masks = masks[:, None]
    masks = masks.float()
    boxes = boxes.reshape(-1, 4).to(masks.device).float()
    if image_size is not None:
        sy = masks.shape[-2] / float(image_size[0])
        sx = masks.shape[-1] / float(image_size[1])
        boxes = boxes * boxes.new_tensor([sx, sy, sx, sy])
    idx = torch.arange(boxes.shape[0], device=masks.device)
    return roi_align(masks, roi_rows(boxes, idx, masks), output_size=(size, size),
                     spatial_scale=1.0, sampling_ratio=0, aligned=True)


def _conv2(channels: int) -> nn.Sequential:
    """``Conv^2``: two 3x3 convs with ReLU."""
    return nn.Sequential(
        nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True),
    )


class MRM(nn.Module):
    """One mask refinement module (Eq. 3 + Eq. 4).

    ``forward(f_j, f_next=None, y=None, return_u=False)``:

    * ``f_j`` ``(K, C_in, m, m)``: RoI features of this level;
    * ``f_next`` ``(K, channels, m/2, m/2)``: output ``f_{j+1}^M`` of the previous (deeper)
      module, ``None`` for the deepest one (= zeros);
    * ``y`` ``(K, 1, m, m)``: warped previous mask at this resolution (required when
      ``guidance=True``, ignored otherwise).

    Returns ``f_j^M`` (and ``f_j^U`` if ``return_u``).  With ``guidance=False`` the gate is
    dropped: ``f^M = Conv^2(f^U) + f^U``.
    """

    def __init__(self, in_channels: int, channels: int, guidance: bool = True):
        super().__init__()
        self.guidance = guidance
        self.lateral = nn.Conv2d(in_channels, channels, 1)
        self.conv_u = _conv2(channels)     # Conv^2 of Eq. 3
        self.conv_m = _conv2(channels)     # Conv^2 of Eq. 4

    def forward(self, f_j: Tensor, f_next: Optional[Tensor] = None, y: Optional[Tensor] = None,
                return_u: bool = False):
        x = self.lateral(f_j)
        if f_next is not None:
            x = x + F.interpolate(f_next, size=x.shape[-2:], mode="bilinear", align_corners=False)
        f_u = self.conv_u(x)
        g = self.conv_m(f_u)
        if self.guidance:
            if y is None:
                raise ValueError("MRM with guidance=True needs the warped mask y")
            g = g * y.to(g.dtype)
        f_m = g + f_u
        return (f_m, f_u) if return_u else f_m


class MaskRefinementNetwork(nn.Module):
    """Four stacked MRMs (Res5 -> Res2) and a 3x3 conv to one mask logit at ``M x M``.

    Args:
        in_channels: ``{"res2": C_2, ..., "res5": C_5}`` backbone channels.
        channels: common channel count of the MRMs (256 in the paper, ``mrn_channels``).
        M: output size (112 in the paper, ``mrn_M``); ``m_j = M / 2^(j-2)``.
        guidance: use the warped-mask prior of Eq. 4 (``mask_guidance``).
    """

    def __init__(self, in_channels: Mapping[str, int], channels: int = 32, M: int = 32,
                 guidance: bool = True, strides: Optional[Mapping[str, int]] = None):
        super().__init__()
        self.M, self.channels, self.guidance = M, channels, guidance
        self.sizes = level_sizes(M)
        self.strides = dict(STRIDES if strides is None else strides)
        self.mrms = nn.ModuleDict({lvl: MRM(in_channels[lvl], channels, guidance) for lvl in LEVELS})
        self.predictor = nn.Conv2d(channels, 1, 3, padding=1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
        nn.init.normal_(self.predictor.weight, std=0.01)

    @classmethod
    def from_config(cls, cfg, in_channels: Mapping[str, int]) -> "MaskRefinementNetwork":
        """Build from a :class:`vos_lib.dtn.config.DTNConfig`."""
        return cls(in_channels, channels=cfg.mrn_channels, M=cfg.mrn_M, guidance=cfg.mask_guidance)

    def guidance_crops(self, warped_masks: Tensor, boxes: Tensor,
                       image_size: Optional[Tuple[int, int]] = None) -> Dict[str, Tensor]:
        """``{level: (K, 1, m_j, m_j)}`` crops of the full-frame warped masks."""
        return {lvl: crop_masks(warped_masks, boxes, m, image_size) for lvl, m in self.sizes.items()}

    def forward(self, features: Mapping[str, Tensor], boxes: Tensor,
                warped_masks: Optional[Tensor] = None, batch_index: Optional[Tensor] = None,
                image_size: Optional[Tuple[int, int]] = None) -> Tensor:
        """Mask logits of the K RoIs.

        Args:
            features: backbone dict ``{"res2".."res5"}`` (a batch of ``B`` frames).
            boxes: ``(K, 4)`` target RoIs (input-image pixels).
            warped_masks: ``(K, 1, H, W)`` full-frame warped previous masks in ``[0, 1]``,
                one per RoI (mask ``k`` is cropped with box ``k``); at the input resolution
                unless ``image_size`` tells the boxes' frame.  Ignored if ``guidance=False``.
            batch_index: ``(K,)`` frame of each RoI in the feature batch (default 0).
        Returns:
            ``(K, 1, M, M)`` logits (apply ``sigmoid`` for probabilities).
        """
        boxes = boxes.reshape(-1, 4)
        crops = roi_crops(features, boxes, self.M, batch_index, self.strides)
        ys = {}
        if self.guidance:
            if warped_masks is None:
                raise ValueError("guidance=True needs warped_masks (K, 1, H, W)")
            ys = self.guidance_crops(warped_masks, boxes, image_size)
        f = None
        for lvl in reversed(LEVELS):                                       # res5 -> res2
            y = ys.get(lvl)
            if y is not None:
                y = y.to(crops[lvl].dtype)
            f = self.mrms[lvl](crops[lvl], f, y)
        return self.predictor(f)


def mrn_targets(gt_masks: Tensor, boxes: Tensor, M: int,
                image_size: Optional[Tuple[int, int]] = None) -> Tensor:
    """Binary ``M x M`` targets: GT mask ``k`` cropped with box ``k`` (RoIAlign, area
    average, ``aligned=True``), ``> 0.5``.  ``gt_masks`` ``(K, H, W)`` -> ``(K, 1, M, M)``
    float in {0, 1}."""
    return (crop_masks(gt_masks, boxes, M, image_size) > 0.5).float()


def mrn_loss(logits: Tensor, targets: Tensor, ignore: Optional[Tensor] = None) -> Tensor:
    """L_MRN of Eq. 5: binary cross entropy with logits, mean over non-ignored entries.

    Args:
        logits: ``(K, 1, M, M)``; targets: same numel (``(K, M, M)`` accepted).
        ignore: optional bool tensor, ``True`` = excluded; either per RoI ``(K,)`` (e.g.
            objects absent from the frame) or broadcastable to the logits (void pixels).
    """
    targets = targets.reshape(logits.shape).to(logits.dtype)
    loss = F.binary_cross_entropy_with_logits(logits.float(), targets.float(), reduction="none")
    if ignore is None:
        return loss.mean()
    ignore = ignore.to(loss.device).bool()
    if ignore.dim() == 1 and ignore.shape[0] == loss.shape[0] and loss.dim() > 1:
        ignore = ignore.reshape(-1, *([1] * (loss.dim() - 1)))
    keep = (~ignore).expand_as(loss).to(loss.dtype)
    n = keep.sum()
    return (loss * keep).sum() / n.clamp(min=1.0)
