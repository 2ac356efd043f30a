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
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Union

import numpy as np
from PIL import Image

from ..io import VOID, DataFormatError, object_ids, read_frame, read_mask

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
        return load_flow(fp[t])

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
        ids = tuple(object_ids(self.read_mask(seq, 0)))
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
        ids = tuple(object_ids(masks[0]))
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
                f, v = load_flow(p, (H, W))
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


def load_flow(path, hw: Optional[tuple] = None) -> tuple:
    """Read one ``Flow/480p/<seq>/%05d.npz``: ``(flow float32 (H, W, 2), valid bool (H, W))``;
    errors name the file (and the frame size ``hw`` it must match, when given)."""
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
