"""Segment a video from its first-frame mask: the ``segment`` command and its helpers.

``python -m vos_lib segment --method dtn --frames DIR --mask FIRST.png --out OUT``
writes ``OUT/<frame>.png`` for every frame (frame 0 too) as indexed PNGs in the DAVIS
palette at each frame's own size, using only the object ids of the first mask, plus
``OUT/overlay.gif`` and ``OUT/report.json``.  Methods resize frames internally to their
working size and results are resized back (nearest neighbour) to the input size.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from .io import VOID, DataFormatError, overlay, read_frame, read_mask, write_mask
from .segmenter import (SegmentResult, Segmenter, from_consecutive, object_ids,  # noqa: F401
                        to_consecutive)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


# ----------------------------------------------------------------------------- inputs
def list_frames(frames_dir: str | Path) -> list[Path]:
    d = Path(frames_dir)
    if not d.is_dir():
        raise DataFormatError(f"{d}: frames directory does not exist")
    files = sorted(p for p in d.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise DataFormatError(f"{d}: no frames found (expected {', '.join(IMAGE_SUFFIXES)} files)")
    return files


def load_inputs(frames_dir, mask_path) -> tuple[list[Path], list[np.ndarray], np.ndarray]:
    """Read and validate frames and the first-frame mask; errors name the file."""
    paths = list_frames(frames_dir)
    frames = [read_frame(p) for p in paths]
    for p, f in zip(paths, frames):
        if f.shape != frames[0].shape:
            raise DataFormatError(f"{p}: frame size {f.shape[:2]} differs from the first frame's "
                                  f"{frames[0].shape[:2]} ({paths[0].name})")
    mask = read_mask(mask_path)
    if mask.shape != frames[0].shape[:2]:
        raise DataFormatError(f"{mask_path}: mask size {mask.shape} does not match the first frame "
                              f"{paths[0].name} of size {frames[0].shape[:2]}")
    if not object_ids(mask):
        raise DataFormatError(f"{mask_path}: first-frame mask is empty (no object ids besides 0/255)")
    return paths, frames, mask


# ----------------------------------------------------------------------------- outputs
def save_gif(path: str | Path, frames: Sequence[np.ndarray], masks: Sequence[np.ndarray],
             fps: float = 10.0, max_side: int = 480) -> Path:
    """Write an overlay GIF (objects in DAVIS colours over the frames)."""
    imgs = []
    for f, m in zip(frames, masks):
        im = Image.fromarray(overlay(f, m))
        s = max_side / max(im.size)
        if s < 1:
            im = im.resize((round(im.width * s), round(im.height * s)), Image.BILINEAR)
        imgs.append(im)
    path = Path(path)
    imgs[0].save(path, save_all=True, append_images=imgs[1:], duration=int(1000 / fps), loop=0)
    return path


def write_outputs(out_dir, paths, frames, result: SegmentResult, method: str, extra: dict | None = None) -> dict:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for p, m in zip(paths, result.masks):
        write_mask(out / f"{p.stem}.png", m)
    save_gif(out / "overlay.gif", frames, result.masks)
    report = {
        "method": method, "n_frames": len(paths), "frame_size": list(frames[0].shape[:2]),
        "object_ids": object_ids(result.masks[0]),
        "frames": [p.name for p in paths],
        "object_pixels": {str(i): [int((m == i).sum()) for m in result.masks]
                          for i in object_ids(result.masks[0])},
        **result.info, **(extra or {}),
    }
    (out / "report.json").write_text(json.dumps(report, indent=1))
    return report


def run_segment(method: str, frames_dir, mask_path, out_dir, checkpoint=None, device=None) -> dict:
    from .methods import build_segmenter

    paths, frames, first = load_inputs(frames_dir, mask_path)
    seg = build_segmenter(method, checkpoint=checkpoint, device=device)
    t0 = time.perf_counter()
    result = seg.segment(frames, first)
    dt = time.perf_counter() - t0
    ids = set(object_ids(first))
    extra_ids = set(np.unique(result.masks).tolist()) - ids - {0}
    if extra_ids:
        raise RuntimeError(f"{method} produced ids {sorted(extra_ids)} absent from {mask_path}")
    result.masks[0] = np.where(first == VOID, 0, first)  # frame 0 is the given annotation
    return write_outputs(out_dir, paths, frames, result, method,
                         {"seconds": round(dt, 3), "fps": round(len(frames) / max(dt, 1e-9), 2)})
