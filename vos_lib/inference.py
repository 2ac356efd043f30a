"""Run a segmenter over a DAVIS-format split, write a results folder, score it."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .data import DAVIS
from .io import write_mask


def segment_split(segmenter, davis: DAVIS, out_dir, sequences=None, progress=True) -> dict:
    """Segment every sequence from its first annotated frame; write ``out_dir/<seq>/%05d.png``.

    Returns ``{seq: info}`` with each sequence's routing/timing information.
    """
    out_dir = Path(out_dir)
    infos = {}
    for seq in tqdm(sequences or davis.sequences, desc=f"segment [{segmenter.name}]",
                    disable=not progress, leave=False):
        s = davis.load_sequence(seq)
        res = segmenter.segment(list(s.frames), s.masks[0])
        for t, m in enumerate(res.masks):
            write_mask(out_dir / seq / f"{t:05d}.png", m)
        infos[seq] = res.info
    return infos


def run_and_score(segmenter, davis_root, out_dir, split="val", sequences=None, progress=True) -> dict:
    """Segment a split and evaluate it with :mod:`vos_lib.metrics`; returns the scores and infos."""
    from .evaluate import evaluate

    davis = DAVIS(davis_root, year="2017", split=split)
    infos = segment_split(segmenter, davis, out_dir, sequences, progress)
    scores = evaluate(davis_root, out_dir, split=split, sequences=sequences, write=False)
    routes = [r for i in infos.values() for r in i.get("routes", [])]
    br = float(np.mean([r == "BR" for r in routes])) if routes else 0.0
    return {"scores": scores, "infos": infos, "br_fraction": br}
