"""Torch datasets over DAVIS-format videos: clips for video training, static pairs for
pre-training (pairs made from one frame by a random affine, with their exact flow)."""
from __future__ import annotations

import math
from typing import Optional

import cv2
import numpy as np
import torch

from ..io import DataFormatError, object_ids
from .augment import (PairedAugment, affine_flow, affine_matrix, compose_affine, photometric_jitter,
                      remap_ids, resize_affine, warp_image, warp_mask)
from .davis import DAVIS, Sequence

# ----------------------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------------------

def resize(x: np.ndarray, size, *, kind: str = "image") -> np.ndarray:
    """Resize to ``size = (H, W)``.  ``kind``: ``"image"`` (area when shrinking, else
    bilinear), ``"mask"`` (nearest, pixel-centre exact) or ``"flow"`` (bilinear, vectors
    rescaled)."""
    x = np.asarray(x)
    H, W = size
    h, w = x.shape[:2]
    if kind == "mask":
        ri = np.minimum(((np.arange(H) + 0.5) * h / H).astype(np.int64), h - 1)
        ci = np.minimum(((np.arange(W) + 0.5) * w / W).astype(np.int64), w - 1)
        return x[ri][:, ci]
    if (h, w) == (H, W):
        return x.copy()
    if kind == "image":
        interp = cv2.INTER_AREA if H < h and W < w else cv2.INTER_LINEAR
        return cv2.resize(x, (W, H), interpolation=interp)
    if kind == "flow":
        f = cv2.resize(x.astype(np.float32), (W, H), interpolation=cv2.INTER_LINEAR)
        return f * np.array([W / w, H / h], np.float32)
    raise ValueError(f"kind must be 'image', 'mask' or 'flow', got {kind!r}")


def pad_to_multiple(x, multiple: int = 32, *, value=0):
    """Pad the last two dims (torch ``(..., H, W)``) or the first two (numpy
    ``(H, W[, C])``) at the bottom/right up to a multiple.  Returns ``(padded, (H, W))``
    with the original size for :func:`unpad`."""
    if isinstance(x, torch.Tensor):
        H, W = x.shape[-2:]
        ph, pw = (-H) % multiple, (-W) % multiple
        if ph or pw:
            x = torch.nn.functional.pad(x, (0, pw, 0, ph), value=value)
        return x, (int(H), int(W))
    x = np.asarray(x)
    H, W = x.shape[:2]
    ph, pw = (-H) % multiple, (-W) % multiple
    if ph or pw:
        pad = [(0, ph), (0, pw)] + [(0, 0)] * (x.ndim - 2)
        x = np.pad(x, pad, constant_values=value)
    return x, (H, W)


def unpad(x, hw):
    H, W = hw
    if isinstance(x, torch.Tensor):
        return x[..., :H, :W]
    return np.asarray(x)[:H, :W]


def to_tensor_image(img: np.ndarray) -> torch.Tensor:
    """``(H, W, 3)`` uint8 -> ``(3, H, W)`` float32 in [0, 1]."""
    img = np.asarray(img)
    out = torch.empty((3, *img.shape[:2]), dtype=torch.float32)
    out.copy_(torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1))
    return out.mul_(1.0 / 255.0)


def _to_tensor_mask(m: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(m).astype(np.int64))


# ----------------------------------------------------------------------------------------
# Sources (one video, from disk or memory)
# ----------------------------------------------------------------------------------------

class _DavisSource:
    def __init__(self, davis: DAVIS, seq: str):
        self.davis, self.name = davis, seq
        self.n_frames = davis.num_frames(seq)
        self.annotated = davis.annotated_frames(seq)

    def frame(self, t):
        return self.davis.read_frame(self.name, t)

    def mask(self, t):
        return self.davis.read_mask(self.name, t)

    def flow(self, t):
        return self.davis.read_flow(self.name, t)


