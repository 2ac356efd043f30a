"""Deterministic synthetic videos in the DAVIS 2017 layout, with exact optical flow.

Every sequence is a stack of *layers* (one background, 1-3 annotated objects, unannotated
look-alike distractors).  Each layer has a texture in its own local coordinates and, per
frame ``t``, a similarity transform ``A_t`` (local -> image).  A pixel ``x`` of frame
``t`` shows the top-most layer whose shape contains ``A_t^{-1} x``, with that layer's
texture sampled at ``A_t^{-1} x``.  Because the texture is glued to the local
coordinates, the motion of every pixel is known exactly, and so is the ground-truth flow.

Flow convention (BACKWARD flow, pixel units, ``(dx, dy)`` = (column, row) offsets)::

    flow_t(x) = A_{t-1}(A_t^{-1} x) - x          (layer = the one visible at x in frame t)
    I_t(x)   ~= I_{t-1}(x + flow_t(x))

so backward warping (``cv2.remap`` or ``grid_sample``) of frame ``t-1`` -- or of mask
``t-1`` -- with ``flow_t`` gives frame ``t`` (mask ``t``).  Pixel centres sit at integer
coordinates (``grid_sample(..., align_corners=True)`` after normalising
``2 * (x + dx) / (W - 1) - 1``).  ``flow_0 = 0``.  ``valid_t(x)`` is true where the pixel
is visible in both frames: the source point ``x + flow_t(x)`` lies inside frame ``t-1``
and the same layer is the top-most one there (not occluded, not disoccluded).  Appearance
drift changes colours slowly, so brightness constancy holds only approximately.

Events that break plain mask propagation are scheduled on purpose and then *measured*
from the rendered masks: occlusion (distractors or other objects passing in front),
abrupt jumps (teleports by a sizable fraction of the frame), leaving and re-entering the
frame, non-rigid deformation, and appearance drift.  Difficulty presets ``easy`` /
``medium`` / ``hard`` control their rates, the speeds and the clutter.  Every object id
is fully visible in frame 0.

``Meta/<seq>.json`` holds, per frame ``t`` and object id ``k``: ``visible_frac`` (visible
pixels / the object's full area), ``in_frame_frac`` (area inside the frame, occluded or
not), ``occluded_frac`` (share of its in-frame area hidden by other layers),
``occluded`` (> 0.1) and ``occluder`` (the layer hiding most of it), ``out_of_frame``
(< half its area inside the frame), ``jump`` (teleported at this frame), ``absent``
(no visible pixel), ``box`` ``[x0, y0, x1, y1]`` of the visible pixels (x1, y1
exclusive; ``null`` when absent), ``center``, ``scale`` and ``speed`` (centre motion,
px/frame).  ``events`` lists ``jump``, ``occlusion`` / ``full_occlusion`` (``t`` ..
``t_end``, ``by``), ``out_of_frame`` (``t`` .. ``t_end``) and ``reenter``,
``fast_motion`` and ``appearance_drift``; ``scheduled`` is what the generator aimed for.

Written layout under ``ROOT``::

    JPEGImages/480p/<seq>/00000.jpg ...     RGB frames, JPEG quality 95
    Annotations/480p/<seq>/00000.png ...    indexed PNG (DAVIS palette), ids 0..K, all frames
    Flow/480p/<seq>/00001.npz ...           t >= 1: flow (H,W,2) float16, valid (H,W) bool
                                            (flow rounded to 1/32 px; ``vos_lib.data.load_flow``)
    ImageSets/2017/train.txt, val.txt       sequence names (train-000, ..., val-000, ...)
    Meta/<seq>.json                         per-frame per-object measurements + event list
    meta.json                               generator version, config, seeds; "complete": true
                                            is written last, atomically

CLI: ``python -m vos_lib.data.synthetic --root DIR [--n-train N --n-val N --n-frames T
--height H --width W --difficulty D --seed S --workers W]``.
"""
from __future__ import annotations

import argparse
import colorsys
import functools
import json
import math
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from ..io import atomic_write_bytes, replace_dir, write_frame, write_mask
from ..paths import file_lock, synthetic_root

GENERATOR_VERSION = "1.0"
GENERATOR_NAME = "vos_lib.synthetic"
_NB = 256                      # angular bins of the radial shape tables
_TWO_PI = 2.0 * math.pi
FLOW_QUANTUM = 1.0 / 32.0      # stored flow is rounded to this many pixels
FAST_MOTION = 0.06             # centre speed (x sqrt(H*W) px / frame) flagged "fast_motion"

#: Difficulty presets.  Speeds are in units of ``sqrt(H * W)`` per frame, sizes in units
#: of ``sqrt(H * W)`` (object *diameters*), probabilities are per object and sequence.
DIFFICULTY: dict[str, dict] = {
    "easy": dict(
        n_objects=(1, 2), n_wanderers=(0, 1), obj_diam=(0.20, 0.32),
        speed=0.008, turn=0.10, rot_speed=0.012, scale_var=0.06, deform=0.03,
        cam_speed=0.003, cam_zoom=0.03, cam_rot=0.0,
        p_occlusion=0.25, p_jump=0.0, p_out=0.10, drift=0.05, occluder_speed=(0.012, 0.022)),
    "medium": dict(
        n_objects=(1, 3), n_wanderers=(1, 2), obj_diam=(0.17, 0.30),
        speed=0.016, turn=0.18, rot_speed=0.03, scale_var=0.12, deform=0.07,
        cam_speed=0.007, cam_zoom=0.06, cam_rot=0.03,
        p_occlusion=0.5, p_jump=0.2, p_out=0.25, drift=0.15, occluder_speed=(0.015, 0.03)),
    "hard": dict(
        n_objects=(2, 3), n_wanderers=(1, 3), obj_diam=(0.15, 0.28),
        speed=0.026, turn=0.25, rot_speed=0.055, scale_var=0.2, deform=0.12,
        cam_speed=0.012, cam_zoom=0.10, cam_rot=0.06,
        p_occlusion=0.8, p_jump=0.45, p_out=0.45, drift=0.3, occluder_speed=(0.02, 0.04)),
}


# --------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------
@dataclass
class SyntheticConfig:
    """Size of the generated synthetic DAVIS-format dataset."""
    height: int = 96
    width: int = 160
    n_train: int = 60
    n_val: int = 20
    n_frames: int = 40
    difficulty: str = "medium"
    seed: int = 0


@dataclass
class SyntheticVideo:
    """One generated sequence (see the module docstring for the flow convention)."""
    frames: np.ndarray     # (T, H, W, 3) uint8
    masks: np.ndarray      # (T, H, W) uint8, ids 0..K
    flows: np.ndarray      # (T, H, W, 2) float32, backward flow, flows[0] = 0
    valid: np.ndarray      # (T, H, W) bool, valid[0] = False
    meta: dict = field(default_factory=dict)

    @property
    def n_objects(self) -> int:
        return int(self.meta.get("n_objects", int(self.masks.max(initial=0))))


