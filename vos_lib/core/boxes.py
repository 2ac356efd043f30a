"""Generic box helpers shared by the DTN streams (Sec. 3.2), the MRN (Sec. 3.3) and DIPNet's
foreground crop (DIPNet Sec. 3.3.1): boxes of masks, RoIs, pasting RoI masks back.

Box convention used across ``vos_lib``: float ``(x1, y1, x2, y2)`` in **pixel-centre
coordinates**, meaning pixel ``(row i, col j)`` has its centre at ``(x=j, y=i)``. This is the
``align_corners=True`` convention of :func:`vos_lib.core.flow.warp`. The box of a mask spans
the centres of its extreme foreground pixels, as in :func:`torchvision.ops.masks_to_boxes`.
So ``x2``/``y2`` are the *inclusive* last foreground column/row, a ``w``-pixel-wide object
has box width ``w - 1``, and every box of an ``H x W`` frame lies in
``[0, W-1] x [0, H-1]``. An empty mask gives the all-zero box and ``valid=False``.

Shape parametrisation (CRPN anchors, Sec. 3.2): ``scale = sqrt(w * h)`` and
``ratio = h / w``. The inverse is ``w = scale / sqrt(ratio)``, ``h = scale * sqrt(ratio)``.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.ops import masks_to_boxes

_EPS = 1e-6


def mask_to_box(masks: Tensor, threshold: float = 0.5) -> tuple[Tensor, Tensor]:
    """Tight boxes of ``(K, H, W)`` masks, either binary or soft (foreground = ``> threshold``).

    Returns ``boxes`` ``(K, 4)`` float xyxy (see the module docstring for the convention)
    and ``valid`` ``(K,)`` bool. An empty mask gets the box ``(0, 0, 0, 0)`` with
    ``valid=False``, where :func:`torchvision.ops.masks_to_boxes` would give garbage.
    This is how the BP stream turns the warped masks ``Y_{(i-1)->i}^k`` into target RoIs
    ``T_i^k`` (Sec. 3.2).
    """
    if masks.dim() != 3:
        raise ValueError(f"masks must be (K, H, W), got {tuple(masks.shape)}")
    fg = masks if masks.dtype == torch.bool else masks > threshold
    valid = fg.flatten(1).any(dim=1)
    boxes = torch.zeros(masks.shape[0], 4, dtype=torch.float32, device=masks.device)
    if valid.any():
        boxes[valid] = masks_to_boxes(fg[valid]).float()
    return boxes, valid


def box_wh(boxes: Tensor) -> tuple[Tensor, Tensor]:
    """Widths and heights of ``(..., 4)`` xyxy boxes."""
    return boxes[..., 2] - boxes[..., 0], boxes[..., 3] - boxes[..., 1]


def enlarge_box(boxes: Tensor, ratio: float, min_size: float = 0.0) -> Tensor:
    """Grow boxes around their centre, so that ``w' = max(w * (1 + ratio), min_size)`` (and the same for ``h``).

    ``ratio`` is e.g. ``DTNConfig.box_context``, the context added before RoIAlign.
    """
    cx, cy = (boxes[..., 0] + boxes[..., 2]) / 2, (boxes[..., 1] + boxes[..., 3]) / 2
    w, h = box_wh(boxes)
    w = (w * (1 + ratio)).clamp(min=min_size)
    h = (h * (1 + ratio)).clamp(min=min_size)
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1)


def roi_box(boxes: Tensor, context: float, size: tuple[int, int], min_size: float = 8.0) -> Tensor:
    """The RoI the MRN crops for a pixel-centre box (Sec. 3.3): context added, clipped.

    ``roi_align(aligned=True)`` and :func:`paste_masks` use *continuous*
    coordinates (pixel ``x`` covers ``[x, x + 1)``), while :func:`mask_to_box` gives the
    centres of the extreme pixels, so the box is first widened to ``[x1, x2 + 1]`` (the
    object's full extent), then grown by ``context`` (``w' = w (1 + context)``), then
    clipped to the frame ``[0, W] x [0, H]``.
    """
    H, W = size
    cont = boxes + boxes.new_tensor([0.0, 0.0, 1.0, 1.0])
    roi = enlarge_box(cont, context, min_size=min_size)
    x = roi[..., 0::2].clamp(0, W)
    y = roi[..., 1::2].clamp(0, H)
    return torch.stack([x[..., 0], y[..., 0], x[..., 1], y[..., 1]], dim=-1)


def box_to_csr(boxes: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Turn xyxy boxes into ``(center (..., 2), scale (...), ratio (...))``, as used for CRPN anchors (Sec. 3.2).

    ``scale = sqrt(w h)`` and ``ratio = h / w``. A zero-width box gets ``w`` clamped to 1e-6.
    """
    w, h = box_wh(boxes)
    center = torch.stack([(boxes[..., 0] + boxes[..., 2]) / 2,
                          (boxes[..., 1] + boxes[..., 3]) / 2], dim=-1)
    scale = (w * h).clamp(min=0).sqrt()
    ratio = h / w.clamp(min=_EPS)
    return center, scale, ratio


def csr_to_box(center: Tensor, scale: Tensor, ratio: Tensor) -> Tensor:
    """Inverse of :func:`box_to_csr`: ``w = s / sqrt(r)`` and ``h = s * sqrt(r)``. Broadcasts ``scale`` against ``ratio``."""
    scale, ratio = torch.broadcast_tensors(torch.as_tensor(scale), torch.as_tensor(ratio))
    sr = ratio.clamp(min=_EPS).sqrt()
    w, h = scale / sr, scale * sr
    cx, cy = center[..., 0], center[..., 1]
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1)


