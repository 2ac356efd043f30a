"""A user's own video for ``segment``: frames, the first-frame mask, the output folder.

Real inputs are rarely clean; the rules here (the README's *Preparing your own video*)
make every common mistake either work as the user meant it or stop with one line naming
the file and the problem, before any computing:

* **Frames**: a folder of images, sorted the way a person reads them (``2.jpg`` before
  ``10.jpg``); hidden files (``.DS_Store``, ``._0001.jpg``) are skipped; when two files
  share a stem (``0001.jpg`` and ``0001.png``) the more common format is used and the
  other skipped.  A video file (``.mp4``, ``.avi``, ``.mov``, ``.mkv``, ``.webm``,
  ``.gif``) is read frame by frame.
* **First-frame mask** (:func:`read_first_mask`): an indexed PNG of object ids is taken as
  it is; a black-and-white mask (0/255, also grey-level or JPEG-compressed) is object 1;
  an RGB mask in DAVIS colours is mapped back to ids (to the nearest colour when lossy).
  In a mask that is not an indexed PNG, ids with too few pixels, or whose pixels are all
  edge pixels (antialiasing, JPEG noise), are not objects: they are dropped and reported.
* **Output folder** (:func:`check_output_dir`): a new or empty folder, or one a previous
  ``segment`` run wrote (it is replaced whole); never the frames folder.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
from PIL import Image

from .io import PALETTE, VOID, DataFormatError, read_frame

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".gif")
MIN_OBJECT_FRACTION = 1e-4      # an object covers at least this much of the frame ...
MIN_OBJECT_PIXELS = 16          # ... and at least this many pixels
REPORT_NAME = "report.json"     # a finished ``segment`` run's marker


def natural_key(name: str):
    """Sort key reading digit runs as numbers: ``2.jpg`` < ``10.jpg``."""
    return [int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", name)]


# ----------------------------------------------------------------------------- frames
def list_frames(frames_dir) -> tuple[list[Path], list[str]]:
    """The frame files of a folder in reading order, and notes on what was skipped."""
    d = Path(frames_dir)
    if d.is_file():
        raise DataFormatError(f"{d}: is a file, not a folder of frames (video files: "
                              f"{', '.join(VIDEO_SUFFIXES)})")
    if not d.is_dir():
        raise DataFormatError(f"{d}: frames directory does not exist")
    files = [p for p in d.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    hidden = [p for p in files if p.name.startswith(".")]
    files = [p for p in files if not p.name.startswith(".")]
    notes = [f"skipped {len(hidden)} hidden file(s), e.g. {hidden[0].name}"] if hidden else []
    by_stem: dict[str, list[Path]] = {}
    for p in files:
        by_stem.setdefault(p.stem, []).append(p)
    if any(len(v) > 1 for v in by_stem.values()):
        counts: dict[str, int] = {}
        for p in files:
            counts[p.suffix.lower()] = counts.get(p.suffix.lower(), 0) + 1
        rank = sorted(counts, key=lambda s: (-counts[s], s))
        keep = [min(v, key=lambda p: rank.index(p.suffix.lower())) for v in by_stem.values()]
        dropped = sorted(set(files) - set(keep))
        notes.append(f"{len(dropped)} frame(s) exist in two formats; used "
                     f"{rank[0]}, skipped e.g. {dropped[0].name}")
        files = keep
    if not files:
        raise DataFormatError(f"{d}: no frames found (expected {', '.join(IMAGE_SUFFIXES)} "
                              "files, or pass a video file)")
    return sorted(files, key=lambda p: natural_key(p.name)), notes


def read_video(path) -> list[np.ndarray]:
    """The RGB frames of a video file (OpenCV's FFmpeg build; GIFs through PIL)."""
    path = Path(path)
    if path.suffix.lower() == ".gif":
        with Image.open(path) as im:
            frames = []
            for i in range(getattr(im, "n_frames", 1)):
                im.seek(i)
                frames.append(np.asarray(im.convert("RGB")))
            return frames
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")   # our message, not FFmpeg's log
    import cv2
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(np.ascontiguousarray(bgr[:, :, ::-1]))
    cap.release()
    if not frames:
        raise DataFormatError(f"{path}: cannot read frames from this video file; extract "
                              f"them first, e.g. `ffmpeg -i {path.name} frames/%05d.jpg`")
    return frames


def load_frames(frames) -> tuple[list[str], list[np.ndarray], list[str]]:
    """Frame names (output stems), frames and notes, from a folder or a video file."""
    p = Path(frames)
    if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES:
        video = read_video(p)
        return [f"{t:05d}" for t in range(len(video))], video, [
            f"read {len(video)} frames from the video file {p.name}"]
    paths, notes = list_frames(p)
    imgs = [read_frame(q) for q in paths]
    for q, f in zip(paths, imgs):
        if f.shape != imgs[0].shape:
            raise DataFormatError(f"{q}: frame size {f.shape[:2]} differs from the first "
                                  f"frame's {imgs[0].shape[:2]} ({paths[0].name})")
    return [q.stem for q in paths], imgs, notes


# ------------------------------------------------------------------ first-frame mask
def _thin(mask: np.ndarray) -> bool:
    """True when (almost) no pixel of a binary mask has its 3x3 neighbourhood inside it:
    a ring of edge pixels left by antialiasing or compression, not an object."""
    import cv2
    inner = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8))
    return inner.sum() < 0.1 * mask.sum()