class _MemSource:
    def __init__(self, seq: Sequence):
        self.seq, self.name = seq, seq.name
        self.n_frames = len(seq.frames)
        self.annotated = seq.annotated

    def frame(self, t):
        return self.seq.frames[t]

    def mask(self, t):
        return self.seq.masks[t]

    def flow(self, t):
        if self.seq.flows is None or self.seq.flows[t] is None:
            return None
        v = self.seq.flow_valid[t] if self.seq.flow_valid is not None else None
        return self.seq.flows[t], v


def _sources(data, *, preload: bool = False, allow_pairs: bool = False) -> list:
    items = data if isinstance(data, (list, tuple)) and not _is_pair(data) else [data]
    out = []
    for k, d in enumerate(items):
        if isinstance(d, DAVIS):
            for s in d.sequences:
                out.append(_MemSource(d.load_sequence(s)) if preload else _DavisSource(d, s))
        elif isinstance(d, Sequence):
            out.append(_MemSource(d))
        elif allow_pairs and _is_pair(d):
            img, m = np.asarray(d[0]), np.asarray(d[1], np.uint8)
            if img.shape[:2] != m.shape:
                raise DataFormatError(f"static item {k}: image {img.shape} and mask {m.shape} "
                                      f"sizes differ")
            out.append(_MemSource(Sequence(f"static{k:06d}", img[None], [m], tuple(object_ids(m)))))
        else:
            raise TypeError(f"expected a DAVIS, a Sequence{', an (image, mask) pair' if allow_pairs else ''}"
                            f" or a list of those, got {type(d).__name__}")
    return out


def _is_pair(d) -> bool:
    return (isinstance(d, tuple) and len(d) == 2 and isinstance(d[0], np.ndarray)
            and isinstance(d[1], np.ndarray))


def _check_shapes(name, t, img, mask):
    if mask is not None and mask.shape != img.shape[:2]:
        raise DataFormatError(f"sequence {name!r} frame {t}: mask size {mask.shape} does not "
                              f"match frame size {img.shape[:2]}")


class _Base(torch.utils.data.Dataset):
    def __init__(self, seed: int, samples_per_epoch: Optional[int]):
        self.seed = int(seed)
        self.epoch = 0
        self.samples_per_epoch = samples_per_epoch

    def set_epoch(self, epoch: int) -> None:
        """Different (still deterministic) samples per epoch; epoch 0 is the default."""
        self.epoch = int(epoch)

    def _rng(self, index: int) -> np.random.Generator:
        key = (self.seed, index) if self.epoch == 0 else (self.seed, self.epoch, index)
        return np.random.default_rng(key)

    @staticmethod
    def _pick_ids(rng, ref_mask, max_objects):
        ids = list(object_ids(ref_mask))
        if max_objects is not None and len(ids) > max_objects:
            ids = sorted(rng.choice(ids, size=max_objects, replace=False).tolist())
        return ids

    @staticmethod
    def _sample(imgs, masks, ids, flow, flow_valid, has_flow, name, t):
        ref, prev, cur = remap_ids(masks, ids)
        H, W = ref.shape
        if flow is None:
            flow = np.zeros((H, W, 2), np.float32)
            flow_valid = np.zeros((H, W), bool)
        return {
            "ref_img": to_tensor_image(imgs[0]), "prev_img": to_tensor_image(imgs[1]),
            "cur_img": to_tensor_image(imgs[2]),
            "ref_mask": _to_tensor_mask(ref), "prev_mask": _to_tensor_mask(prev),
            "cur_mask": _to_tensor_mask(cur),
            "flow": torch.from_numpy(np.ascontiguousarray(flow.transpose(2, 0, 1))).float(),
            "flow_valid": torch.from_numpy(np.ascontiguousarray(flow_valid, dtype=bool)),
            "has_flow": bool(has_flow), "n_objects": int(len(ids)), "seq": str(name), "t": int(t),
        }


# ----------------------------------------------------------------------------------------
# Datasets
# ----------------------------------------------------------------------------------------

