"""Paired geometric and photometric augmentation of DAVIS-format samples.

Geometry convention: pixel centres sit at integer coordinates ``(x, y)``; an affine
transform is a 2x3 matrix ``A`` mapping *input* pixel coordinates to *output* pixel
coordinates, ``y = A[:, :2] @ x + A[:, 2]`` (the same convention as ``cv2.warpAffine``).
If two frames are transformed by the same ``A``, a backward flow ``f`` becomes
``g(y) = L f(A^-1 y)`` with ``L = A[:, :2]`` -- a flip negates dx, a scale multiplies,
a rotation rotates the vectors and a crop/shift changes nothing.  Masks keep the void
label 255; pixels brought in from outside the source are background (0) / black.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional, Sequence as Seq

import cv2
import numpy as np

from ..io import VOID

# ----------------------------------------------------------------------------------------
# Geometry
# ----------------------------------------------------------------------------------------

def _h(A: np.ndarray) -> np.ndarray:
    """2x3 -> 3x3 homogeneous."""
    return np.vstack([np.asarray(A, np.float64).reshape(2, 3), [0.0, 0.0, 1.0]])


def compose_affine(*mats) -> np.ndarray:
    """``compose_affine(B, A)`` is "first A, then B" (matrix product ``B @ A``), as 2x3."""
    M = np.eye(3)
    for A in mats:
        M = M @ _h(A)
    return M[:2]


def invert_affine(A: np.ndarray) -> np.ndarray:
    return np.linalg.inv(_h(A))[:2]


def affine_matrix(in_hw, out_hw, *, flip: bool = False, scale: float = 1.0,
                  angle: float = 0.0, shift=(0.0, 0.0), scale_xy=None) -> np.ndarray:
    """2x3 input->output matrix: horizontal ``flip``, then ``scale`` (or per-axis
    ``scale_xy``) and rotation by ``angle`` degrees (counter-clockwise as displayed) about
    the input centre, which lands at the output centre plus ``shift`` = (dx, dy) pixels.
    With pixel centres at integers, ``scale = W/w`` maps the image edges onto each other.
    """
    h, w = in_hw
    H, W = out_hw
    c_in = np.array([(w - 1) / 2.0, (h - 1) / 2.0])
    c_out = np.array([(W - 1) / 2.0, (H - 1) / 2.0])
    sx, sy = (scale, scale) if scale_xy is None else scale_xy
    a = math.radians(angle)
    R = np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])  # y axis points down
    L = R @ np.diag([sx, sy]) @ np.diag([-1.0 if flip else 1.0, 1.0])
    b = c_out + np.asarray(shift, np.float64) - L @ c_in
    return np.hstack([L, b[:, None]])


def resize_affine(in_hw, out_hw) -> np.ndarray:
    """The (aspect-changing) resize of ``in_hw`` onto ``out_hw`` as a 2x3 matrix."""
    return affine_matrix(in_hw, out_hw, scale_xy=(out_hw[1] / in_hw[1], out_hw[0] / in_hw[0]))


def sample_affine(rng: np.random.Generator, in_hw, out_hw, *, flip_p: float = 0.5,
                  scale_range=(0.85, 1.3), max_rotation: float = 10.0) -> np.ndarray:
    """Random flip / scale / rotation / crop position mapping ``in_hw`` onto ``out_hw``.

    Scale is relative to the aspect-preserving scale that just covers the output
    (log-uniform in ``scale_range``); the crop position is uniform over the positions
    keeping the scaled image over the output (or the output over the image)."""
    h, w = in_hw
    H, W = out_hw
    cover = max(H / h, W / w)
    lo, hi = scale_range
    s = cover * math.exp(rng.uniform(math.log(lo), math.log(hi)))
    angle = rng.uniform(-max_rotation, max_rotation) if max_rotation > 0 else 0.0
    flip = bool(rng.random() < flip_p)
    ex, ey = abs(s * w - W) / 2.0, abs(s * h - H) / 2.0
    shift = (rng.uniform(-ex, ex), rng.uniform(-ey, ey))
    return affine_matrix(in_hw, out_hw, flip=flip, scale=s, angle=angle, shift=shift)


def _linear_scale(A: np.ndarray) -> float:
    return float(math.sqrt(abs(np.linalg.det(np.asarray(A)[:, :2]))))


def warp_image(img: np.ndarray, A: np.ndarray, out_hw, *, antialias: bool = True) -> np.ndarray:
    """Bilinear warp of an ``(H, W[, C])`` image; outside the source is 0.  When ``A``
    shrinks by more than 2x the image is first area-downscaled (same geometry)."""
    img = np.asarray(img)
    A = np.asarray(A, np.float64)
    H, W = out_hw
    s = _linear_scale(A)
    if antialias and s < 0.5 and min(img.shape[:2]) > 1:
        h, w = img.shape[:2]
        ph, pw = max(1, round(h * s * 1.5)), max(1, round(w * s * 1.5))
        img = cv2.resize(img, (pw, ph), interpolation=cv2.INTER_AREA)
        A = compose_affine(A, invert_affine(resize_affine((h, w), (ph, pw))))
    return cv2.warpAffine(img, A, (W, H), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def warp_mask(mask: np.ndarray, A: np.ndarray, out_hw, *, fill: int = 0) -> np.ndarray:
    """Nearest-neighbour warp of an id mask (ids, including 255, are preserved)."""
    H, W = out_hw
    return cv2.warpAffine(np.asarray(mask, np.uint8), np.asarray(A, np.float64), (W, H),
                          flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=int(fill))


def _grid(hw) -> tuple:
    H, W = hw
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float64)
    return xs, ys


def _apply(A: np.ndarray, xs, ys) -> tuple:
    return (A[0, 0] * xs + A[0, 1] * ys + A[0, 2], A[1, 0] * xs + A[1, 1] * ys + A[1, 2])


def _inside(xs, ys, hw, eps: float = 1e-6) -> np.ndarray:
    H, W = hw
    return (xs >= -eps) & (xs <= W - 1 + eps) & (ys >= -eps) & (ys <= H - 1 + eps)


def warp_flow(flow: np.ndarray, valid: Optional[np.ndarray], A: np.ndarray, out_hw) -> tuple:
    """Transform a backward flow when *both* frames get the same transform ``A``.

    Returns ``(g, g_valid)``: ``g(y) = L f(A^-1 y)``; ``g_valid`` is the warped ``valid``
    restricted to pixels whose source and whose flow target both lie inside the input
    frame and whose flow target lies inside the output frame."""
    flow = np.asarray(flow, np.float32)
    in_hw = flow.shape[:2]
    A = np.asarray(A, np.float64)
    if valid is None:
        valid = np.ones(in_hw, bool)
    H, W = out_hw
    g = cv2.warpAffine(flow, A, (W, H), flags=cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    L = A[:, :2]
    g = (g.reshape(-1, 2) @ L.T.astype(np.float32)).reshape(H, W, 2).astype(np.float32)
    v = warp_mask(np.asarray(valid, np.uint8), A, out_hw) > 0
    Ai = invert_affine(A)
    xs, ys = _grid(out_hw)
    v &= _inside(*_apply(Ai, xs, ys), in_hw)
    tx, ty = xs + g[..., 0], ys + g[..., 1]
    v &= _inside(tx, ty, out_hw)
    v &= _inside(*_apply(Ai, tx, ty), in_hw)
    g[~v] = 0.0
    return g, v


def affine_flow(A_prev: np.ndarray, A_cur: np.ndarray, out_hw, src_hw) -> tuple:
    """Exact backward flow cur->prev when prev and cur are two affine warps (``A_prev``,
    ``A_cur``: source->frame) of one source image of size ``src_hw``.

    ``flow(y) = A_prev A_cur^-1 y - y``; valid where the source point lies inside the
    source image and the target inside the prev frame."""
    M = compose_affine(A_prev, invert_affine(A_cur))
    xs, ys = _grid(out_hw)
    zx, zy = _apply(M, xs, ys)
    flow = np.stack([zx - xs, zy - ys], -1).astype(np.float32)
    valid = _inside(zx, zy, out_hw) & _inside(*_apply(invert_affine(A_cur), xs, ys), src_hw)
    flow[~valid] = 0.0
    return flow, valid


def backward_warp(img: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Sample ``img`` (the previous frame) at ``x + flow(x)`` (bilinear): with the backward
    flow of frame t this reconstructs frame t from frame t-1."""
    H, W = flow.shape[:2]
    xs, ys = np.meshgrid(np.arange(W, dtype=np.float32), np.arange(H, dtype=np.float32))
    return cv2.remap(np.asarray(img), xs + flow[..., 0], ys + flow[..., 1],
                     interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


# ----------------------------------------------------------------------------------------
# Augmentation
# ----------------------------------------------------------------------------------------

def photometric_jitter(images: list, rng: np.random.Generator, *, brightness: float = 0.1,
                       contrast: float = 0.1, saturation: float = 0.1,
                       same_for_all: bool = True) -> list:
    """Mild colour jitter of uint8 RGB images: brightness (multiplicative), contrast
    (about the image mean) and saturation (about the per-pixel grey), factors uniform in
    ``1 +- amount``.  By default one draw is shared by every image of the list, so that
    brightness constancy between frames (which the flow relies on) is kept."""
    out = []
    draw = None
    for img in images:
        if draw is None or not same_for_all:
            draw = (1 + rng.uniform(-brightness, brightness), 1 + rng.uniform(-contrast, contrast),
                    1 + rng.uniform(-saturation, saturation))
        b, c, s = draw
        img = np.ascontiguousarray(img, dtype=np.uint8)
        mu = float(np.mean(cv2.mean(img)[:3]))
        S = s * np.eye(3) + (1 - s) / 3.0 * np.ones((3, 3))   # rows sum to 1
        M = np.hstack([c * b * S, np.full((3, 1), (1 - c) * b * mu)])
        out.append(cv2.transform(img, M))  # rounds and saturates to uint8
    return out


@dataclass
class AugmentResult:
    images: list
    masks: list
    flows: list
    flow_valid: list
    matrix: np.ndarray = field(default_factory=lambda: np.eye(3)[:2])


class PairedAugment:
    """The same random geometric transform for a list of images, masks and flows.

    Horizontal flip, scale, rotation and crop to ``out_hw`` (images bilinear, masks
    nearest, flows transformed as vectors, see :func:`warp_flow`), then mild photometric
    jitter of the images only.  ``geometric=False`` gives a plain resize to ``out_hw``.
    Call with a ``numpy.random.Generator``; the same generator state gives the same output.
    """

    def __init__(self, out_hw, *, geometric: bool = True, flip_p: float = 0.5,
                 scale_range=(0.85, 1.3), max_rotation: float = 10.0, photometric: bool = True,
                 brightness: float = 0.1, contrast: float = 0.1, saturation: float = 0.1):
        self.out_hw = tuple(int(v) for v in out_hw)
        self.geometric = geometric
        self.flip_p = flip_p
        self.scale_range = scale_range
        self.max_rotation = max_rotation
        self.photometric = photometric
        self.jitter = dict(brightness=brightness, contrast=contrast, saturation=saturation)

    def sample_matrix(self, rng: np.random.Generator, in_hw) -> np.ndarray:
        if not self.geometric:
            return resize_affine(in_hw, self.out_hw)
        return sample_affine(rng, in_hw, self.out_hw, flip_p=self.flip_p,
                             scale_range=self.scale_range, max_rotation=self.max_rotation)

    def apply(self, A, images=(), masks=(), flows=(), flow_valid=None) -> AugmentResult:
        """Apply a given matrix ``A`` (no randomness, no photometric jitter)."""
        flows = list(flows)
        if flow_valid is None:
            flow_valid = [None] * len(flows)
        imgs = [warp_image(i, A, self.out_hw) for i in images]
        ms = [None if m is None else warp_mask(m, A, self.out_hw) for m in masks]
        fs, vs = [], []
        for f, v in zip(flows, flow_valid):
            if f is None:
                fs.append(None)
                vs.append(None)
            else:
                g, gv = warp_flow(f, v, A, self.out_hw)
                fs.append(g)
                vs.append(gv)
        return AugmentResult(imgs, ms, fs, vs, np.asarray(A, np.float64))

    def __call__(self, rng: np.random.Generator, images=(), masks=(), flows=(),
                 flow_valid=None) -> AugmentResult:
        images = list(images)
        first = images[0] if images else next(m for m in masks if m is not None)
        A = self.sample_matrix(rng, np.asarray(first).shape[:2])
        res = self.apply(A, images, masks, flows, flow_valid)
        if self.photometric and res.images:
            res.images = photometric_jitter(res.images, rng, **self.jitter)
        return res


def remap_ids(masks: list, ids: Seq[int]) -> list:
    """Map ``ids[k]`` -> ``k + 1`` in every mask; any other id -> 0; void 255 stays 255."""
    lut = np.zeros(256, np.uint8)
    for k, i in enumerate(ids):
        lut[int(i)] = k + 1
    lut[VOID] = VOID
    return [None if m is None else lut[np.asarray(m, np.uint8)] for m in masks]