# --------------------------------------------------------------------------------------
# small geometry helpers (2x3 affine matrices, local -> image)
# --------------------------------------------------------------------------------------
def _similarity(px: float, py: float, theta: float, s: float) -> np.ndarray:
    c, sn = math.cos(theta) * s, math.sin(theta) * s
    return np.array([[c, -sn, px], [sn, c, py]], dtype=np.float64)


def _inv(A: np.ndarray) -> np.ndarray:
    M = np.linalg.inv(A[:, :2])
    return np.concatenate([M, -M @ A[:, 2:]], axis=1)


def _compose(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """A o B (apply B first)."""
    return np.concatenate([A[:, :2] @ B[:, :2], A[:, :2] @ B[:, 2:] + A[:, 2:]], axis=1)


def _apply(A: np.ndarray, x: np.ndarray, y: np.ndarray):
    """Apply a 2x3 affine to coordinate arrays (keeps their float dtype)."""
    a, b, c, d, e, f = (float(q) for q in A.ravel())
    return a * x + b * y + c, d * x + e * y + f


def _scale_of(A: np.ndarray) -> float:
    return math.sqrt(abs(np.linalg.det(A[:, :2])))


# --------------------------------------------------------------------------------------
# textures
# --------------------------------------------------------------------------------------
def _fractal_noise(rng, h: int, w: int, cells: float, octaves: int = 4,
                   persistence: float = 0.55) -> np.ndarray:
    """Zero-mean, unit-std multi-scale value noise of shape (h, w); ``cells`` = number of
    lattice cells across the longer side at the coarsest octave."""
    out = np.zeros((h, w), np.float32)
    amp = 1.0
    side = max(h, w)
    for o in range(octaves):
        c = cells * (2 ** o)
        gh = max(2, int(round(c * h / side)) + 2)
        gw = max(2, int(round(c * w / side)) + 2)
        g = rng.standard_normal((gh, gw)).astype(np.float32)
        out += amp * cv2.resize(g, (w, h), interpolation=cv2.INTER_CUBIC)
        amp *= persistence
    out -= out.mean()
    out /= out.std() + 1e-6
    return out


def _hsv(h: float, s: float, v: float) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(h % 1.0, float(np.clip(s, 0, 1)),
                                        float(np.clip(v, 0, 1))), np.float32) * 255.0


def _palette_map(t: np.ndarray, colours: list[np.ndarray]) -> np.ndarray:
    """Map values ``t`` in [0, 1] through a piecewise-linear colour ramp."""
    n = len(colours)
    pos = np.clip(t, 0, 1) * (n - 1)
    i0 = np.minimum(pos.astype(np.int32), n - 2)
    w = (pos - i0)[..., None]
    cols = np.stack(colours)
    return cols[i0] * (1 - w) + cols[i0 + 1] * w


def _sigmoid(x):
    return 0.5 + 0.5 * np.tanh(0.5 * x)          # overflow-free logistic


def _background_texture(rng, h: int, w: int, unit: float) -> np.ndarray:
    """A cluttered natural-ish background: ramps of muted colours, stripes, blobs, bars
    and fine grain.  ``unit`` ~ sqrt(H*W) of the video, to keep feature sizes relative."""
    hue = rng.uniform()
    cols = [_hsv(hue + rng.uniform(-0.15, 0.15), rng.uniform(0.1, 0.45), rng.uniform(0.2, 0.8))
            for _ in range(4)]
    base = _fractal_noise(rng, h, w, cells=max(h, w) / unit * rng.uniform(1.5, 3.0), octaves=5)
    img = _palette_map(_sigmoid(1.3 * base), cols)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    # stripes (wood / fabric / floor tiles), warped by noise
    for _ in range(rng.integers(0, 3)):
        a = rng.uniform(0, np.pi)
        period = unit * rng.uniform(0.05, 0.2)
        warp = _fractal_noise(rng, h, w, cells=3, octaves=2) * rng.uniform(0, 2.0)
        s = np.sin(_TWO_PI * (xx * np.cos(a) + yy * np.sin(a)) / period + warp)
        m = _sigmoid(4 * s) * rng.uniform(0.15, 0.45)
        region = _sigmoid(2.5 * _fractal_noise(rng, h, w, cells=2, octaves=2) + rng.uniform(-1, 1))
        c = _hsv(rng.uniform(), rng.uniform(0.1, 0.5), rng.uniform(0.2, 0.9))
        m = (m * region)[..., None]
        img = img * (1 - m) + c * m
    # bars / rectangles (man-made structure)
    for _ in range(rng.integers(1, 6)):
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        bw, bh = unit * rng.uniform(0.05, 0.5), unit * rng.uniform(0.03, 0.3)
        a = rng.uniform(0, np.pi)
        u = (xx - cx) * np.cos(a) + (yy - cy) * np.sin(a)
        v = -(xx - cx) * np.sin(a) + (yy - cy) * np.cos(a)
        d = np.maximum(np.abs(u) - bw / 2, np.abs(v) - bh / 2)
        m = (_sigmoid(-d / 0.8) * rng.uniform(0.4, 0.9))[..., None]
        c = _hsv(rng.uniform(), rng.uniform(0.05, 0.5), rng.uniform(0.15, 0.95))
        img = img * (1 - m) + c * m
    # soft blobs
    for _ in range(rng.integers(3, 10)):
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        r = unit * rng.uniform(0.03, 0.15)
        d2 = ((xx - cx) ** 2 + ((yy - cy) * rng.uniform(0.6, 1.6)) ** 2) / (r * r)
        m = (np.exp(-d2 * d2) * rng.uniform(0.3, 0.8))[..., None]
        c = _hsv(rng.uniform(), rng.uniform(0.1, 0.6), rng.uniform(0.15, 0.95))
        img = img * (1 - m) + c * m
    # large-scale shading + fine grain (gives optical flow something to lock on)
    shade = 1.0 + 0.18 * _fractal_noise(rng, h, w, cells=2, octaves=2)
    grain = _fractal_noise(rng, h, w, cells=max(h, w) / 3.0, octaves=1)
    img = img * shade[..., None] + (rng.uniform(4, 10) * grain)[..., None]
    img = cv2.GaussianBlur(img.astype(np.float32), (0, 0), 0.6)
    return np.clip(img, 0, 255).astype(np.float32)


@dataclass
class _Family:
    """Colour/pattern family shared by an object and its look-alike distractors."""
    hue: float
    sat: float
    val: float
    pattern: str
    accent_dh: float


def _new_family(rng, hue: float) -> _Family:
    return _Family(hue=hue % 1.0, sat=rng.uniform(0.55, 0.95), val=rng.uniform(0.55, 1.0),
                   pattern=str(rng.choice(["noise", "stripes", "spots", "checker"])),
                   accent_dh=rng.uniform(-0.2, 0.2))


def _lookalike(rng, fam: _Family) -> _Family:
    pat = fam.pattern if rng.uniform() < 0.7 else str(
        rng.choice(["noise", "stripes", "spots", "checker"]))
    return _Family(hue=(fam.hue + rng.uniform(-0.05, 0.05)) % 1.0,
                   sat=float(np.clip(fam.sat + rng.uniform(-0.15, 0.1), 0.3, 1.0)),
                   val=float(np.clip(fam.val + rng.uniform(-0.15, 0.15), 0.35, 1.0)),
                   pattern=pat, accent_dh=fam.accent_dh + rng.uniform(-0.05, 0.05))