class VideoClipDataset(_Base):
    """(reference, previous, current) frame triples from annotated videos.

    Per index: a sequence (``index % n_sequences``), a reference frame ``r`` (frame 0 with
    probability ``p_first_ref``, else an early annotated frame ``<= ref_window``), a
    previous frame ``p >= r`` and the current frame ``c = p + skip``, ``skip`` uniform in
    ``1..max_skip``.  All three get the same :class:`PairedAugment` transform
    (``augment=False``: plain resize to ``size``).

    Returned dict: ``ref_img/prev_img/cur_img`` (3, H, W) float32 in [0, 1];
    ``ref_mask/prev_mask/cur_mask`` (H, W) int64 where the objects visible in the
    (transformed) reference mask are renumbered 1..K (``n_objects`` = K) in increasing
    order of their original ids, other objects become 0 and void stays 255; ``flow``
    (2, H, W) float32, the backward flow cur->prev when the dataset has flow and
    ``skip == 1`` (else zeros), ``flow_valid`` (H, W) bool, ``has_flow`` bool,
    ``seq`` str, ``t`` = c.  Samples depend only on ``(seed, epoch, index)``.
    Length: ``samples_per_epoch``, by default the number of annotated frames.
    """

    def __init__(self, davis_or_list, size=(96, 160), clip: int = 3, max_skip: int = 3,
                 augment: bool = True, seed: int = 0, samples_per_epoch: Optional[int] = None,
                 *, p_first_ref: float = 0.5, ref_window: int = 5,
                 max_objects: Optional[int] = None, preload: bool = False,
                 augmenter: Optional[PairedAugment] = None):
        super().__init__(seed, samples_per_epoch)
        if clip != 3:
            raise ValueError("clip must be 3 (reference, previous, current)")
        if max_skip < 1:
            raise ValueError("max_skip must be >= 1")
        self.size = tuple(int(v) for v in size)
        self.clip, self.max_skip, self.augment = clip, int(max_skip), augment
        self.p_first_ref, self.ref_window, self.max_objects = p_first_ref, ref_window, max_objects
        self.augmenter = augmenter or PairedAugment(self.size, geometric=augment, photometric=augment)
        self.plain = PairedAugment(self.size, geometric=False, photometric=False)
        srcs = _sources(davis_or_list, preload=preload)
        self.sources = [s for s in srcs if len(s.annotated) >= 2]
        if not self.sources:
            raise ValueError("no sequence has at least two annotated frames to train on")
        # one "epoch" = as many samples as annotated frames, so that a loader that walks
        # the dataset sees varied triples (each index is still a fixed sample)
        self._default_len = sum(len(s.annotated) for s in self.sources)

    def __len__(self) -> int:
        return self.samples_per_epoch or self._default_len

    def _frames(self, rng, src) -> tuple:
        ann = src.annotated
        annset = set(ann)
        last = ann[-1]
        early = [t for t in ann if t <= min(self.ref_window, last - 1)]
        r = 0 if (rng.random() < self.p_first_ref or not early) else int(rng.choice(early))
        for _ in range(20):
            skip = int(rng.integers(1, self.max_skip + 1))
            cands = [p for p in ann if p >= r and p + skip in annset]
            if cands:
                p = int(rng.choice(cands))
                return r, p, p + skip
        # fall back to the smallest available gap
        pairs = [(b - a, a, b) for a, b in zip(ann, ann[1:]) if a >= r]
        if not pairs:
            r = 0
            pairs = [(b - a, a, b) for a, b in zip(ann, ann[1:])]
        _, p, c = min(pairs)
        return r, p, c

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < len(self):
            raise IndexError(index)
        rng = self._rng(index)
        src = self.sources[index % len(self.sources)]
        r, p, c = self._frames(rng, src)
        ref_m = src.mask(r)
        if not object_ids(ref_m):
            r, ref_m = 0, src.mask(0)
        ts = (r, p, c)
        imgs = [src.frame(t) for t in ts]
        masks = [ref_m, src.mask(p), src.mask(c)]
        for t, i, m in zip(ts, imgs, masks):
            _check_shapes(src.name, t, i, m)
        fl = src.flow(c) if c - p == 1 else None
        flows, valids = ([fl[0]], [fl[1]]) if fl is not None else ([], [])
        res = None
        for _ in range(5 if self.augment else 1):
            res = self.augmenter(rng, imgs, masks, flows, valids)
            if object_ids(res.masks[0]):
                break
        else:
            res = self.plain(rng, imgs, masks, flows, valids)
        ids = self._pick_ids(rng, res.masks[0], self.max_objects)
        flow = res.flows[0] if fl is not None else None
        fvalid = res.flow_valid[0] if fl is not None else None
        return self._sample(res.images, res.masks, ids, flow, fvalid, fl is not None, src.name, c)


