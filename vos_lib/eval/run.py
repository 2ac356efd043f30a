"""Run a segmenter over a DAVIS-format split, write a results folder, score it.

:func:`run_cached` does the same once per checkpoint and keeps a small JSON summary
(:mod:`vos_lib.engine.cache`), which is how the book's tables and sweeps are computed.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..data import DAVIS
from ..engine.cache import cached_json, fingerprint, results_dir
from ..io import write_mask
from ..paths import synthetic_root


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
    """Segment a split and evaluate it with :mod:`vos_lib.eval.metrics`; returns the scores and infos."""
    from ..eval.evaluate import evaluate

    davis = DAVIS(davis_root, year="2017", split=split)
    infos = segment_split(segmenter, davis, out_dir, sequences, progress)
    scores = evaluate(davis_root, out_dir, split=split, sequences=sequences, write=False)
    routes = [r for i in infos.values() for r in i.get("routes", [])]
    br = float(np.mean([r == "BR" for r in routes])) if routes else 0.0
    return {"scores": scores, "infos": infos, "br_fraction": br}


def summarize(r: dict) -> dict:
    """The JSON-able part of :func:`run_and_score`'s result: global scores, per-sequence
    J&F, routes/confidences when the method reports them, the BR fraction, and each
    sequence's numeric info (:func:`_numbers`)."""
    per_seq = {}
    for obj, v in r["scores"].get("per_object", {}).items():
        per_seq.setdefault(obj.rsplit("_", 1)[0], []).append((v["J-Mean"] + v["F-Mean"]) / 2)
    g = r["scores"]["global"]
    return {"global": {k: float(v) for k, v in g.items() if isinstance(v, (int, float))},
            "br_fraction": r["br_fraction"],
            "routes": {seq: info.get("routes", []) for seq, info in r["infos"].items()},
            "confidence": {seq: info.get("confidence", []) for seq, info in r["infos"].items()},
            "per_sequence": {s: float(np.mean(v)) for s, v in per_seq.items()},
            "info": {seq: _numbers(info) for seq, info in r["infos"].items()}}


def _numbers(info: dict) -> dict:
    """A sequence's info reduced to numbers: scalars as they are, lists of numbers summed
    (``<key>_sum``) - e.g. DIPNet's fine-tuning seconds, identity-update skips, overlaps."""
    out = {}
    for k, v in info.items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            out[k] = v
        elif isinstance(v, list) and v and all(isinstance(x, (int, float)) for x in v):
            out[f"{k}_sum"] = float(sum(v))
    return out


def run_cached(name: str, make_segmenter, ckpt=None, sequences=None, root=None) -> dict:
    """Segment + score the val split with ``make_segmenter()``; cached under ``name`` and
    recomputed when the checkpoint ``ckpt`` (or the sequence list) changes."""
    root = Path(root) if root else synthetic_root()
    key = {"checkpoint": fingerprint(ckpt) if ckpt else None, "sequences": sequences}

    def compute():
        r = run_and_score(make_segmenter(), root, results_dir() / name, split="val",
                          sequences=sequences, progress=False)
        return summarize(r)
    return cached_json(name, key, compute)