def _object_texture(rng, fam: _Family, size: int, r0: float) -> np.ndarray:
    """Square texture of side ``size`` centred on local (0, 0); ``r0`` = base radius."""
    c0 = _hsv(fam.hue, fam.sat, fam.val)
    c1 = _hsv(fam.hue + fam.accent_dh, fam.sat * 0.8, fam.val * rng.uniform(0.45, 0.8))
    c2 = _hsv(fam.hue - 0.5 * fam.accent_dh, fam.sat * 0.6, min(1.0, fam.val * 1.15))
    n = _fractal_noise(rng, size, size, cells=size / max(r0, 1.0) * 1.2, octaves=4)
    img = _palette_map(_sigmoid(1.5 * n), [c1, c0, c2])
    yy, xx = (np.mgrid[0:size, 0:size].astype(np.float32) - (size - 1) / 2.0)
    period = r0 * rng.uniform(0.35, 0.8)
    if fam.pattern == "stripes":
        a = rng.uniform(0, np.pi)
        s = np.sin(_TWO_PI * (xx * np.cos(a) + yy * np.sin(a)) / period + 0.8 * n)
        m = _sigmoid(5 * s)[..., None] * 0.7
        img = img * (1 - m) + c1 * m
    elif fam.pattern == "spots":
        for _ in range(rng.integers(3, 9)):
            sx, sy = rng.uniform(-r0, r0, size=2)
            rr = r0 * rng.uniform(0.12, 0.3)
            m = _sigmoid((rr - np.hypot(xx - sx, yy - sy)) / 0.7)[..., None] * 0.85
            img = img * (1 - m) + (c1 if rng.uniform() < 0.6 else c2) * m
    elif fam.pattern == "checker":
        a = rng.uniform(0, np.pi)
        u = xx * np.cos(a) + yy * np.sin(a)
        v = -xx * np.sin(a) + yy * np.cos(a)
        s = np.sin(np.pi * u / period) * np.sin(np.pi * v / period)
        m = _sigmoid(6 * s)[..., None] * 0.6
        img = img * (1 - m) + c2 * m
    # 3-D-ish shading: darker towards the rim, a highlight off-centre
    r = np.hypot(xx, yy) / max(r0, 1.0)
    hx, hy = rng.uniform(-0.4, 0.4, size=2) * r0
    hl = np.exp(-((xx - hx) ** 2 + (yy - hy) ** 2) / (0.5 * r0 * r0))
    shade = (1.0 - 0.3 * np.clip(r, 0, 1.3) ** 2 + 0.18 * hl)[..., None]
    grain = _fractal_noise(rng, size, size, cells=size / 2.5, octaves=1)[..., None]
    img = img * shade + 5.0 * grain
    img = cv2.GaussianBlur(img.astype(np.float32), (0, 0), 0.5)
    return np.clip(img, 0, 255).astype(np.float32)


# --------------------------------------------------------------------------------------
# shapes: star-convex radial tables r(theta), normalised to area pi
# --------------------------------------------------------------------------------------
def _circ_blur(tab: np.ndarray, sigma_bins: float) -> np.ndarray:
    k = np.arange(-int(3 * sigma_bins) - 1, int(3 * sigma_bins) + 2)
    g = np.exp(-0.5 * (k / sigma_bins) ** 2)
    g /= g.sum()
    out = np.zeros_like(tab)
    for kk, gg in zip(k, g):
        out += gg * np.roll(tab, kk)
    return out


def _area(tab: np.ndarray) -> float:
    return float(0.5 * np.sum(tab ** 2) * _TWO_PI / tab.shape[-1])


def _base_shape(rng) -> tuple[str, np.ndarray]:
    th = np.arange(_NB) * _TWO_PI / _NB
    kind = str(rng.choice(["ellipse", "polygon", "blob", "blob"]))
    if kind == "ellipse":
        a, b = 1.0, rng.uniform(0.5, 0.95)
        r = a * b / np.sqrt((b * np.cos(th)) ** 2 + (a * np.sin(th)) ** 2)
        r = r * (1 + 0.04 * np.cos(3 * th + rng.uniform(0, _TWO_PI)))
    elif kind == "polygon":
        n = int(rng.integers(3, 9))
        ang = np.sort((np.arange(n) + rng.uniform(-0.3, 0.3, n)) * _TWO_PI / n) + rng.uniform(0, _TWO_PI)
        rad = rng.uniform(0.65, 1.0, n)
        vx, vy = rad * np.cos(ang), rad * np.sin(ang)
        r = np.full(_NB, np.inf)
        dx, dy = np.cos(th), np.sin(th)
        for i in range(n):   # ray / edge intersection
            ax, ay, bx, by = vx[i], vy[i], vx[(i + 1) % n], vy[(i + 1) % n]
            ex, ey = bx - ax, by - ay
            den = dx * ey - dy * ex
            with np.errstate(divide="ignore", invalid="ignore"):
                tt = (ax * ey - ay * ex) / den
                ss = (ax * dy - ay * dx) / den
            ok = (np.abs(den) > 1e-9) & (tt > 0) & (ss >= -1e-9) & (ss <= 1 + 1e-9)
            r = np.where(ok, np.minimum(r, tt), r)
        r[~np.isfinite(r)] = rad.mean()
        r = _circ_blur(r, rng.uniform(2.0, 5.0))   # rounded corners
    else:
        r = np.ones(_NB)
        for k in range(2, 6):
            r += rng.normal(0, 0.16 / k) * np.cos(k * th + rng.uniform(0, _TWO_PI))
        r = np.maximum(r, 0.45)
    return kind, r / math.sqrt(_area(r) / math.pi)


def _deformed_tables(rng, base: np.ndarray, T: int, amp: float) -> np.ndarray:
    """(T, NB) radial tables: ``base`` times smooth, slowly changing harmonics."""
    th = np.arange(_NB) * _TWO_PI / _NB
    t = np.arange(T)[:, None]
    f = np.ones((T, _NB))
    for k in range(2, 5):
        a = amp * rng.uniform(0.4, 1.0) / (k - 1)
        w = _TWO_PI / rng.uniform(12, 40)
        f += a * np.sin(w * t + rng.uniform(0, _TWO_PI)) * np.cos(k * th + rng.uniform(0, _TWO_PI))
    return base[None] * np.maximum(f, 0.5)