def jitter_boxes(boxes: torch.Tensor, amount: float, gen: torch.Generator | None = None) -> torch.Tensor:
    """Random shift/resize of boxes by up to ``amount`` of their size (training RoIs)."""
    w = (boxes[:, 2] - boxes[:, 0]).clamp(min=4)
    h = (boxes[:, 3] - boxes[:, 1]).clamp(min=4)
    r = (torch.rand(boxes.shape[0], 4, generator=gen, device="cpu").to(boxes.device) * 2 - 1) * amount
    return boxes + r * torch.stack([w, h, w, h], 1)


def roi_rows(boxes: Tensor, batch_index: Optional[Tensor], like: Tensor) -> Tensor:
    """``(N, 5)`` RoIs ``[b, x1, y1, x2, y2]`` in ``like``'s dtype/device, the format of
    :func:`torchvision.ops.roi_align` (``batch_index`` None: every box from image 0)."""
    boxes = boxes.reshape(-1, 4).to(device=like.device, dtype=like.dtype)
    if batch_index is None:
        b = boxes.new_zeros((boxes.shape[0], 1))
    else:
        b = batch_index.reshape(-1, 1).to(device=like.device, dtype=like.dtype)
    return torch.cat([b, boxes], dim=1)


def paste_masks(probs: Tensor, boxes: Tensor, image_size: Tuple[int, int]) -> Tensor:
    """Paste ``M x M`` RoI masks back into the frame (bilinear, ``grid_sample``).

    Pixel ``(x, y)`` (centre ``(x + .5, y + .5)``) inside box ``k`` samples the crop at the
    matching position -- the inverse of ``roi_align(aligned=True)`` -- with border padding
    (no fade at the box edge); pixels whose centre lies outside the box are 0.  A crop of
    ones therefore becomes exactly the pixels whose centres are inside the box.

    Args:
        probs: ``(K, 1, M, M)`` or ``(K, M, M)`` values (probabilities) in the RoI frame.
        boxes: ``(K, 4)`` xyxy pixels of the frame of size ``image_size = (H, W)``.
    Returns:
        ``(K, H, W)`` float.
    """
    if probs.dim() == 3:
        probs = probs[:, None]
    H, W = int(image_size[0]), int(image_size[1])
    K = probs.shape[0]
    if K == 0:
        return probs.new_zeros((0, H, W))
    probs = probs.float()
    boxes = boxes.reshape(-1, 4).to(probs.device).float()
    x1, y1, x2, y2 = [boxes[:, i].reshape(K, 1) for i in range(4)]
    xs = torch.arange(W, device=probs.device, dtype=torch.float32).reshape(1, W) + 0.5
    ys = torch.arange(H, device=probs.device, dtype=torch.float32).reshape(1, H) + 0.5
    gx = (xs - x1) / (x2 - x1).clamp(min=1e-6) * 2 - 1                   # (K, W)
    gy = (ys - y1) / (y2 - y1).clamp(min=1e-6) * 2 - 1                   # (K, H)
    grid = torch.stack([gx[:, None, :].expand(K, H, W), gy[:, :, None].expand(K, H, W)], dim=-1)
    out = F.grid_sample(probs, grid, mode="bilinear", padding_mode="border", align_corners=False)[:, 0]
    inside = ((xs > x1) & (xs < x2))[:, None, :] & ((ys > y1) & (ys < y2))[:, :, None]
    return out * inside.to(out.dtype)


def merge_masks(probs: Tensor, threshold: float = 0.5) -> Tensor:
    """K per-object probability maps -> one indexed mask ``(H, W)`` int64.

    ``id(x) = argmax_k p_k(x) + 1`` if ``max_k p_k(x) > threshold`` else ``0`` (background):
    overlaps go to the most confident object, ids follow the order of ``probs``.
    """
    if probs.dim() == 4:
        probs = probs[:, 0]
    if probs.shape[0] == 0:
        return torch.zeros(probs.shape[-2:], dtype=torch.int64, device=probs.device)
    pmax, arg = probs.max(dim=0)
    return torch.where(pmax > threshold, arg + 1, torch.zeros_like(arg)).to(torch.int64)


def foreground_box(fg: Tensor, margin: float, min_frac: float = 0.2,
                   fallback: Optional[Tensor] = None) -> Tensor:
    """The crop box around a foreground mask (DIPNet Sec. 3.3.1): its tight box grown by
    ``margin`` of its size on each side (:func:`roi_box`, continuous coordinates), at
    least ``min_frac`` of the shorter frame side, clipped to the frame.

    ``fg``: ``(N, H, W)`` bool; returns ``(N, 4)``.  An empty mask gets ``fallback`` (its
    row), else the whole frame.
    """
    boxes, valid = mask_to_box(fg)
    H, W = fg.shape[-2:]
    out = roi_box(boxes, 2 * margin, (H, W), min_size=min_frac * min(H, W))
    whole = fg.new_tensor([0.0, 0.0, W, H], dtype=torch.float32).expand_as(out)
    alt = whole if fallback is None else fallback.to(out).expand_as(out)
    return torch.where(valid[:, None], out, alt)


def crop_resize(x: Tensor, boxes: Tensor, size: Tuple[int, int]) -> Tensor:
    """Crop box ``n`` of ``boxes (N, 4)`` (continuous pixel coordinates of ``x``) out of
    image ``n`` of ``x (N, C, H, W)`` and resize it to ``size`` (RoIAlign, bilinear); the
    inverse of :func:`paste_masks`."""
    from torchvision.ops import roi_align
    idx = torch.arange(x.shape[0], device=x.device, dtype=x.dtype)[:, None]
    return roi_align(x, torch.cat([idx, boxes.to(x)], 1), tuple(size), 1.0, 2, True)
