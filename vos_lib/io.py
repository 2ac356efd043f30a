"""Reading and writing DAVIS-format frames and masks.

DAVIS stores each annotation as an *indexed* (mode ``"P"``) PNG whose pixel values are
object ids (0 = background, 1..K = objects, 255 = void) and whose palette is the DAVIS
colour map.  Results written here use the same palette and mode so that the official
DAVIS toolkit reads them unchanged.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

VOID = 255


def davis_palette() -> np.ndarray:
    """The 256x3 uint8 DAVIS palette (the PASCAL VOC bit-interleaving colour map)."""
    pal = np.zeros((256, 3), dtype=np.uint8)
    for i in range(256):
        c, r, g, b = i, 0, 0, 0
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        pal[i] = (r, g, b)
    return pal


PALETTE = davis_palette()


def object_ids(mask: np.ndarray) -> list[int]:
    """The object ids present in an id mask, ascending (background 0 and void 255 excluded)."""
    counts = np.bincount(np.asarray(mask, np.uint8).ravel(), minlength=256)
    return [int(i) for i in np.flatnonzero(counts) if i != 0 and i != VOID]


class DataFormatError(ValueError):
    """Bad input data; the message names the file and the problem."""


class UsageError(RuntimeError):
    """A request that cannot be carried out as asked (no GPU for ``--device cuda``, a file
    that is not a checkpoint, a missing ``--data``); the command line prints it as one line."""


def read_frame(path: str | os.PathLike) -> np.ndarray:
    """Read an RGB frame as an ``(H, W, 3)`` uint8 array."""
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(f"{path}: frame file does not exist")
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except OSError as e:  # PIL's UnidentifiedImageError is an OSError
        raise DataFormatError(f"{path}: cannot read image ({e})") from e


def read_mask(path: str | os.PathLike, *, require_indexed: bool = True) -> np.ndarray:
    """Read an indexed PNG mask as an ``(H, W)`` uint8 array of object ids.

    A non-indexed PNG is refused (``require_indexed``) because its pixel values would be
    colours, not ids; a single-channel ``L`` PNG is accepted as ids as well.
    """
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(f"{path}: mask file does not exist")
    try:
        with Image.open(path) as im:
            mode = im.mode
            if require_indexed and mode not in ("P", "L"):
                raise DataFormatError(
                    f"{path}: mask must be an indexed (palette, mode 'P') PNG of object ids, "
                    f"got mode {mode!r}")
            return np.array(im if mode in ("P", "L") else im.convert("L"), dtype=np.uint8)
    except OSError as e:
        raise DataFormatError(f"{path}: cannot read mask ({e})") from e


def write_mask(path: str | os.PathLike, mask: np.ndarray) -> None:
    """Write an ``(H, W)`` array of ids as an indexed PNG with the DAVIS palette (atomic)."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"{path}: mask must be 2-D, got shape {mask.shape}")
    if mask.size and (mask.min() < 0 or mask.max() > 255):
        raise ValueError(f"{path}: mask ids must lie in 0..255")
    im = Image.fromarray(mask.astype(np.uint8), mode="P")
    im.putpalette(PALETTE.ravel().tolist())
    atomic_save(Path(path), lambda f: im.save(f, format="PNG"))


def write_frame(path: str | os.PathLike, frame: np.ndarray, quality: int = 95) -> None:
    """Write an ``(H, W, 3)`` uint8 frame as JPEG (or PNG, by suffix), atomically."""
    path = Path(path)
    im = Image.fromarray(np.asarray(frame, dtype=np.uint8))
    fmt = "PNG" if path.suffix.lower() == ".png" else "JPEG"
    kw = {"quality": quality} if fmt == "JPEG" else {}
    atomic_save(path, lambda f: im.save(f, format=fmt, **kw))


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, then rename)."""
    atomic_save(Path(path), lambda f: f.write(data))


def replace_dir(tmp: str | os.PathLike, dest: str | os.PathLike) -> None:
    """Put the finished folder ``tmp`` at ``dest`` (on the same file system), replacing
    what was there.  The old folder is moved aside first and removed last, so ``dest``
    always holds one whole folder, the old or the new one, never a mix of the two; a
    crash leaves at most a hidden ``.NAME.old-*`` folder next to it."""
    tmp, dest = Path(tmp), Path(dest)
    old = None
    if dest.exists():
        old = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name[:40]}.old-"))
        os.rmdir(old)
        os.replace(dest, old)
    os.replace(tmp, dest)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def atomic_save(path: Path, save) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # a short temporary name: the final name may already be near the file system's limit
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:32]}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            save(f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def colorize(mask: np.ndarray) -> np.ndarray:
    """Map an id mask to RGB with the DAVIS palette, ``(H, W, 3)`` uint8."""
    return PALETTE[np.asarray(mask, dtype=np.uint8)]


def overlay(frame: np.ndarray, mask: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """Blend object colours over a frame (background and void left untouched)."""
    frame = np.asarray(frame, dtype=np.float32)
    mask = np.asarray(mask)
    col = colorize(mask).astype(np.float32)
    sel = (mask > 0) & (mask != VOID)
    out = frame.copy()
    out[sel] = (1 - alpha) * frame[sel] + alpha * col[sel]
    return out.clip(0, 255).astype(np.uint8)
