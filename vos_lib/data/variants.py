"""Derived copies of a DAVIS-format split for the three settings of DIPNet's Table 6.

The paper measures its networks on DAVIS 2016 (one object per video), on DAVIS 2017 with
all objects merged into one foreground, and on DAVIS 2017's instances.  We have one
multi-object synthetic split, so the first two settings are copies of it:

- ``"foreground"``: every object id becomes 1 (what ``DAVIS(year="2016")`` reads from a
  2017 layout, written out so that any segmenter and the evaluator see it as is);
- ``"single"``: only object 1 stays annotated, the others become background.  Unlike
  DAVIS 2016 they still move through the frames, as unlabelled distractors.

Frames, flows and metadata are hard links (or copies where links fail); annotations are
rewritten.  A copy is written to a temporary folder and renamed into place, under a file
lock, so two processes may ask for the same copy.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ..io import VOID, read_mask, replace_dir, write_mask
from ..paths import file_lock

KINDS = ("foreground", "single")


def relabel(mask: np.ndarray, kind: str) -> np.ndarray:
    """One annotation of the ``kind`` copy: ids merged into 1 (``foreground``) or only id 1
    kept (``single``); void (255) stays void."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose one of {KINDS}")
    obj = (mask > 0) & (mask != VOID) if kind == "foreground" else mask == 1
    out = obj.astype(np.uint8)
    out[mask == VOID] = VOID
    return out


def _link_tree(src: Path, dst: Path) -> None:
    for f in sorted(src.rglob("*")):
        target = dst / f.relative_to(src)
        if f.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(f, target)
        except OSError:
            shutil.copy2(f, target)


def derived_split(src_root, dst_root, kind: str, sequences, split: str = "val",
                  resolution: str = "480p") -> Path:
    """Write (once) the ``kind`` copy of ``sequences`` of ``src_root`` to ``dst_root``, a
    DAVIS-format root whose ``ImageSets/2017/<split>.txt`` lists them; return it."""
    src, dst = Path(src_root), Path(dst_root)
    sequences = list(sequences)
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose one of {KINDS}")
    listing = dst / "ImageSets" / "2017" / f"{split}.txt"
    want = "\n".join(sequences) + "\n"
    if listing.is_file() and listing.read_text() == want:
        return dst
    dst.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(dst.parent / f"{dst.name}.lock"):
        if listing.is_file() and listing.read_text() == want:
            return dst
        tmp = Path(tempfile.mkdtemp(dir=dst.parent, prefix=f".{dst.name}.tmp-"))
        for seq in sequences:
            ann = src / "Annotations" / resolution / seq
            if not ann.is_dir():
                raise FileNotFoundError(f"{ann}: no annotations for sequence {seq!r}")
            for sub in ("JPEGImages", "Flow"):
                if (src / sub / resolution / seq).is_dir():
                    _link_tree(src / sub / resolution / seq, tmp / sub / resolution / seq)
            if (src / "Meta" / f"{seq}.json").is_file():
                (tmp / "Meta").mkdir(exist_ok=True)
                shutil.copy2(src / "Meta" / f"{seq}.json", tmp / "Meta" / f"{seq}.json")
            for png in sorted(ann.glob("*.png")):
                write_mask(tmp / "Annotations" / resolution / seq / png.name,
                           relabel(read_mask(png), kind))
        (tmp / "ImageSets" / "2017").mkdir(parents=True)
        (tmp / "ImageSets" / "2017" / f"{split}.txt").write_text(want)
        replace_dir(tmp, dst)
    return dst