# --------------------------------------------------------------------------------------
# layers and trajectories
# --------------------------------------------------------------------------------------
@dataclass
class _Layer:
    kind: str                   # "background" | "object" | "distractor"
    name: str
    obj_id: int                 # 1..K for objects, 0 otherwise
    A: np.ndarray               # (T, 2, 3) local -> image
    texture: np.ndarray         # (h, w, 3) float32
    origin: tuple               # texture pixel of local (0, 0)
    gain: np.ndarray            # (T, 3) appearance drift
    bias: np.ndarray            # (T, 3)
    radial: np.ndarray | None = None    # (T, NB) radius tables (local units)
    rmax: float = 0.0
    Ainv: np.ndarray | None = None
    jumps: tuple = ()                   # frames at which the layer teleports
    shape: str = "plane"                # ellipse | polygon | blob (plane = background)

    def __post_init__(self):
        self.Ainv = np.stack([_inv(a) for a in self.A])
        if self.radial is not None:
            self.radial = self.radial.astype(np.float32)


def _drift(rng, T: int, strength: float) -> tuple[np.ndarray, np.ndarray]:
    s = np.linspace(0.0, 1.0, T)[:, None]
    s = s * s * (3 - 2 * s)                       # smoothstep: slow start, slow end
    common = rng.uniform(-1, 1)
    per = rng.uniform(-1, 1, 3)
    gain = 1.0 + strength * (0.6 * common + 0.5 * per)[None] * s
    bias = strength * 25.0 * rng.uniform(-1, 1, 3)[None] * s
    return gain.astype(np.float32), bias.astype(np.float32)


def _smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _wander(rng, T: int, p0: np.ndarray, speed: float, turn: float, box, jump_at: dict,
            unit: float) -> tuple[np.ndarray, dict]:
    """Smooth random walk (heading random walk + steering back into ``box``); at the
    times in ``jump_at`` the position teleports to a far point of the box."""
    x0, y0, x1, y1 = box
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    pos = np.zeros((T, 2))
    p = np.array(p0, float)
    h = rng.uniform(0, _TWO_PI)
    sp = speed * rng.uniform(0.6, 1.4)
    done = {}
    for t in range(T):
        if t in jump_at:
            best, far = p, -1.0
            for _ in range(30):
                q = np.array([rng.uniform(x0, x1), rng.uniform(y0, y1)])
                d = float(np.hypot(*(q - p)))
                if d > far:
                    best, far = q, d
                if d >= jump_at[t] * unit:
                    break
            done[t] = float(far)
            p = best
        pos[t] = p
        h += rng.normal(0, turn)
        if not (x0 <= p[0] <= x1 and y0 <= p[1] <= y1):
            want = math.atan2(centre[1] - p[1], centre[0] - p[0])
            dh = (want - h + math.pi) % _TWO_PI - math.pi
            h += float(np.clip(dh, -0.5, 0.5))
        sp = float(np.clip(sp + rng.normal(0, 0.15 * speed), 0.3 * speed, 2.0 * speed))
        p = p + sp * np.array([math.cos(h), math.sin(h)])
    return pos, done


def _excursion(T: int, t0: int, ramp: int, hold: int, direction: np.ndarray,
               dist: float) -> np.ndarray:
    """(T, 2) offset that pushes an object out of the frame and brings it back."""
    t = np.arange(T, dtype=float)
    up = _smoothstep((t - t0) / ramp)
    down = 1.0 - _smoothstep((t - (t0 + ramp + hold)) / ramp)
    return (np.minimum(up, down) * dist)[:, None] * direction[None]


def _rot_scale(rng, T: int, s0: float, rot_speed: float, scale_var: float):
    t = np.arange(T, dtype=float)
    th = (rng.uniform(0, _TWO_PI) + rng.uniform(-1, 1) * rot_speed * t
          + rot_speed * rng.uniform(2, 6) * np.sin(_TWO_PI * t / rng.uniform(15, 45) + rng.uniform(0, _TWO_PI)))
    ls = scale_var * (np.sin(_TWO_PI * t / rng.uniform(20, 60) + rng.uniform(0, _TWO_PI))
                      + 0.5 * rng.uniform(-1, 1) * t / max(T - 1, 1))
    return th, s0 * np.exp(ls)