def _ids_from_colours(rgb: np.ndarray, lossy: bool) -> np.ndarray:
    """RGB mask in DAVIS colours -> ids (nearest palette colour among ids 0..63 and 255)."""
    cand = np.r_[np.arange(64), VOID]
    pal = PALETTE[cand].astype(np.int32)
    flat = rgb.reshape(-1, 3).astype(np.int32)
    colours, inverse = np.unique(flat, axis=0, return_inverse=True)
    d = ((colours[:, None, :] - pal[None]) ** 2).sum(-1)
    nearest = d.argmin(1)
    if not lossy and (d[np.arange(len(colours)), nearest] > 0).any():
        bad = colours[d[np.arange(len(colours)), nearest] > 0][:3].tolist()
        raise DataFormatError(f"colours {bad} are not DAVIS palette colours; save the mask as "
                              "an indexed PNG of object ids (0 background, 1..K objects)")
    return cand[nearest][inverse.ravel()].reshape(rgb.shape[:2]).astype(np.uint8)


def _decode_mask(path: Path) -> tuple[np.ndarray, str]:
    """Raw ids of a mask file and how they were read (the rule of the module docstring)."""
    try:
        with Image.open(path) as im:
            mode, fmt = im.mode, (im.format or "").upper()
            if mode == "P" and fmt != "JPEG":
                return np.array(im, np.uint8), "indexed PNG: values are object ids"
            rgb = np.asarray(im.convert("RGB"), np.int16)
    except OSError as e:
        raise DataFormatError(f"{path}: cannot read mask ({e})") from e
    lossy = fmt == "JPEG"
    grey = (np.abs(rgb - rgb[..., :1]) <= (24 if lossy else 0)).all()
    if grey:
        g = rgb.mean(-1)
        high, low = int((g >= 128).sum()), int(((g > 0) & (g < 128)).sum())
        if high > low:                  # black and white: 255 is the object, not void
            return (g >= 128).astype(np.uint8), (
                "black-and-white mask: pixels >= 128 are object 1 (255 is read as the "
                "object, not as DAVIS's void label)")
        return np.round(g).astype(np.uint8), "grey-level mask: values are object ids"
    try:
        return _ids_from_colours(rgb, lossy), "colour mask: DAVIS colours mapped to ids"
    except DataFormatError as e:
        raise DataFormatError(f"{path}: {e}") from None


def read_first_mask(path) -> tuple[np.ndarray, dict]:
    """The first-frame mask as ids 0..K (255 void), and what was seen: ``{"rule",
    "objects": {id: pixels}, "dropped": {id: pixels}}``; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(f"{path}: mask file does not exist")
    ids, rule = _decode_mask(path)
    exact = rule.startswith("indexed")     # a palette PNG holds exactly what was painted
    min_px = max(MIN_OBJECT_PIXELS, int(MIN_OBJECT_FRACTION * ids.size))
    objects, dropped = {}, {}
    for i in (int(v) for v in np.unique(ids) if v not in (0, VOID)):
        m = ids == i
        n = int(m.sum())
        if not exact and (n < min_px or _thin(m)):
            dropped[i] = n
            ids[m] = 0
        else:
            objects[i] = n
    if not objects:
        seen = f" (only tiny or edge-only ids {sorted(dropped)})" if dropped else ""
        raise DataFormatError(f"{path}: first-frame mask is empty: it holds no object{seen}; "
                              "paint each object with its own id 1..K on background 0")
    if dropped:        # soft edges seen: the kept objects lose their 1-pixel slivers too
        import cv2
        for i in objects:
            m = (ids == i).astype(np.uint8)
            opened = cv2.morphologyEx(m, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
            ids[(m > 0) & (opened == 0)] = 0
            objects[i] = int(opened.sum())
    return ids, {"rule": rule, "objects": objects, "dropped": dropped, "min_pixels": min_px}


# ----------------------------------------------------------------------- output folder
def check_output_dir(out, frames) -> Path:
    """Refuse an output folder that would mix runs or be read back as input, before any
    computing: it must be new, empty, or a previous ``segment`` run's (replaced whole),
    outside the frames folder, and writable."""
    out, src = Path(out).absolute(), Path(frames).absolute()
    if out.exists() and not out.is_dir():
        raise DataFormatError(f"{out}: --out is a file, not a folder")
    if src.is_dir() and (out == src or src in out.parents):
        src_dir = src
        raise DataFormatError(f"{out}: --out is inside the frames folder {src_dir}; the next "
                              "run would read the masks as frames. Choose another folder")
    if out.is_dir():
        names = [p.name for p in out.iterdir()]
        if names and REPORT_NAME not in names:
            raise DataFormatError(f"{out}: --out holds files that no segment run wrote "
                                  f"(e.g. {sorted(names)[0]}); choose a new or empty folder")
    parent = out.parent
    while not parent.exists():
        parent = parent.parent
    if not os.access(parent, os.W_OK) or (out.is_dir() and not os.access(out, os.W_OK)):
        raise DataFormatError(f"{out}: --out is not writable (permission denied)")
    return out