class StaticPairDataset(_Base):
    """Static-image pre-training triples (DTN Sec. 3.4).

    Each item is one annotated frame (every annotated frame of every sequence, or the
    given ``(image, mask)`` pairs).  A base random transform (flip / scale / rotation /
    crop) gives the *previous* frame; the *current* frame is the previous one moved by a
    small random affine motion (shift up to ``max_shift`` of the size, rotation up to
    ``max_rotation`` degrees, scale within ``1 +- max_zoom``); the *reference* frame is
    another, larger perturbation.  ``flow`` is the exact backward flow cur->prev of that
    synthetic motion, valid where the current pixel shows image content and its target
    lies inside the previous frame.  Same dict as :class:`VideoClipDataset` (``t`` is
    the source frame's index, ``has_flow`` is True).
    """

    def __init__(self, davis_or_list, size=(96, 160), seed: int = 0,
                 samples_per_epoch: Optional[int] = None, *, max_shift: float = 0.08,
                 max_rotation: float = 8.0, max_zoom: float = 0.08, ref_factor: float = 2.5,
                 photometric: bool = True, max_objects: Optional[int] = None,
                 preload: bool = False, base: Optional[PairedAugment] = None):
        super().__init__(seed, samples_per_epoch)
        self.size = tuple(int(v) for v in size)
        self.max_shift, self.max_rotation, self.max_zoom = max_shift, max_rotation, max_zoom
        self.ref_factor, self.photometric, self.max_objects = ref_factor, photometric, max_objects
        self.base = base or PairedAugment(self.size, photometric=False)
        self.items = [(s, t) for s in _sources(davis_or_list, preload=preload, allow_pairs=True)
                      for t in s.annotated]
        if not self.items:
            raise ValueError("no annotated frames to build static pairs from")

    def __len__(self) -> int:
        return self.samples_per_epoch or len(self.items)

    def _motion(self, rng, k: float) -> np.ndarray:
        H, W = self.size
        return affine_matrix(
            self.size, self.size,
            scale=math.exp(rng.uniform(-1, 1) * math.log1p(min(0.9, self.max_zoom * k))),
            angle=rng.uniform(-1, 1) * self.max_rotation * k,
            shift=(rng.uniform(-1, 1) * self.max_shift * k * W,
                   rng.uniform(-1, 1) * self.max_shift * k * H))

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < len(self):
            raise IndexError(index)
        rng = self._rng(index)
        src, t = self.items[index % len(self.items)]
        img, mask = src.frame(t), src.mask(t)
        _check_shapes(src.name, t, img, mask)
        src_hw = img.shape[:2]
        for attempt in range(6):
            A_p = self.base.sample_matrix(rng, src_hw) if attempt < 5 else \
                resize_affine(src_hw, self.size)
            A_c = compose_affine(self._motion(rng, 1.0), A_p)
            A_r = compose_affine(self._motion(rng, self.ref_factor), A_p)
            ref_m = warp_mask(mask, A_r, self.size)
            if object_ids(ref_m):
                break
        mats = (A_r, A_p, A_c)
        imgs = [warp_image(img, A, self.size) for A in mats]
        masks = [ref_m] + [warp_mask(mask, A, self.size) for A in mats[1:]]
        if self.photometric:
            imgs = photometric_jitter(imgs, rng, **self.base.jitter)
        flow, valid = affine_flow(A_p, A_c, self.size, src_hw)
        ids = self._pick_ids(rng, ref_m, self.max_objects)
        return self._sample(imgs, masks, ids, flow, valid, True, src.name, t)
