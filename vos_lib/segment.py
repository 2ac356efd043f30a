"""Segment a video from its first-frame mask: the ``segment`` command and its helpers.

``python -m vos_lib segment --method dtn --frames DIR --mask FIRST.png --out OUT``
writes ``OUT/<frame>.png`` for every frame (frame 0 too) as indexed PNGs in the DAVIS
palette at each frame's own size, using only the object ids of the first mask, plus
``OUT/overlay.gif`` and ``OUT/report.json``.  Methods resize frames internally to their
working size and results are resized back (nearest neighbour) to the input size.
"""
from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from .core.segmenter import SegmentResult, get_method, pick_device
from .inputs import REPORT_NAME, check_output_dir, load_frames, read_first_mask
from .io import VOID, DataFormatError, UsageError, object_ids, overlay, replace_dir, write_mask

def load_inputs(frames, mask_path) -> tuple[list[str], list[np.ndarray], np.ndarray, dict]:
    """Frames (a folder or a video file) and the first-frame mask, read by the rules of
    :mod:`vos_lib.inputs`: frame names (output stems), frames, ids, and what was seen."""
    names, imgs, notes = load_frames(frames)
    mask, seen = read_first_mask(mask_path)
    if mask.shape != imgs[0].shape[:2]:
        raise DataFormatError(f"{mask_path}: mask size {mask.shape} does not match the first "
                              f"frame ({names[0]}) of size {imgs[0].shape[:2]}")
    return names, imgs, mask, {**seen, "notes": notes}


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


def write_outputs(out_dir, names, frames, result: SegmentResult, method: str,
                  extra: dict | None = None) -> dict:
    """Write one run's masks, overlay and report into ``out_dir`` as a whole.

    Everything goes to a hidden sibling folder first, which replaces ``out_dir`` only
    when complete (a previous run's folder is removed then): an interrupted run leaves
    ``out_dir`` as it was (plus at most a ``.<name>.partial-*`` folder), never a mix.
    """
    out = Path(out_dir).absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name[:40]}.partial-"))
    try:
        for name, m in zip(names, result.masks):
            write_mask(tmp / f"{name}.png", m)
        save_gif(tmp / "overlay.gif", frames, result.masks)
        ids = object_ids(result.masks[0])
        report = {"method": method, "n_frames": len(names),
                  "frame_size": list(frames[0].shape[:2]), "object_ids": ids,
                  "frames": list(names), "frame_order": "natural (numbers read as numbers)",
                  "object_pixels": {str(i): [int((m == i).sum()) for m in result.masks]
                                    for i in ids},
                  **result.info, **(extra or {})}
        (tmp / REPORT_NAME).write_text(json.dumps(report, indent=1))   # last: the marker
        replace_dir(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return report


def check_model_available(method: str, checkpoint=None, train_if_missing: bool = False) -> None:
    """No silent training: a method that needs a trained model gets one from
    ``checkpoint``, from the cache, or (only with ``train_if_missing``) by training now."""
    spec = get_method(method)
    if checkpoint is not None or spec.cached is None or spec.cached("cpu") is not None:
        return
    if not train_if_missing:
        raise FileNotFoundError(
            f"--method {method} needs a trained model: pass --checkpoint PATH, or add "
            f"--train-if-missing to train the CPU-scale model now on generated data "
            f"({spec.train_time}; it is cached in data/checkpoints)")
    print(f"no cached {method} model: training the CPU-scale one now on generated data "
          f"({spec.train_time}; progress below)", flush=True)


def run_segment(method: str, frames_dir, mask_path, out_dir, checkpoint=None, device=None,
                train_if_missing: bool = False, options: dict | None = None) -> dict:
    """The ``segment`` command: every input is checked before any computing.

    ``options`` go to the method's segmenter (e.g. ``finetune=False`` for DIPNet); a
    method that does not take one is refused with the options it has.
    """
    spec = get_method(method)
    options = options or {}
    unknown = sorted(set(options) - set(spec.options))
    if unknown:
        raise UsageError(f"--method {method} has no option {unknown[0]!r} "
                         f"(its options: {list(spec.options) or 'none'})")
    pick_device(device)                    # --device cuda without a GPU: one clear line
    check_output_dir(out_dir, frames_dir)
    names, frames, first, seen = load_inputs(frames_dir, mask_path)
    check_model_available(method, checkpoint, train_if_missing)
    seg = spec.segmenter(checkpoint=checkpoint, device=device, **options)
    t0 = time.perf_counter()
    result = seg.segment(frames, first)
    dt = time.perf_counter() - t0
    extra_ids = set(np.unique(result.masks).tolist()) - set(object_ids(first)) - {0}
    if extra_ids:
        raise RuntimeError(f"{method} produced ids {sorted(extra_ids)} absent from {mask_path}")
    result.masks[0] = np.where(first == VOID, 0, first)  # frame 0 is the given annotation
    return write_outputs(out_dir, names, frames, result, method, {
        "seconds": round(dt, 3), "fps": round(len(frames) / max(dt, 1e-9), 2),
        "first_mask": {"rule": seen["rule"], "objects": seen["objects"],
                       "dropped": seen["dropped"]}, "input_notes": seen["notes"]})