def _build_scene(rng, T: int, H: int, W: int, P: dict) -> tuple[list[_Layer], dict]:
    unit = math.sqrt(H * W)
    info: dict = {"scheduled": []}

    # ---- background with camera motion (pan + zoom + slight roll)
    t = np.arange(T, dtype=float)
    pan_dir = rng.uniform(0, _TWO_PI)
    pan_speed = P["cam_speed"] * unit * rng.uniform(0.3, 1.3)
    wob = P["cam_speed"] * unit * rng.uniform(0, 4) * np.stack(
        [np.sin(_TWO_PI * t / rng.uniform(20, 60) + rng.uniform(0, _TWO_PI)),
         np.sin(_TWO_PI * t / rng.uniform(20, 60) + rng.uniform(0, _TWO_PI))], 1)
    cam = pan_speed * t[:, None] * np.array([math.cos(pan_dir), math.sin(pan_dir)]) + wob
    zoom = np.exp(rng.uniform(-1, 1) * P["cam_zoom"] * t / max(T - 1, 1))
    roll = rng.uniform(-1, 1) * P["cam_rot"] * np.sin(_TWO_PI * t / rng.uniform(30, 80))
    # view extent in texture coordinates -> texture size (reflect padding as fallback)
    half = 0.5 * math.hypot(H, W) / zoom.min()
    ext = np.abs(cam).max(0)
    th_, tw_ = int(2 * (half + ext[1]) + 8), int(2 * (half + ext[0]) + 8)
    th_, tw_ = min(th_, 4 * H + 8), min(tw_, 4 * W + 8)
    bg_tex = _background_texture(rng, th_, tw_, unit)
    org = ((tw_ - 1) / 2.0, (th_ - 1) / 2.0)
    A_bg = []
    for k in range(T):
        # image = centre + zoom * R(roll) * (local - cam)
        c, s = math.cos(roll[k]) * zoom[k], math.sin(roll[k]) * zoom[k]
        M = np.array([[c, -s], [s, c]])
        b = np.array([(W - 1) / 2.0, (H - 1) / 2.0]) - M @ cam[k]
        A_bg.append(np.concatenate([M, b[:, None]], 1))
    g, b = _drift(rng, T, 0.3 * P["drift"])
    layers = [_Layer("background", "background", 0, np.stack(A_bg), bg_tex, org, g, b)]

    # ---- annotated objects
    K = int(rng.integers(P["n_objects"][0], P["n_objects"][1] + 1))
    hue0 = rng.uniform()
    fams, objs = [], []
    placed = []        # (x, y, radius) at t = 0
    for k in range(K):
        fam = _new_family(rng, hue0 + k / K + rng.uniform(-0.08, 0.08))
        fams.append(fam)
        diam = rng.uniform(*P["obj_diam"]) * unit
        r0 = diam / 2.0
        kind, base = _base_shape(rng)
        tabs = _deformed_tables(rng, base, T, P["deform"])
        rmax_u = float(tabs.max())
        th, sc = _rot_scale(rng, T, 1.0, P["rot_speed"], P["scale_var"])
        sc = sc / sc[0]                      # scale 1 at t = 0: diameter as drawn
        ext0 = r0 * rmax_u * 1.05 + 1.0
        # first-frame position: fully inside, not overlapping earlier objects
        for _ in range(200):
            p0 = np.array([rng.uniform(ext0, W - 1 - ext0), rng.uniform(ext0, H - 1 - ext0)])
            if all(math.hypot(p0[0] - x, p0[1] - y) > ext0 + r + 2 for x, y, r in placed):
                break
        else:
            p0 = None
        if p0 is None:
            if k == 0:
                raise _Retry
            K = k
            fams.pop()
            break
        placed.append((p0[0], p0[1], ext0))
        margin = 0.6 * r0
        box = (margin, margin, W - 1 - margin, H - 1 - margin)
        jump_at = {}
        out = None
        if T >= 8 and rng.uniform() < P["p_out"]:
            ramp = int(rng.integers(2, 5)) if P["speed"] > 0.02 else int(rng.integers(3, 7))
            hold = int(rng.integers(1, 5))
            lo, hi = max(2, int(0.15 * T)), T - 2 * ramp - hold - 1
            if hi > lo:
                out = (int(rng.integers(lo, hi)), ramp, hold)
        if T >= 6 and rng.uniform() < P["p_jump"]:
            for _ in range(20):
                tj = int(rng.integers(max(2, int(0.2 * T)), max(3, int(0.9 * T))))
                if out is None or not (out[0] - 1 <= tj <= out[0] + 2 * out[1] + out[2] + 1):
                    jump_at[tj] = rng.uniform(0.3, 0.5)
                    break
        pos, jumps = _wander(rng, T, p0, P["speed"] * unit, P["turn"], box, jump_at, unit)
        if out is not None:
            t0, ramp, hold = out
            pm = pos[t0 + ramp]
            # leave through the nearest border
            d = [pm[0], W - 1 - pm[0], pm[1], H - 1 - pm[1]]
            side = int(np.argmin(d))
            direction = np.array([[-1, 0], [1, 0], [0, -1], [0, 1]][side], float)
            dist = d[side] + r0 * rmax_u * sc.max() * 1.25 + 2 + P["speed"] * unit * (ramp + hold)
            pos = pos + _excursion(T, t0, ramp, hold, direction, dist)
            info["scheduled"].append({"object": k + 1, "event": "exit", "t": t0})
        for tj, d in jumps.items():
            info["scheduled"].append({"object": k + 1, "event": "jump", "t": tj, "distance": round(d, 1)})
        A = np.stack([_similarity(pos[i, 0], pos[i, 1], th[i], sc[i]) for i in range(T)])
        size = 2 * int(math.ceil(r0 * rmax_u)) + 8
        tex = _object_texture(rng, fam, size, r0)
        g, b = _drift(rng, T, P["drift"])
        lay = _Layer("object", f"object-{k + 1}", k + 1, A, tex, ((size - 1) / 2.0, (size - 1) / 2.0),
                     g, b, radial=tabs * r0, rmax=r0 * rmax_u, jumps=tuple(sorted(jumps)), shape=kind)
        objs.append(lay)
    rng.shuffle(objs)                         # z-order among objects is random

    # ---- distractors: look-alikes of the objects
    above, below = [], []

    def make_distractor(fam_src, diam_scale):
        fam = _lookalike(rng, fam_src)
        diam = rng.uniform(*P["obj_diam"]) * unit * diam_scale
        r0 = diam / 2.0
        kind, base = _base_shape(rng)
        tabs = _deformed_tables(rng, base, T, P["deform"])
        size = 2 * int(math.ceil(r0 * tabs.max())) + 8
        tex = _object_texture(rng, fam, size, r0)
        return r0, tabs, tex, kind

    def clear_at_t0(A0, rad):
        for o in objs:
            q = o.A[0][:, 2]
            if math.hypot(*(A0[:, 2] - q)) < rad * _scale_of(A0) + o.rmax * _scale_of(o.A[0]) + 3:
                return False
        return True

    n_d = 0
    # scheduled occluders: pass in front of an object around time tc
    for o in list(objs):
        if T < 6 or rng.uniform() >= P["p_occlusion"]:
            continue
        src = fams[o.obj_id - 1]
        r0, tabs, tex, kind = make_distractor(src, rng.uniform(0.8, 1.5))
        th, sc = _rot_scale(rng, T, 1.0, P["rot_speed"], P["scale_var"] * 0.5)
        sc = sc / sc[0]
        ok = False
        for _ in range(30):
            tc = int(rng.integers(max(3, int(0.2 * T)), max(4, int(0.9 * T))))
            target = o.A[tc][:, 2] + rng.normal(0, 0.15 * o.rmax, 2)
            sp = rng.uniform(*P["occluder_speed"]) * unit
            a = rng.uniform(0, _TWO_PI)
            v = sp * np.array([math.cos(a), math.sin(a)])
            wob_amp = rng.uniform(0, 0.3) * sp
            per = rng.uniform(10, 30)
            ph = rng.uniform(0, _TWO_PI)
            wob = wob_amp * np.sin(_TWO_PI * (t - tc) / per + ph)[:, None] * np.array([-v[1], v[0]]) / sp
            pos = target[None] + (t - tc)[:, None] * v[None] + wob
            A = np.stack([_similarity(pos[i, 0], pos[i, 1], th[i], sc[i]) for i in range(T)])
            if clear_at_t0(A[0], r0 * tabs[0].max()):
                ok = True
                break
        if not ok:
            continue
        n_d += 1
        g, b = _drift(rng, T, P["drift"])
        lay = _Layer("distractor", f"distractor-{n_d}", 0, A, tex, ((tex.shape[1] - 1) / 2.0,) * 2,
                     g, b, radial=tabs * r0, rmax=r0 * float(tabs.max()), shape=kind)
        above.append(lay)
        info["scheduled"].append({"object": o.obj_id, "event": "occluder", "t": tc, "by": lay.name})
    # wandering distractors, in front of or behind the objects
    for _ in range(int(rng.integers(P["n_wanderers"][0], P["n_wanderers"][1] + 1))):
        src = fams[int(rng.integers(0, K))]
        r0, tabs, tex, kind = make_distractor(src, rng.uniform(0.6, 1.1))
        th, sc = _rot_scale(rng, T, 1.0, P["rot_speed"], P["scale_var"])
        sc = sc / sc[0]
        front = rng.uniform() < 0.5
        for _ in range(50):
            p0 = np.array([rng.uniform(-0.1 * W, 1.1 * W), rng.uniform(-0.1 * H, 1.1 * H)])
            A0 = _similarity(p0[0], p0[1], th[0], sc[0])
            if not front or clear_at_t0(A0, r0 * tabs[0].max()):
                break
        else:
            front = False
        m = 0.3 * r0
        pos, _ = _wander(rng, T, p0, P["speed"] * unit * rng.uniform(0.7, 1.5), P["turn"],
                         (m, m, W - 1 - m, H - 1 - m), {}, unit)
        A = np.stack([_similarity(pos[i, 0], pos[i, 1], th[i], sc[i]) for i in range(T)])
        n_d += 1
        g, b = _drift(rng, T, P["drift"])
        lay = _Layer("distractor", f"distractor-{n_d}", 0, A, tex, ((tex.shape[1] - 1) / 2.0,) * 2,
                     g, b, radial=tabs * r0, rmax=r0 * float(tabs.max()), shape=kind)
        (above if front else below).append(lay)
    layers = layers + below + objs + above
    info["n_objects"] = K
    return layers, info


