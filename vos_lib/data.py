"""DAVIS-format data: a reader, paired geometric augmentation, and torch datasets.

Layout (DAVIS 2016/2017, and the synthetic generator, which adds the optional extras)::

    ROOT/JPEGImages/480p/<seq>/00000.jpg ...       RGB frames, numbered 0..T-1 without gaps
    ROOT/Annotations/480p/<seq>/00000.png ...      indexed PNGs of object ids
                                                   (0 background, 1..K objects, 255 void);
                                                   only frame 0 is annotated in test sets
    ROOT/ImageSets/2017/{train,val}.txt            one sequence name per line
    ROOT/ImageSets/2016/{train,val}.txt
    ROOT/Flow/480p/<seq>/00001.npz ...             optional, t >= 1: ``flow`` (H, W, 2) (dx, dy)
                                                   pixels and ``valid`` (H, W) bool
    ROOT/Meta/<seq>.json                           optional per-sequence/per-frame metadata

Flow convention (everywhere in this module): the *backward* flow of frame t,
``I_t(x) ~= I_{t-1}(x + flow_t(x))``.

Geometry convention: pixel centres sit at integer coordinates ``(x, y)``; an affine
transform is a 2x3 matrix ``A`` mapping *input* pixel coordinates to *output* pixel
coordinates, ``y = A[:, :2] @ x + A[:, 2]`` (the same convention as ``cv2.warpAffine``).
If two frames are transformed by the same ``A``, a backward flow ``f`` becomes
``g(y) = L f(A^-1 y)`` with ``L = A[:, :2]`` -- a flip negates dx, a scale multiplies,
a rotation rotates the vectors and a crop/shift changes nothing.

Masks keep the void label 255 through every transform and every dataset; losses are
expected to ignore it.  Pixels that a transform brings in from outside the source
image are background (0) in masks and black in images.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Sequence as Seq, Union

import cv2
import numpy as np
import torch
from PIL import Image

from .io import VOID, DataFormatError, read_frame, read_mask

__all__ = [
    "DAVIS", "Sequence", "DataFormatError", "VOID",
    "affine_matrix", "resize_affine", "sample_affine", "compose_affine", "invert_affine",
    "warp_image", "warp_mask", "warp_flow", "affine_flow", "backward_warp",
    "PairedAugment", "AugmentResult", "photometric_jitter",
    "remap_ids", "resize", "pad_to_multiple", "unpad",
    "VideoClipDataset", "StaticPairDataset", "to_tensor_image", "collate",
]

_FRAME_EXTS = (".jpg", ".jpeg", ".png")


# ----------------------------------------------------------------------------------------
# Reader
# ----------------------------------------------------------------------------------------

@dataclass
class Sequence:
    """One loaded video.

    ``frames``: ``(T, H, W, 3)`` uint8.  ``masks``: list of ``T`` entries, each an
    ``(H, W)`` uint8 id mask or ``None`` where the frame is not annotated.
    ``object_ids``: the ids in the *first* frame's mask (0 and 255 excluded).
    ``flows`` / ``flow_valid``: ``None`` when the dataset has no flow, else lists of ``T``
    entries (``(H, W, 2)`` float32 backward flow / ``(H, W)`` bool, ``None`` at t = 0 and
    wherever a file is missing).  ``meta``: the parsed ``Meta/<seq>.json`` or ``None``.
    """
    name: str
    frames: np.ndarray
    masks: list
    object_ids: tuple
    flows: Optional[list] = None
    flow_valid: Optional[list] = None
    meta: Optional[dict] = None

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def num_frames(self) -> int:
        return len(self.frames)

    @property
    def shape(self) -> tuple:
        """``(H, W)`` of the frames."""
        return tuple(self.frames.shape[1:3])

    @property
    def annotated(self) -> list:
        """Indices of the annotated frames."""
        return [t for t, m in enumerate(self.masks) if m is not None]

    @property
    def n_objects(self) -> int:
        return len(self.object_ids)

    @property
    def has_flow(self) -> bool:
        return self.flows is not None and any(f is not None for f in self.flows)

    def mask_array(self) -> np.ndarray:
        """All masks as one ``(T, H, W)`` uint8 array (every frame must be annotated)."""
        missing = [t for t, m in enumerate(self.masks) if m is None]
        if missing:
            raise ValueError(f"sequence {self.name!r}: frames {missing[:5]}... are not annotated")
        return np.stack(self.masks)


def _object_ids(mask: np.ndarray) -> tuple:
    counts = np.bincount(np.asarray(mask, np.uint8).ravel(), minlength=256)
    return tuple(int(i) for i in np.flatnonzero(counts) if i != 0 and i != VOID)


class DAVIS:
    """Reader for a DAVIS-format dataset root.

    ``year``: ``"2017"`` (multi-object) or ``"2016"`` (single object: on the 2017 layout
    every object id is merged into 1; the original 2016 release's grayscale 0/255 masks
    and ``ImageSets/480p/*.txt`` lists are understood as well).  ``split``: name of
    ``ImageSets/<year>/<split>.txt`` (``"train"``, ``"val"``, ``"test-dev"``...;
    ``"trainval"`` is the union of train and val when no such file exists).
    ``sequences``: explicit sequence names; when given the ImageSets file is not read.
    Cheap checks (root, ImageSets, frame folders) run here; :meth:`validate` checks
    every sequence's files, :meth:`load_sequence` checks what it reads.
    """

    def __init__(self, root, year: Union[str, int] = "2017", split: Optional[str] = "train",
                 resolution: str = "480p", sequences: Optional[Iterable[str]] = None):
        self.root = Path(root)
        self.year = str(year)
        self.split = split
        self.resolution = resolution
        if self.year not in ("2016", "2017"):
            raise ValueError(f"year must be '2016' or '2017', got {year!r}")
        if not self.root.is_dir():
            raise DataFormatError(
                f"{self.root}: DAVIS root does not exist (expected a folder holding "
                f"JPEGImages/, Annotations/ and ImageSets/)")
        jpeg = self.root / "JPEGImages" / resolution
        if not jpeg.is_dir():
            raise DataFormatError(f"{jpeg}: frame folder does not exist (is {self.root} a "
                                  f"DAVIS root, and is resolution {resolution!r} right?)")
        if sequences is None:
            if split is None:
                raise ValueError("give a split or an explicit list of sequences")
            sequences = self._read_split(split)
        self.sequences = list(sequences)
        if not self.sequences:
            raise DataFormatError(f"{self.root}: no sequences in split {split!r}")
        for s in self.sequences:
            if not (jpeg / s).is_dir():
                raise DataFormatError(f"{jpeg / s}: frame folder of sequence {s!r} does not exist")
        self._listing: dict = {}

    # -- split files -------------------------------------------------------------------
    def _split_file_candidates(self, split: str) -> list:
        c = [self.root / "ImageSets" / self.year / f"{split}.txt"]
        if self.year == "2016":  # the original DAVIS 2016 release
            c.append(self.root / "ImageSets" / self.resolution / f"{split}.txt")
        return c

    def _read_split(self, split: str) -> list:
        for path in self._split_file_candidates(split):
            if path.is_file():
                return self._parse_split_file(path)
        if split == "trainval":
            names = self._read_split("train") + self._read_split("val")
            return list(dict.fromkeys(names))
        expected = self._split_file_candidates(split)[0]
        raise DataFormatError(f"{expected}: ImageSets file for year {self.year} split "
                              f"{split!r} does not exist")

    @staticmethod
    def _parse_split_file(path: Path) -> list:
        names = []
        for line in path.read_text().splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if "/" in line:  # DAVIS 2016: "/JPEGImages/480p/bear/00000.jpg /Annotations/..."
                parts = [p for p in line.split()[0].split("/") if p]
                if len(parts) < 2:
                    raise DataFormatError(f"{path}: cannot parse line {line!r}")
                line = parts[-2]
            names.append(line)
        return list(dict.fromkeys(names))

    # -- paths -------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.sequences)

    def __iter__(self):
        return iter(self.sequences)

    def __repr__(self) -> str:
        return (f"DAVIS(root={str(self.root)!r}, year={self.year!r}, split={self.split!r}, "
                f"{len(self.sequences)} sequences)")

    def frame_dir(self, seq: str) -> Path:
        return self.root / "JPEGImages" / self.resolution / seq

    def mask_dir(self, seq: str) -> Path:
        return self.root / "Annotations" / self.resolution / seq

    def flow_dir(self, seq: str) -> Path:
        return self.root / "Flow" / self.resolution / seq

    def meta_path(self, seq: str) -> Path:
        return self.root / "Meta" / f"{seq}.json"

    @staticmethod
    def _numbered(folder: Path, exts: tuple, what: str) -> dict:
        out = {}
        if not folder.is_dir():
            return out
        for p in folder.iterdir():
            if p.name.startswith(".") or p.suffix.lower() not in exts:
                continue
            if not p.stem.isdigit():
                raise DataFormatError(f"{p}: {what} file name must be a frame number like 00000")
            t = int(p.stem)
            if t in out:
                raise DataFormatError(f"{p}: duplicate {what} for frame {t} ({out[t].name})")
            out[t] = p
        return out

    def _list(self, seq: str) -> tuple:
        if seq in self._listing:
            return self._listing[seq]
        fdir = self.frame_dir(seq)
        frames = self._numbered(fdir, _FRAME_EXTS, "frame")
        if not frames:
            raise DataFormatError(f"{fdir}: sequence {seq!r} has no frames")
        T = len(frames)
        idx = sorted(frames)
        if idx != list(range(T)):
            missing = sorted(set(range(idx[-1] + 1)) - set(idx))
            raise DataFormatError(
                f"{fdir}: frames must be numbered 00000..{T - 1:05d} without gaps; "
                f"missing frame(s) {', '.join(f'{m:05d}' for m in missing[:5])}")
        frame_paths = [frames[t] for t in range(T)]
        mdir = self.mask_dir(seq)
        masks = self._numbered(mdir, (".png",), "mask")
        extra = sorted(t for t in masks if t >= T)
        if extra:
            raise DataFormatError(f"{masks[extra[0]]}: mask has no matching frame "
                                  f"(sequence {seq!r} has {T} frames)")
        if 0 not in masks:
            raise DataFormatError(f"{mdir / '00000.png'}: first-frame mask of sequence {seq!r} "
                                  f"is missing (semi-supervised VOS needs it)")
        mask_paths = [masks.get(t) for t in range(T)]
        fl_dir = self.flow_dir(seq)
        flow_paths = None
        if fl_dir.is_dir():
            flows = self._numbered(fl_dir, (".npz",), "flow")
            flow_paths = [flows.get(t) if t > 0 else None for t in range(T)]
        self._listing[seq] = (frame_paths, mask_paths, flow_paths)
        return self._listing[seq]

    def frame_paths(self, seq: str) -> list:
        """Paths of the frames ``0..T-1`` (checked: at least one, numbered without gaps)."""
        return list(self._list(seq)[0])

    def mask_paths(self, seq: str) -> list:
        """``T`` entries aligned with :meth:`frame_paths`; ``None`` where not annotated."""
        return list(self._list(seq)[1])

    def flow_paths(self, seq: str) -> Optional[list]:
        """``T`` entries (``None`` at t = 0 and where missing), or ``None`` without flow."""
        fp = self._list(seq)[2]
        return None if fp is None else list(fp)

    def num_frames(self, seq: str) -> int:
        return len(self._list(seq)[0])

    def annotated_frames(self, seq: str) -> list:
        return [t for t, p in enumerate(self._list(seq)[1]) if p is not None]

    def has_flow(self, seq: str) -> bool:
        fp = self._list(seq)[2]
        return fp is not None and any(p is not None for p in fp)

    # -- reading -----------------------------------------------------------------------
    def read_frame(self, seq: str, t: int) -> np.ndarray:
        return read_frame(self._list(seq)[0][t])

    def read_mask(self, seq: str, t: int) -> Optional[np.ndarray]:
        """The id mask of frame ``t`` (``None`` if not annotated); 2016: ids merged to 1."""
        path = self._list(seq)[1][t]
        if path is None:
            return None
        m = read_mask(path)
        if self.year == "2016":
            with Image.open(path) as im:
                gray = im.mode == "L"
            if gray:  # DAVIS 2016 release: 0/255 grayscale, 255 = object
                m = (m >= 128).astype(np.uint8)
            else:
                m = np.where((m != 0) & (m != VOID), 1, m).astype(np.uint8)
        return m

    def read_flow(self, seq: str, t: int) -> Optional[tuple]:
        """``(flow (H, W, 2) float32, valid (H, W) bool)`` of frame ``t`` or ``None``."""
        fp = self._list(seq)[2]
        if fp is None or fp[t] is None:
            return None
        return _load_flow(fp[t])

    def read_meta(self, seq: str) -> Optional[dict]:
        p = self.meta_path(seq)
        if not p.is_file():
            return None
        try:
            return json.loads(p.read_text())
        except ValueError as e:
            raise DataFormatError(f"{p}: invalid JSON ({e})") from e

    def object_ids(self, seq: str) -> tuple:
        path = self._list(seq)[1][0]
        ids = _object_ids(self.read_mask(seq, 0))
        if not ids:
            raise DataFormatError(f"{path}: first-frame mask of sequence {seq!r} contains no "
                                  f"objects (only background/void)")
        return ids

    def load_sequence(self, seq: str, *, load_flows: bool = True) -> Sequence:
        """Read a whole sequence, checking sizes, mask format and the first-frame mask."""
        frame_paths, mask_paths, flow_paths = self._list(seq)
        frames = []
        for p in frame_paths:
            f = read_frame(p)
            if frames and f.shape != frames[0].shape:
                raise DataFormatError(f"{p}: frame size {f.shape[1]}x{f.shape[0]} differs from "
                                      f"frame 0 ({frames[0].shape[1]}x{frames[0].shape[0]})")
            frames.append(f)
        frames = np.stack(frames)
        H, W = frames.shape[1:3]
        masks = []
        for t, p in enumerate(mask_paths):
            if p is None:
                masks.append(None)
                continue
            m = self.read_mask(seq, t)
            if m.shape != (H, W):
                raise DataFormatError(f"{p}: mask size {m.shape[1]}x{m.shape[0]} does not match "
                                      f"the frame size {W}x{H}")
            masks.append(m)
        ids = _object_ids(masks[0])
        if not ids:
            raise DataFormatError(f"{mask_paths[0]}: first-frame mask of sequence {seq!r} "
                                  f"contains no objects (only background/void)")
        flows = valid = None
        if load_flows and flow_paths is not None:
            flows, valid = [], []
            for p in flow_paths:
                if p is None:
                    flows.append(None)
                    valid.append(None)
                    continue
                f, v = _load_flow(p, (H, W))
                flows.append(f)
                valid.append(v)
        return Sequence(seq, frames, masks, ids, flows, valid, self.read_meta(seq))

    def validate(self, *, deep: bool = True) -> "DAVIS":
        """Check every sequence of the split; raises :class:`DataFormatError` on the first
        problem.  ``deep`` reads image headers (sizes, PNG modes: cheap) and the first-frame
        masks; otherwise only file names are checked."""
        for seq in self.sequences:
            frame_paths, mask_paths, _ = self._list(seq)
            if not deep:
                continue
            size = None
            for p in frame_paths:
                s = _image_header(p, "frame")[0]
                if size is None:
                    size = s
                elif s != size:
                    raise DataFormatError(f"{p}: frame size {s[0]}x{s[1]} differs from frame 0 "
                                          f"({size[0]}x{size[1]})")
            for p in mask_paths:
                if p is None:
                    continue
                s, mode = _image_header(p, "mask")
                if mode not in ("P", "L"):
                    raise DataFormatError(f"{p}: mask must be an indexed (palette, mode 'P') PNG "
                                          f"of object ids, got mode {mode!r}")
                if s != size:
                    raise DataFormatError(f"{p}: mask size {s[0]}x{s[1]} does not match the "
                                          f"frame size {size[0]}x{size[1]}")
            self.object_ids(seq)
        return self


def _image_header(path: Path, what: str) -> tuple:
    try:
        with Image.open(path) as im:
            return im.size, im.mode
    except OSError as e:
        raise DataFormatError(f"{path}: cannot read {what} ({e})") from e


def _load_flow(path: Path, hw: Optional[tuple] = None) -> tuple:
    try:
        with np.load(path) as z:
            flow = np.asarray(z["flow"], dtype=np.float32)
            valid = np.asarray(z["valid"], dtype=bool) if "valid" in z.files else \
                np.ones(flow.shape[:2], bool)
    except (OSError, ValueError, KeyError) as e:
        raise DataFormatError(f"{path}: cannot read flow (need arrays 'flow' (H, W, 2) and "
                              f"'valid' (H, W)): {e}") from e
    if flow.ndim != 3 or flow.shape[2] != 2 or valid.shape != flow.shape[:2]:
        raise DataFormatError(f"{path}: flow must be (H, W, 2) with valid (H, W), got "
                              f"{flow.shape} and {valid.shape}")
    if hw is not None and flow.shape[:2] != tuple(hw):
        raise DataFormatError(f"{path}: flow size {flow.shape[1]}x{flow.shape[0]} does not "
                              f"match the frame size {hw[1]}x{hw[0]}")
    return flow, valid


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


def collate(batch: list) -> dict:
    """Batch a list of sample dicts (``torch.utils.data.default_collate`` suffices: tensors
    are stacked, bools/ints become tensors, strings become lists)."""
    return torch.utils.data.default_collate(batch)


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
            out.append(_MemSource(Sequence(f"static{k:06d}", img[None], [m], _object_ids(m))))
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
        ids = list(_object_ids(ref_mask))
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
        if not _object_ids(ref_m):
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
            if _object_ids(res.masks[0]):
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
            if _object_ids(ref_m):
                break
        mats = (A_r, A_p, A_c)
        imgs = [warp_image(img, A, self.size) for A in mats]
        masks = [ref_m] + [warp_mask(mask, A, self.size) for A in mats[1:]]
        if self.photometric:
            imgs = photometric_jitter(imgs, rng, **self.base.jitter)
        flow, valid = affine_flow(A_p, A_c, self.size, src_hw)
        ids = self._pick_ids(rng, ref_m, self.max_objects)
        return self._sample(imgs, masks, ids, flow, valid, True, src.name, t)
