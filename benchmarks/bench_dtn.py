"""Time DTN inference per frame at CPU scale (DTN Table 4, Fig. 6 speed axis).

Measures, on the synthetic val videos with the cached CPU-scale checkpoint:
  * seconds per frame of each component: backbone, DM (flow network + mask warp + warp
    statistics + decision head; the warp is shared with BP), BP (boxes of the warped
    masks), BR (conditional RPN + Eq. 2 matching, per BR frame), MRN;
  * the time of one BR-routed frame over one BP-routed frame;
  * conditional-RPN vs original-RPN (top-100) re-identification on the same frames;
  * frames per second with the decision module at several theta_c (from the median time
    of BP and BR frames, robust to other load on the machine; wall-clock rate kept too).

Writes ``vos_lib/dtn/timings_cpu.json`` (package data, read by the book's chapters) and
prints a table.  Run: ``python benchmarks/bench_dtn.py [--sequences 4] [--threads 1]``.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from vos_lib.dtn import DTNSegmenter
from vos_lib.dtn.train import load_dtn, train_dtn

from cpu_common import machine, parse_args, val_videos   # benchmarks/cpu_common.py

# shipped with the package, so the book reads it after a pip install too
OUT = Path(__file__).resolve().parent.parent / "vos_lib" / "dtn" / "timings_cpu.json"


def timed_run(seg, videos):
    t0 = time.perf_counter()
    comp_total, routes, n, by_route = {}, [], 0, {}
    for frames, first in videos:
        r = seg.segment(frames, first)
        for k, v in r.info["component_total"].items():
            comp_total[k] = comp_total.get(k, 0.0) + v
        for route, sec in zip(r.info["routes"], r.info["frame_seconds"]):
            by_route.setdefault(route, []).append(sec)
        routes += r.info["routes"]
        n += len(frames) - 1
    wall = time.perf_counter() - t0
    return wall, comp_total, routes, n, by_route


def main():
    a = parse_args(__doc__, OUT)
    model = load_dtn(train_dtn("cpu", progress=False))
    videos = val_videos(a.sequences)
    # warm-up
    DTNSegmenter(model, policy="bp").segment(videos[0][0][:5], videos[0][1])

    # Every comparison is made *within* one run, frame by frame, so that other load on
    # the machine hits both sides alike: a run that mixes BP and BR frames at random gives
    # the per-component times and the BR/BP frame-time ratio; the conditional and the
    # original RPN re-identify the same videos one after the other, video by video.
    res = {}
    wall, comp_tot, routes, n, by_route = timed_run(DTNSegmenter(model, policy="random", p_bp=0.5), videos)
    n_br = sum(r == "BR" for r in routes)
    comp = {k: v / n for k, v in comp_tot.items() if k != "BR"}
    comp["BR"] = comp_tot["BR"] / max(n_br, 1)             # per BR frame
    t_bp, t_br = (float(np.median(by_route[r])) for r in ("BP", "BR"))
    res["mixed"] = {"seconds_per_frame": wall / n, "frames_by_route": {k: len(v) for k, v in by_route.items()},
                    "seconds_by_route": {"BP": t_bp, "BR": t_br}}
    rpn_t = {"conditional": 0.0, "full": 0.0}
    rpn_frames = {"conditional": 0, "full": 0}
    for v in videos:
        for mode in ("conditional", "full"):
            _, c, r, _, _ = timed_run(DTNSegmenter(model, policy="br", rpn=mode), [v])
            rpn_t[mode] += c["BR"]
            rpn_frames[mode] += sum(x == "BR" for x in r)
    crpn_s, full_s = (rpn_t[m] / rpn_frames[m] for m in ("conditional", "full"))
    fps = []
    for th in (0.5, 0.7, 0.83, 0.9, 0.95):
        wall, _, routes, n_th, _ = timed_run(DTNSegmenter(model, theta_c=th), videos)
        b = float(np.mean([r == "BR" for r in routes]))
        # the rate that the BR fraction implies with the mixed run's frame times, and the
        # plain wall-clock rate of this run (noisier on a shared machine)
        fps.append({"theta_c": th, "fps": 1.0 / (b * t_br + (1 - b) * t_bp),
                    "fps_wall": n_th / wall, "br_fraction": b})
    out = {
        "machine": machine(a.threads),
        "frames": sum(len(f) - 1 for f, _ in videos), "sequences": a.sequences,
        "components": comp,
        "br_over_bp_frame_time": t_br / t_bp,
        "bp_frame_seconds": t_bp, "br_frame_seconds": t_br,
        "crpn_seconds": crpn_s, "full_rpn_seconds": full_s,
        "full_over_conditional_rpn": full_s / crpn_s,
        "fps_by_theta": fps, "runs": res, "note": a.note,
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=1))
    print(f"DTN at CPU scale ({out['machine']}), {out['frames']} frames")
    print("per-component seconds per frame (Table 4):")
    for k in ("backbone", "DM", "BP", "BR", "MRN"):
        print(f"  {k:<9}{comp.get(k, float('nan')) * 1000:8.1f} ms")
    print(f"BR-frame / BP-frame time:         {out['br_over_bp_frame_time']:.2f}x "
          f"({out['br_frame_seconds'] * 1000:.1f} vs {out['bp_frame_seconds'] * 1000:.1f} ms, medians)")
    print(f"re-identification, conditional RPN: {out['crpn_seconds'] * 1000:.1f} ms; "
          f"original RPN top-100: {out['full_rpn_seconds'] * 1000:.1f} ms "
          f"({out['full_over_conditional_rpn']:.2f}x)")
    for f in fps:
        print(f"theta_c={f['theta_c']:<5} fps={f['fps']:6.1f} (wall clock {f['fps_wall']:.1f})  "
              f"BR fraction={f['br_fraction']:.0%}")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
