"""Time DIPNet at CPU scale (DIPNet Sec. 4.1 "Running Time").

On the first ``--sequences`` synthetic val videos with the cached CPU-scale model:

* one-shot fine-tuning seconds per video (full frame, then per instance on the crop);
* inference seconds per frame (median over frames, robust to other load), with the
  foreground crop (DIPNet) and without (DIPNet*);
* seconds per frame overall, fine-tuning included: ``(fine-tuning + inference) / frames``.

The paper's figures (Titan Xp): 110 ms per frame for inference, 40 s for 200 fine-tuning
iterations on the full frame and 20 s for 100 on the crop, 1.09 s per frame overall on
DAVIS 2016.  Seconds on a 1-thread CPU and on a GPU are not comparable; the shares are
(how much of the overall time the fine-tuning takes).

Writes ``vos_lib/dipnet/timings_cpu.json`` (package data, read by the book) and prints a
table.  Run: ``python benchmarks/bench_dipnet.py [--sequences 4] [--threads 1]``.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from vos_lib.dipnet import DIPNetSegmenter, load_dipnet, train_dipnet
from vos_lib.dipnet.paper import TIMES

from cpu_common import machine, parse_args, val_videos   # benchmarks/cpu_common.py

OUT = Path(__file__).resolve().parent.parent / "vos_lib" / "dipnet" / "timings_cpu.json"


def timed(seg, videos) -> dict:
    per_frame, ft_full, ft_inst, frames = [], [], [], 0
    for frames_v, first in videos:
        r = seg.segment(frames_v, first)
        per_frame += r.info["frame_seconds"]
        ft_full.append(r.info["finetune_seconds_full"])
        ft_inst.append(r.info["finetune_seconds_instances"])
        frames += len(frames_v)
    ft = float(np.sum(ft_full) + np.sum(ft_inst))
    return {"frames": frames, "median_frame_seconds": float(np.median(per_frame)),
            "mean_frame_seconds": float(np.mean(per_frame)),
            "finetune_seconds_per_video": ft / len(videos),
            "finetune_full_seconds_per_video": float(np.mean(ft_full)),
            "finetune_instances_seconds_per_video": float(np.mean(ft_inst)),
            "overall_seconds_per_frame": (ft + float(np.sum(per_frame))) / frames}


def main():
    a = parse_args(__doc__, OUT)
    model = load_dipnet(train_dipnet("cpu", progress=False))
    videos = val_videos(a.sequences)
    DIPNetSegmenter(model, finetune=False).segment(videos[0][0][:4], videos[0][1])  # warm-up
    runs = {"DIPNet": timed(DIPNetSegmenter(model), videos),
            "DIPNet*": timed(DIPNetSegmenter(model, crop=False), videos),
            "DIPNet w/o one-shot": timed(DIPNetSegmenter(model, finetune=False), videos)}
    cfg = model.cfg
    out = {"machine": machine(a.threads),
           "sequences": a.sequences, "objects": [int(len(np.unique(f)) - 1) for _, f in videos],
           "ft_iters": {"full": cfg.ft_iters_full, "crop": cfg.ft_iters_crop},
           "runs": runs, "paper": TIMES, "note": a.note}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=1))
    print(f"DIPNet at CPU scale ({out['machine']}), {sum(len(f) for f, _ in videos)} "
          f"frames of {a.sequences} videos")
    print(f"{'run':<22}{'s/frame (median)':>18}{'fine-tune s/video':>19}{'overall s/frame':>17}")
    for k, r in runs.items():
        print(f"{k:<22}{r['median_frame_seconds']:18.3f}{r['finetune_seconds_per_video']:19.2f}"
              f"{r['overall_seconds_per_frame']:17.3f}")
    share = 1 - runs["DIPNet"]["mean_frame_seconds"] * runs["DIPNet"]["frames"] / (
        runs["DIPNet"]["overall_seconds_per_frame"] * runs["DIPNet"]["frames"])
    paper_share = 1 - TIMES["inference_s_per_frame"] / TIMES["overall_s_per_frame"]
    print(f"fine-tuning share of the overall time: ours {share:.0%}, paper {paper_share:.0%}")


if __name__ == "__main__":
    main()
