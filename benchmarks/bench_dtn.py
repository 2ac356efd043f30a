"""Time DTN inference per frame at CPU scale (DTN Table 4, Fig. 6 speed axis).

Measures, on the synthetic val videos with the cached CPU-scale checkpoint:
  * seconds per call of each component: backbone, DM (flow network + decision module),
    BP (warp + boxes), BR (conditional RPN + Eq. 2 matching), MRN;
  * the time of one BR-routed frame over one BP-routed frame;
  * conditional-RPN vs original-RPN (top-100) re-identification on the same frames;
  * frames per second with the decision module at several theta_c.

Writes ``benchmarks/results/dtn_cpu.json`` (read by the book's ablation chapter) and
prints a table.  Run: ``python benchmarks/bench_dtn.py [--sequences 4] [--threads 2]``.
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from vos_lib.data import DAVIS
from vos_lib.dtn import DTNSegmenter
from vos_lib.paths import synthetic_root
from vos_lib.train import load_dtn, train_dtn

OUT = Path(__file__).resolve().parent / "results" / "dtn_cpu.json"


def timed_run(seg, videos):
    t0 = time.perf_counter()
    comp_total, comp_count, routes, n = {}, {}, [], 0
    for frames, first in videos:
        r = seg.segment(frames, first)
        for k, v in r.info["component_total"].items():
            comp_total[k] = comp_total.get(k, 0.0) + v
        routes += r.info["routes"]
        n += len(frames) - 1
    wall = time.perf_counter() - t0
    return wall, comp_total, routes, n


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sequences", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=str(OUT))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model = load_dtn(train_dtn("cpu", progress=False))
    davis = DAVIS(synthetic_root(), split="val")
    videos = []
    for s in davis.sequences[:a.sequences]:
        seq = davis.load_sequence(s, load_flows=False)
        videos.append((list(seq.frames), seq.masks[0]))
    # warm-up
    DTNSegmenter(model, policy="bp").segment(videos[0][0][:5], videos[0][1])

    res = {}
    for name, kw in [("bp", {"policy": "bp"}), ("br", {"policy": "br"}),
                     ("br_full_rpn", {"policy": "br", "rpn": "full"})]:
        wall, comp, routes, n = timed_run(DTNSegmenter(model, **kw), videos)
        res[name] = {"seconds_per_frame": wall / n,
                     "components": {k: v / n for k, v in comp.items()}}
    # per-component times (Table 4): BR from BR-only runs, everything else from BP-only runs
    comp = dict(res["bp"]["components"])
    comp["BR"] = res["br"]["components"]["BR"]
    fps = []
    for th in (0.5, 0.83, 0.95):
        wall, _, routes, n = timed_run(DTNSegmenter(model, theta_c=th), videos)
        fps.append({"theta_c": th, "fps": n / wall, "br_fraction": float(np.mean([r == "BR" for r in routes]))})
    out = {
        "machine": f"{platform.machine()} CPU, {a.threads} threads, torch {torch.__version__}",
        "frames": sum(len(f) - 1 for f, _ in videos), "sequences": a.sequences,
        "components": comp,
        "br_over_bp_frame_time": res["br"]["seconds_per_frame"] / res["bp"]["seconds_per_frame"],
        "crpn_seconds": res["br"]["components"]["BR"],
        "full_rpn_seconds": res["br_full_rpn"]["components"]["BR"],
        "full_over_conditional_rpn": res["br_full_rpn"]["components"]["BR"] / res["br"]["components"]["BR"],
        "fps_by_theta": fps, "runs": res,
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=1))
    print(f"DTN at CPU scale ({out['machine']}), {out['frames']} frames")
    print("per-component seconds per frame (Table 4):")
    for k in ("backbone", "DM", "BP", "BR", "MRN"):
        print(f"  {k:<9}{comp.get(k, float('nan')) * 1000:8.1f} ms")
    print(f"BR-frame / BP-frame time:         {out['br_over_bp_frame_time']:.2f}x")
    print(f"re-identification, conditional RPN: {out['crpn_seconds'] * 1000:.1f} ms; "
          f"original RPN top-100: {out['full_rpn_seconds'] * 1000:.1f} ms "
          f"({out['full_over_conditional_rpn']:.2f}x)")
    for f in fps:
        print(f"theta_c={f['theta_c']:<5} fps={f['fps']:6.1f}  BR fraction={f['br_fraction']:.0%}")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