class _Retry(Exception):
    pass


# --------------------------------------------------------------------------------------
# rendering
# --------------------------------------------------------------------------------------
def _radius_at(tab: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    f = (np.arctan2(v, u) * (_NB / _TWO_PI)) % _NB
    i0 = f.astype(np.int32)
    w = f - i0
    i0 %= _NB
    return tab[i0] * (1 - w) + tab[(i0 + 1) % _NB] * w


def _box(L: _Layer, t: int, H: int, W: int):
    """Integer pixel box (y0, y1, x0, x1) that can contain layer L at frame t, or None."""
    cx, cy = L.A[t][:, 2]
    e = L.rmax * _scale_of(L.A[t]) + 2.0
    x0, x1 = max(0, int(math.floor(cx - e))), min(W, int(math.ceil(cx + e)) + 1)
    y0, y1 = max(0, int(math.floor(cy - e))), min(H, int(math.ceil(cy + e)) + 1)
    if x0 >= x1 or y0 >= y1:
        return None
    return y0, y1, x0, x1


@functools.lru_cache(maxsize=8)
def _grid(H: int, W: int):
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
    xs.setflags(write=False)
    ys.setflags(write=False)
    return xs, ys


def _render(layers: list[_Layer], t: int, H: int, W: int):
    """Render frame t.  Returns the colour image (H,W,3) float32, the index of the top
    layer per pixel (H,W) int16, and per layer ``(box, inside)`` -- the pixel box and the
    in-frame pixels its shape covers (``None`` when it covers none)."""
    xs, ys = _grid(H, W)
    img = np.zeros((H, W, 3), np.float32)
    top = np.zeros((H, W), np.int16)
    cover: list = [None] * len(layers)
    for li, L in enumerate(layers):
        if L.kind == "background":
            u, v = _apply(L.Ainv[t], xs, ys)
            col = cv2.remap(L.texture, u + np.float32(L.origin[0]), v + np.float32(L.origin[1]),
                            cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
            img = col * L.gain[t] + L.bias[t]
            top[:] = li
            cover[li] = ((0, H, 0, W), np.ones((H, W), bool))
            continue
        bx = _box(L, t, H, W)
        if bx is None:
            continue
        y0, y1, x0, x1 = bx
        u, v = _apply(L.Ainv[t], xs[y0:y1, x0:x1], ys[y0:y1, x0:x1])
        d = _radius_at(L.radial[t], u, v) - np.hypot(u, v)      # > 0 inside (local units)
        inside = d >= 0
        if not inside.any():
            continue
        cover[li] = (bx, inside)
        alpha = np.clip(d * np.float32(_scale_of(L.A[t])) + np.float32(0.5), 0.0, 1.0)[..., None]
        col = cv2.remap(L.texture, u + np.float32(L.origin[0]), v + np.float32(L.origin[1]),
                        cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        col = col * L.gain[t] + L.bias[t]
        sub = img[y0:y1, x0:x1]
        sub += alpha * (col - sub)
        top[y0:y1, x0:x1][inside] = li
    return img, top, cover


def _top_at(layers: list[_Layer], t: int, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Index of the top-most layer at arbitrary (continuous) points of frame t."""
    top = np.zeros(x.shape, np.int16)
    for li, L in enumerate(layers):
        if L.kind == "background":
            continue
        cx, cy = L.A[t][:, 2]
        e = L.rmax * _scale_of(L.A[t]) + 1.0
        near = np.nonzero((np.abs(x - np.float32(cx)) <= e) & (np.abs(y - np.float32(cy)) <= e))
        if not near[0].size:
            continue
        u, v = _apply(L.Ainv[t], x[near], y[near])
        inside = np.hypot(u, v) <= _radius_at(L.radial[t], u, v)
        top[tuple(i[inside] for i in near)] = li
    return top


def _flow(layers: list[_Layer], t: int, top: np.ndarray, cover: list, H: int, W: int):
    """Backward flow of frame t (see the module docstring) and its validity mask."""
    xs, ys = _grid(H, W)
    sx = np.empty((H, W), np.float32)
    sy = np.empty((H, W), np.float32)
    for li, L in enumerate(layers):
        M = _compose(L.A[t - 1], L.Ainv[t])          # frame-t image -> frame-(t-1) image
        if L.kind == "background":
            sx[:], sy[:] = _apply(M, xs, ys)
            continue
        if cover[li] is None:
            continue
        (y0, y1, x0, x1), _ = cover[li]
        sel = top[y0:y1, x0:x1] == li
        if not sel.any():
            continue
        a, b = _apply(M, xs[y0:y1, x0:x1][sel], ys[y0:y1, x0:x1][sel])
        sx[y0:y1, x0:x1][sel] = a
        sy[y0:y1, x0:x1][sel] = b
    flow = np.stack([sx - xs, sy - ys], -1)
    inside = (sx >= 0) & (sx <= W - 1) & (sy >= 0) & (sy <= H - 1)
    valid = inside & (_top_at(layers, t - 1, sx, sy) == top)
    return flow, valid


# --------------------------------------------------------------------------------------
# public API: one sequence
# --------------------------------------------------------------------------------------
def generate_sequence(seed: int, n_frames: int = 40, height: int = 96, width: int = 160,
                      difficulty: str = "medium") -> SyntheticVideo:
    """Generate one sequence, deterministically from ``seed`` (see module docstring)."""
    if difficulty not in DIFFICULTY:
        raise ValueError(f"unknown difficulty {difficulty!r}; choose one of {sorted(DIFFICULTY)}")
    if n_frames < 1 or height < 16 or width < 16:
        raise ValueError("need n_frames >= 1 and height, width >= 16")
    T, H, W = int(n_frames), int(height), int(width)
    P = DIFFICULTY[difficulty]
    rng = np.random.default_rng(int(seed))
    for attempt in range(100):
        try:
            layers, info = _build_scene(rng, T, H, W, P)
        except _Retry:
            continue
        img0, top0, cover0 = _render(layers, 0, H, W)
        ok = True
        for li, L in enumerate(layers):
            if L.kind == "object":
                full = _area(L.radial[0]) * _scale_of(L.A[0]) ** 2
                if (top0 == li).sum() < 0.97 * full:
                    ok = False
        if ok:
            break
    else:  # pragma: no cover - practically unreachable
        raise RuntimeError(f"seed {seed}: could not build a valid first frame")
    K = info["n_objects"]
    lid = np.array([L.obj_id for L in layers], np.uint8)

    frames = np.zeros((T, H, W, 3), np.uint8)
    masks = np.zeros((T, H, W), np.uint8)
    flows = np.zeros((T, H, W, 2), np.float32)
    valid = np.zeros((T, H, W), bool)
    obj_layers = {L.obj_id: li for li, L in enumerate(layers) if L.kind == "object"}
    per_frame = []
    for t in range(T):
        if t == 0:
            img, top, cover = img0, top0, cover0
        else:
            img, top, cover = _render(layers, t, H, W)
            flows[t], valid[t] = _flow(layers, t, top, cover, H, W)
        frames[t] = np.clip(np.rint(img), 0, 255).astype(np.uint8)
        masks[t] = lid[top]
        rec = {}
        for k in range(1, K + 1):
            li = obj_layers[k]
            L = layers[li]
            full = _area(L.radial[t]) * _scale_of(L.A[t]) ** 2
            vis_mask = top == li
            vis = int(vis_mask.sum())
            covered, occluder = 0, None
            if cover[li] is not None:
                (y0, y1, x0, x1), inside = cover[li]
                covered = int(inside.sum())
                hid = inside & (top[y0:y1, x0:x1] != li)
                if hid.any():   # who covers it: majority top layer over its hidden pixels
                    occluder = layers[int(np.bincount(top[y0:y1, x0:x1][hid]).argmax())].name
            occ_frac = 1.0 - vis / covered if covered else 0.0
            if vis:
                yy, xx = np.nonzero(vis_mask)
                box = [int(xx.min()), int(yy.min()), int(xx.max()) + 1, int(yy.max()) + 1]
            else:
                box = None
            c = L.A[t][:, 2]
            speed = float(np.hypot(*(L.A[t][:, 2] - L.A[t - 1][:, 2]))) if t else 0.0
            rec[str(k)] = {
                "visible_frac": round(min(1.0, vis / full), 4),
                "in_frame_frac": round(min(1.0, covered / full), 4),
                "occluded_frac": round(occ_frac, 4),
                "occluded": bool(occ_frac > 0.1),
                "occluder": occluder if occ_frac > 0.1 else None,
                "out_of_frame": bool(covered < 0.5 * full),
                "jump": t in L.jumps,
                "absent": vis == 0,
                "box": box,
                "center": [round(float(c[0]), 2), round(float(c[1]), 2)],
                "scale": round(_scale_of(L.A[t]), 4),
                "speed": round(speed, 2),
            }
        per_frame.append({"t": t, "objects": rec})

    events = _events(per_frame, K, T, fast=FAST_MOTION * math.sqrt(H * W))
    for k in range(1, K + 1):
        L = layers[obj_layers[k]]
        strength = float(np.abs(L.gain[-1] - 1).max() + np.abs(L.bias[-1]).max() / 255.0)
        if strength > 0.05:
            events.append({"t": 0, "t_end": T - 1, "object": k, "event": "appearance_drift",
                           "strength": round(strength, 3)})
    events.sort(key=lambda e: (e["t"], e["object"], e["event"]))
    meta = {
        "generator": GENERATOR_NAME, "version": GENERATOR_VERSION, "seed": int(seed),
        "n_objects": K, "n_frames": T, "height": H, "width": W, "difficulty": difficulty,
        "flow_convention": "backward: I_t(x) ~= I_{t-1}(x + flow_t(x)); flow_0 = 0",
        "layers": [{"name": L.name, "kind": L.kind, "id": L.obj_id, "shape": L.shape}
                   for L in layers],                  # bottom to top (z-order)
        "frames": per_frame, "events": events, "scheduled": info["scheduled"],
    }
    return SyntheticVideo(frames=frames, masks=masks, flows=flows, valid=valid, meta=meta)


def _runs(flags: list[bool]):
    t, n = 0, len(flags)
    while t < n:
        if flags[t]:
            s = t
            while t + 1 < n and flags[t + 1]:
                t += 1
            yield s, t
        t += 1


def _events(per_frame: list[dict], K: int, T: int, fast: float) -> list[dict]:
    """Top-level event list measured from the per-frame records."""
    ev = []
    for k in range(1, K + 1):
        recs = [f["objects"][str(k)] for f in per_frame]
        for t, r in enumerate(recs):
            if r["jump"]:
                ev.append({"t": t, "object": k, "event": "jump"})
        for s, e in _runs([r["occluded"] and not r["out_of_frame"] for r in recs]):
            occ = [r["occluder"] for r in recs[s:e + 1] if r["occluder"]]
            full = any(r["absent"] for r in recs[s:e + 1])
            ev.append({"t": s, "t_end": e, "object": k,
                       "event": "full_occlusion" if full else "occlusion",
                       "by": max(set(occ), key=occ.count) if occ else None})
        for s, e in _runs([r["out_of_frame"] for r in recs]):
            ev.append({"t": s, "t_end": e, "object": k, "event": "out_of_frame"})
            if e + 1 < T:
                ev.append({"t": e + 1, "object": k, "event": "reenter"})
        for s, e in _runs([r["speed"] > fast and not r["jump"] for r in recs]):
            ev.append({"t": s, "t_end": e, "object": k, "event": "fast_motion"})
    return ev


# --------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------


def _write_json(path: Path, obj) -> None:
    atomic_write_bytes(Path(path), (json.dumps(obj, indent=1) + "\n").encode())


def write_sequence(root, name: str, video: SyntheticVideo) -> None:
    """Write one sequence (frames, masks, flow, Meta json) under ``root`` in DAVIS layout."""
    import io as _io
    root = Path(root)
    T = video.frames.shape[0]
    for sub in ("JPEGImages", "Annotations", "Flow"):
        (root / sub / "480p" / name).mkdir(parents=True, exist_ok=True)
    for t in range(T):
        write_frame(root / "JPEGImages" / "480p" / name / f"{t:05d}.jpg", video.frames[t], quality=95)
        write_mask(root / "Annotations" / "480p" / name / f"{t:05d}.png", video.masks[t])
        if t >= 1:
            buf = _io.BytesIO()
            np.savez_compressed(buf, flow=quantize_flow(video.flows[t]), valid=video.valid[t])
            atomic_write_bytes(root / "Flow" / "480p" / name / f"{t:05d}.npz", buf.getvalue())
    _write_json(root / "Meta" / f"{name}.json", video.meta)


def quantize_flow(flow: np.ndarray) -> np.ndarray:
    """Round to multiples of ``FLOW_QUANTUM`` px and cast to float16, as stored on disk
    (error <= 1/64 px below 32 px of motion; it makes the npz files ~8x smaller)."""
    return (np.round(np.asarray(flow, np.float32) / FLOW_QUANTUM) * FLOW_QUANTUM).astype(np.float16)


# --------------------------------------------------------------------------------------
# datasets
# --------------------------------------------------------------------------------------
def sequence_seed(base_seed: int, split: str, index: int) -> int:
    """Seed of sequence ``index`` of ``split``; train and val seeds never coincide."""
    if not 0 <= index < 1_000_000:
        raise ValueError("index out of range")
    return (int(base_seed) * 2 + (0 if split == "train" else 1)) * 1_000_000 + int(index)


def _worker_init():
    cv2.setNumThreads(1)      # the pool already uses every core


def _job(args):
    root, name, seed, cfg = args
    v = generate_sequence(seed, n_frames=cfg["n_frames"], height=cfg["height"],
                          width=cfg["width"], difficulty=cfg["difficulty"])
    write_sequence(root, name, v)
    return name, {k: v.meta[k] for k in ("n_objects",)}, [e["event"] for e in v.meta["events"]]


def _is_ours(root: Path) -> bool:
    try:
        return json.loads((root / "meta.json").read_text()).get("generator") == GENERATOR_NAME
    except (OSError, ValueError):
        return False


def generate_dataset(root, cfg: SyntheticConfig | None = None, *, workers: int | None = None,
                     progress: bool = True, **overrides) -> Path:
    """Write the whole dataset to ``root`` (built in a temp dir next to it, renamed into
    place at the end; an existing dataset written by this module is replaced)."""
    cfg = replace(cfg or SyntheticConfig(), **overrides)
    if cfg.difficulty not in DIFFICULTY:
        raise ValueError(f"unknown difficulty {cfg.difficulty!r}")
    root = Path(root)
    if root.exists() and any(root.iterdir()) and not _is_ours(root):
        raise FileExistsError(f"{root}: exists, is not empty and holds no dataset of "
                              f"{GENERATOR_NAME}; refusing to overwrite it")
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=root.parent, prefix=f".{root.name}.tmp-"))
    t_start = time.time()
    try:
        c = asdict(cfg)
        jobs = ([(str(tmp), f"train-{i:03d}", sequence_seed(cfg.seed, "train", i), c)
                 for i in range(cfg.n_train)]
                + [(str(tmp), f"val-{i:03d}", sequence_seed(cfg.seed, "val", i), c)
                   for i in range(cfg.n_val)])
        import multiprocessing as mp
        if workers is None:
            workers = min(2, os.cpu_count() or 1)
        workers = max(1, min(int(workers), len(jobs)))
        if mp.current_process().daemon:        # daemonic processes may not have children
            workers = 1
        from tqdm.auto import tqdm
        bar = tqdm(total=len(jobs), desc="synthetic videos", unit="seq", disable=not progress)
        results = {}
        try:
            if workers > 1 and len(jobs) >= 4:
                with mp.get_context("spawn").Pool(workers, initializer=_worker_init) as pool:
                    for name, info, ev in pool.imap_unordered(_job, jobs):
                        results[name] = (info, ev)
                        bar.update(1)
            else:
                for j in jobs:
                    name, info, ev = _job(j)
                    results[name] = (info, ev)
                    bar.update(1)
        finally:
            bar.close()
        isets = tmp / "ImageSets" / "2017"
        isets.mkdir(parents=True, exist_ok=True)
        for split in ("train", "val"):
            names = [j[1] for j in jobs if j[1].startswith(split + "-")]
            atomic_write_bytes(isets / f"{split}.txt", "".join(n + "\n" for n in names).encode())
        counts: dict = {}
        for _, ev in results.values():
            for e in ev:
                counts[e] = counts.get(e, 0) + 1
        meta = {
            "generator": GENERATOR_NAME, "version": GENERATOR_VERSION, "config": c,
            "seed": cfg.seed,
            "sequences": {j[1]: {"seed": j[2], "n_objects": results[j[1]][0]["n_objects"]}
                          for j in jobs},
            "event_counts": dict(sorted(counts.items())),
            "flow_convention": "backward: I_t(x) ~= I_{t-1}(x + flow_t(x)); Flow/480p/<seq>/"
                               "%05d.npz for t >= 1 with flow (H,W,2) float16 (dx,dy) and "
                               "valid (H,W) bool",
            "generation_seconds": round(time.time() - t_start, 2),
            "created_unix": time.time(),
        }
        _write_json(tmp / "meta.json", meta)
        meta["complete"] = True
        _write_json(tmp / "meta.json", meta)        # the completion marker goes in last
        replace_dir(tmp, root)                      # swap into place
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return root


def is_complete(root, cfg: SyntheticConfig | None = None) -> bool:
    """True when ``root/meta.json`` marks a finished dataset of this generator version
    (and, when ``cfg`` is given, of that configuration)."""
    try:
        meta = json.loads((Path(root) / "meta.json").read_text())
    except (OSError, ValueError):
        return False
    if not (meta.get("complete") is True and meta.get("generator") == GENERATOR_NAME
            and meta.get("version") == GENERATOR_VERSION):
        return False
    return cfg is None or meta.get("config") == asdict(cfg)


def ensure_dataset(root=None, cfg: SyntheticConfig | None = None, *, progress: bool = True,
                   workers: int | None = None) -> Path:
    """Return ``root`` holding a finished dataset for ``cfg``, generating it if needed.

    Safe with several processes at once: the generation runs under a file lock next to
    ``root``; a second process waits, then finds the dataset complete.
    """
    root = Path(root) if root is not None else synthetic_root()
    cfg = cfg or SyntheticConfig()
    if is_complete(root, cfg):
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(root.parent / (root.name + ".lock")):
        if is_complete(root, cfg):
            return root
        _remove_stale(root)
        return generate_dataset(root, cfg, workers=workers, progress=progress)


def _remove_stale(root: Path) -> None:
    """Remove temp dirs left by a crashed generation (call only under the lock)."""
    for p in root.parent.glob(f".{root.name}.tmp-*"):
        shutil.rmtree(p, ignore_errors=True)
    for p in root.parent.glob(f".{root.name}.old-*"):
        shutil.rmtree(p, ignore_errors=True)


# --------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------
def main(argv=None) -> int:
    d = SyntheticConfig()
    ap = argparse.ArgumentParser(prog="python -m vos_lib.data.synthetic",
                                 description="Generate the synthetic DAVIS-format dataset.")
    ap.add_argument("--root", type=Path, default=None,
                    help=f"output directory (default: {synthetic_root()})")
    ap.add_argument("--n-train", type=int, default=d.n_train)
    ap.add_argument("--n-val", type=int, default=d.n_val)
    ap.add_argument("--n-frames", type=int, default=d.n_frames)
    ap.add_argument("--height", type=int, default=d.height)
    ap.add_argument("--width", type=int, default=d.width)
    ap.add_argument("--difficulty", choices=sorted(DIFFICULTY), default=d.difficulty)
    ap.add_argument("--seed", type=int, default=d.seed)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--force", action="store_true", help="regenerate even if complete")
    a = ap.parse_args(argv)
    cfg = SyntheticConfig(height=a.height, width=a.width, n_train=a.n_train, n_val=a.n_val,
                          n_frames=a.n_frames, difficulty=a.difficulty, seed=a.seed)
    root = a.root or synthetic_root()
    t0 = time.time()
    if a.force:
        root.parent.mkdir(parents=True, exist_ok=True)
        with file_lock(root.parent / (root.name + ".lock")):
            _remove_stale(root)
            generate_dataset(root, cfg, workers=a.workers)
    else:
        ensure_dataset(root, cfg, workers=a.workers)
    size = sum(p.stat().st_size for p in Path(root).rglob("*") if p.is_file())
    print(f"{root}: {cfg.n_train} train + {cfg.n_val} val sequences, "
          f"{size / 2**20:.1f} MiB, {time.time() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
