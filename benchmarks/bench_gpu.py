"""Time DTN and DIPNet training steps and inference on a CUDA GPU with mixed precision.

For each preset of ``vos_lib.config`` (DTN at ``cpu``: small ResNet-18 + FlowNet-S at
96x160; ``paper``: ResNet-50 + RAFT-small, M = 112, 256 channels at 480x864) this
measures, with RANDOM weights (nothing is trained or loaded; the paper preset's ImageNet
/ RAFT weights are not fetched, see ``--pretrained``):

1. training: milliseconds per optimisation step of ``DTN.training_step`` (Eq. 5 losses)
   in both stages (``model.stage = "pretrain"`` on ``StaticPairDataset`` triples,
   ``"finetune"`` on ``VideoClipDataset`` triples), exactly as ``vos_lib.engine.trainer.fit``
   steps: forward under ``torch.autocast(float16)``, ``GradScaler`` backward, gradient
   clipping at 10, optimizer step (the preset's optimizer and parameter groups).  Batches
   (``preset.train.batch_size`` at ``preset.dtn.input_size``) are made by the library's
   own datasets from a tiny generated synthetic dataset, collated by a ``DataLoader`` and
   put on the GPU before timing, so data loading is not in the step time.  After warm-up
   steps, ``--steps`` steps are timed one by one (``torch.cuda.synchronize``); reported:
   median / mean ms per step and peak GPU memory (``torch.cuda.max_memory_allocated``).
2. inference: ``DTNSegmenter(model, device="cuda")`` over generated val videos at the
   preset's data size (96x160 and 480x854), in fp32 and inside
   ``torch.autocast("cuda", float16)``, with the decision module (``policy="dm"``,
   theta_c = 0.83) and with both streams forced (``"bp"``, ``"br"``; with random weights
   the DM's routing means nothing, forcing measures both streams).  Reported: per-frame
   median / mean ms and fps, Table 4's per-component seconds (backbone, DM, BP, BR per BR
   frame, MRN), median BP-frame and BR-frame times and peak GPU memory.

DIPNet (``preset.dipnet``; ``cpu``: ResNet-18 1-1-1-1, 128x128 propagation, SSN at
96x160, 30 + 20 fine-tuning iterations; ``paper``: three ResNet-50s, 256x256 propagation,
SSN at 512x512, 200 + 100 fine-tuning iterations), the same way and on the same data:

3. training: ms per step of ``DIPNet.training_step`` in each phase (``model.stage =
   "ipn"``: feature and identity encoders and the propagation module; ``"ssn"``: the
   segmentation network), the optimizer over that phase's parameters only
   (``vos_lib.dipnet.train.PHASES``, ``make_optimizer(..., cfg.lr)``), on
   ``VideoClipDataset`` pairs at ``cfg.ssn_size`` (the "off-line" stage; the static
   pre-training pairs run the same networks on the same tensor sizes); same loop as above.
4. inference: ``DIPNetSegmenter(model, device="cuda")`` over the same val videos, in fp32
   and under autocast, without and with one-shot fine-tuning of the SSN on the first
   frame (``ft_iters_full`` iterations on the frame, then ``ft_iters_crop`` per object on
   the foreground crop).  Reported: per-frame median / mean ms (``info["frame_seconds"]``,
   fine-tuning not included), fine-tuning seconds per video (full frame, instances) and
   per iteration, and seconds per frame overall (fine-tuning included), beside the
   paper's Sec. 4.1 times on a Titan Xp (``vos_lib.dipnet.paper.TIMES``: 110 ms per frame,
   40 s for 200 iterations on the frame, 20 s for 100 on the crop, 1.09 s per frame).

The JSON holds DTN under ``presets`` (as before DIPNet was added) and DIPNet under
``dipnet.presets``, with the papers' numbers beside them (DTN Table 4: one NVIDIA 1080Ti,
FlowNet2-S; DIPNet Sec. 4.1: one Titan Xp).  ``--methods`` picks the methods.  Each
measurement is guarded: an error (e.g. a dtype error under autocast) is recorded in the
JSON, and a failed AMP training step is retried in fp32.

Run::

    python benchmarks/bench_gpu.py                    # full run on CUDA (DTN: ~1 min, H100)
    python benchmarks/bench_gpu.py --smoke            # tiny; runs on CPU too (tests the script)
    python benchmarks/bench_gpu.py --out-dir DIR      # JSON goes to DIR/gpu_<gpu>.json
    python benchmarks/bench_gpu.py --methods dipnet   # one method only (dtn, dipnet)

Without ``--out-dir`` the JSON goes to ``$OUT`` if that is set, else to
``benchmarks/results/`` (a smoke run without either writes to a temporary folder).
Generated data goes to ``--data-dir`` (default: a temporary folder, removed at the end).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import tempfile
import time
import traceback
import warnings
from contextlib import nullcontext
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from vos_lib.config import get_preset
from vos_lib.data import DAVIS, StaticPairDataset, VideoClipDataset
from vos_lib.dipnet import DIPNet, DIPNetSegmenter
from vos_lib.dipnet.paper import TIMES as DIPNET_TIMES
from vos_lib.dipnet.train import PHASES as DIPNET_PHASES
from vos_lib.dtn import DTN, DTNSegmenter
from vos_lib.data.synthetic import SyntheticConfig, ensure_dataset
from vos_lib.engine.trainer import make_optimizer, seed_everything, to_device

RESULTS = Path(__file__).resolve().parent / "results"
COMPONENTS = ("backbone", "DM", "BP", "BR", "MRN")
# DTN (Zhang et al., ICCV 2019), Table 4 (DAVIS 2016, one NVIDIA 1080Ti) and Sec. 4.2
PAPER = {
    "source": "DTN, Zhang et al., ICCV 2019: Table 4 and Sec. 4.2 ('14 fps')",
    "gpu": "NVIDIA GeForce GTX 1080 Ti", "flow": "FlowNet2-S", "backbone": "resnet50",
    "component_seconds": {"backbone": 0.021, "DM": 0.003, "BP": 0.003, "BR": 0.071, "MRN": 0.015},
    "fps": 14.0, "theta_c": 0.83,
    # sums of Table 4 (our reading; the paper gives no per-route frame times)
    "bp_frame_seconds_sum": 0.042, "br_frame_seconds_sum": 0.110,
}
# DIPNet (Hu et al., WACV 2020), Sec. 4.1 "Running Time" (one Titan Xp, DAVIS 2016)
PAPER_DIPNET = {
    "source": "DIPNet, Hu et al., WACV 2020: Sec. 4.1 'Running Time' "
              "(vos_lib.dipnet.paper.TIMES)",
    "gpu": "NVIDIA Titan Xp", "backbone": "resnet50", "ssn_size": [512, 512],
    "ft_iters_full": 200, "ft_iters_crop": 100, **DIPNET_TIMES,
    "finetune_full_ms_per_iter": 1000 * DIPNET_TIMES["finetune_200_full_s"] / 200,
    "finetune_crop_ms_per_iter": 1000 * DIPNET_TIMES["finetune_100_crop_s"] / 100,
}
DAVIS16_FRAMES = 1376 / 20   # DAVIS 2016 val: 20 videos, 1,376 frames (the paper's 1.09 s)
METHODS = ("dtn", "dipnet")


# ----------------------------------------------------------------------------- helpers
def _clean(text: str) -> str:
    """One line, no machine paths (for error and warning messages stored in the JSON)."""
    text = re.sub(r"(?:[A-Za-z]:)?(?:/[\w.@+\-]+){2,}/?", "<path>", str(text))
    return " ".join(text.split())[:400]


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def _reset_peak(device):
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def _peak_mib(device):
    return round(torch.cuda.max_memory_allocated() / 2**20, 1) if device.type == "cuda" else None


def _ms_stats(seconds) -> dict:
    ms = [s * 1000 for s in seconds]
    if not ms:
        return {"ms_median": None, "ms_mean": None}
    return {"ms_median": round(statistics.median(ms), 3), "ms_mean": round(statistics.fmean(ms), 3),
            "ms_min": round(min(ms), 3), "ms_max": round(max(ms), 3)}


def _error(e: BaseException) -> str:
    """``Type: message [at file:line in function]`` (innermost frame and innermost vos_lib
    frame, file names only); the full traceback goes to stderr."""
    traceback.print_exc()
    frames = traceback.extract_tb(e.__traceback__)
    lib = [f for f in frames if "vos_lib" in f.filename]
    where = list(dict.fromkeys(f"{Path(f.filename).name}:{f.lineno} in {f.name}"
                               for f in frames[-1:] + lib[-1:]))
    return _clean(f"{type(e).__name__}: {e}") + (f" [at {'; '.join(where)}]" if where else "")


# ------------------------------------------------------------------------ setup, data
def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--smoke", action="store_true",
                    help="tiny run (2 steps, 1 short video, small paper-preset input); CPU works")
    ap.add_argument("--presets", default="cpu,paper")
    ap.add_argument("--methods", default=",".join(METHODS), help="dtn, dipnet or both")
    ap.add_argument("--steps", type=int, default=None, help="timed training steps (20; smoke 2)")
    ap.add_argument("--warmup", type=int, default=None, help="warm-up steps (5; smoke 1)")
    ap.add_argument("--videos", type=int, default=None, help="val videos timed (3; smoke 1)")
    ap.add_argument("--frames", type=int, default=None, help="frames per video (12; smoke 4)")
    ap.add_argument("--device", default=None, help="cuda (default when present) or cpu")
    ap.add_argument("--no-amp", action="store_true", help="fp32 training (inference does both)")
    ap.add_argument("--pretrained", action="store_true",
                    help="keep the preset's pretrained flag (tries to download weights; "
                         "offline it warns and keeps random init)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (smoke: 1)")
    ap.add_argument("--workers", type=int, default=None, help="data generation processes")
    ap.add_argument("--data-dir", default=None, help="generated data (kept; default: temp)")
    ap.add_argument("--out-dir", default=None, help="where gpu_<gpu>.json goes")
    a = ap.parse_args(argv)
    d = (2, 1, 1, 4) if a.smoke else (20, 5, 3, 12)
    a.steps = d[0] if a.steps is None else a.steps
    a.warmup = d[1] if a.warmup is None else a.warmup
    a.videos = d[2] if a.videos is None else a.videos
    a.frames = d[3] if a.frames is None else a.frames
    a.methods = [m.strip() for m in a.methods.split(",") if m.strip()]
    if set(a.methods) - set(METHODS):
        ap.error(f"--methods: choose from {', '.join(METHODS)}")
    return a


def make_preset(name: str, args):
    """The preset, with random weights unless ``--pretrained``; smaller sizes in smoke mode."""
    p = get_preset(name)
    dtn = p.dtn if args.pretrained else replace(p.dtn, pretrained=False)
    dip = p.dipnet if args.pretrained else replace(p.dipnet, pretrained=False)
    data = p.data
    if args.smoke:       # same architecture, small frames: 96x160 data, <= 128x224 input
        data = replace(data, height=96, width=160)
        h, w = dtn.input_size
        dtn = replace(dtn, input_size=(min(h, 128), min(w, 224)))
        # DIPNet: <= 128x128 propagation and SSN inputs, 2 + 1 fine-tuning iterations
        dip = replace(dip, prop_size=tuple(min(v, 128) for v in dip.prop_size),
                      ssn_size=tuple(min(v, 128) for v in dip.ssn_size),
                      ft_iters_full=2, ft_iters_crop=1)
    return replace(p, methods={**p.methods, "dtn": dtn, "dipnet": dip}, data=data)


def make_data(preset, data_dir: Path, args) -> tuple[Path, float]:
    """A tiny synthetic DAVIS-format dataset at the preset's data size (2 train videos)."""
    cfg = SyntheticConfig(height=preset.data.height, width=preset.data.width, n_train=2,
                          n_val=max(args.videos, 2), n_frames=max(args.frames, 6), seed=0)
    root = data_dir / f"synthetic-{cfg.height}x{cfg.width}-{cfg.n_frames}f"
    workers = args.workers or (1 if args.smoke else min(8, os.cpu_count() or 1))
    t0 = time.perf_counter()
    ensure_dataset(root, cfg, progress=False, workers=workers)
    return root, time.perf_counter() - t0


def train_batches(preset, root: Path, stage: str, n: int, device, size=None,
                  max_skip: int = 2) -> tuple[list, float]:
    """``n`` collated batches on ``device`` from the datasets training uses for ``stage``
    (as ``vos_lib.dtn.train._datasets`` / ``_loader`` build them; DIPNet passes its
    ``ssn_size`` and ``max_gap``, as ``vos_lib.dipnet.train._datasets``); also seconds
    per batch.  ``stage == "pretrain"``: static pairs, else video clips."""
    size, seed = tuple(size or preset.dtn.input_size), preset.train.seed
    train = DAVIS(root, year="2017", split="train")
    ds = (StaticPairDataset(train, size=size, seed=seed) if stage == "pretrain" else
          VideoClipDataset(train, size=size, max_skip=max_skip, augment=True, seed=seed))
    loader = DataLoader(ds, batch_size=preset.train.batch_size, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(seed), num_workers=0)
    out, t0 = [], time.perf_counter()
    for batch in loader:
        out.append(to_device(batch, device))
        if len(out) == n:
            break
    return out, (time.perf_counter() - t0) / max(len(out), 1)


def build_model(preset, device, method: str = "dtn") -> tuple[torch.nn.Module, list]:
    """A randomly initialised DTN or DIPNet (seeded); warnings (offline weights) are
    kept, not raised."""
    seed_everything(preset.train.seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = (DIPNet(preset.dipnet) if method == "dipnet" else DTN(preset.dtn)).to(device)
    msgs = sorted({_clean(w.message) for w in caught})
    return model, msgs


def val_videos(root: Path, n: int, frames: int) -> list:
    davis = DAVIS(root, year="2017", split="val")
    out = []
    for s in davis.sequences[:n]:
        seq = davis.load_sequence(s, load_flows=False)
        out.append((list(seq.frames[:frames]), seq.masks[0]))
    return out


# ---------------------------------------------------------------------------- training
def _optimizer(model: DTN, preset, stage: str):
    """The optimizer ``vos_lib.dtn.train.run_stage`` makes: the flow net frozen, the DM its own lr."""
    T, C = preset.train, preset.dtn
    lr = C.pretrain_lr if stage == "pretrain" else C.finetune_lr
    rest = [p for n, p in model.named_parameters() if not n.startswith(("flow.", "dm."))]
    groups = [{"params": rest, "lr": lr},
              {"params": list(model.dm.parameters()), "lr": lr * C.dm_lr_mult}]
    return make_optimizer(groups, T.optimizer, lr, T.momentum)


def _step_loop(model, opt, batches: list, device, amp: bool, args) -> dict:
    """Warm up, then time ``args.steps`` steps of fit's inner loop one by one."""
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    _reset_peak(device)
    times, skipped, losses = [], 0, {}
    for i in range(args.warmup + args.steps):
        batch = batches[i % len(batches)]
        scale = scaler.get_scale() if amp else 1.0
        _sync(device)
        t0 = time.perf_counter()
        with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=amp):
            losses = model.training_step(batch)
        total = sum(losses.values())
        opt.zero_grad(set_to_none=True)
        scaler.scale(total).backward()
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        scaler.step(opt)
        scaler.update()
        _sync(device)
        if i >= args.warmup:
            times.append(time.perf_counter() - t0)
            skipped += int(amp and scaler.get_scale() < scale)   # inf/nan grads: step skipped
    last = {k: float(v.detach()) for k, v in losses.items()}
    n_obj = [int(b["n_objects"].sum()) for b in batches]
    return {"amp": amp, "warmup": args.warmup, "steps": len(times),
            **_ms_stats(times), "peak_mem_mib": _peak_mib(device),
            "distinct_batches": len(batches), "objects_per_batch_mean": float(np.mean(n_obj)),
            "amp_skipped_steps": skipped, "last_losses": last,
            "losses_finite": all(np.isfinite(v) for v in last.values())}


def time_training(preset, stage: str, batches: list, device, amp: bool, args) -> dict:
    """DTN: one stage's steps, the optimizer ``vos_lib.dtn.train.run_stage`` makes."""
    model, _ = build_model(preset, device)
    model.stage = stage
    model.train()
    opt = _optimizer(model, preset, stage)
    res = {"stage": stage, **_step_loop(model, opt, batches, device, amp, args)}
    del model, opt
    return res


def _train_stages(stages, make_batches, timer, device, amp: bool) -> dict:
    """``timer(stage, batches, amp)`` for each stage; a failing AMP run is recorded and
    retried in fp32."""
    out = {}
    for stage in stages:
        try:
            batches, data_s = make_batches(stage)
        except Exception as e:                                   # noqa: BLE001
            out[stage] = {"error": "batches: " + _error(e)}
            continue
        res, err = None, None
        for use_amp in ((amp, False) if amp else (False,)):
            try:
                res = timer(stage, batches, use_amp)
                break
            except Exception as e:                               # noqa: BLE001
                err = (err + " | " if err else "") + f"amp={use_amp}: " + _error(e)
                if device.type == "cuda":
                    torch.cuda.empty_cache()
        res = res or {"stage": stage}
        if err:
            res["error"] = err
        res["data_ms_per_batch_cpu"] = round(data_s * 1000, 1)
        out[stage] = res
        del batches
    return out


def bench_training(preset, root: Path, device, amp: bool, args) -> dict:
    """DTN, both stages."""
    return _train_stages(
        ("finetune", "pretrain"), lambda st: train_batches(preset, root, st, 6, device),
        lambda st, b, a: time_training(preset, st, b, device, a, args), device, amp)


# --------------------------------------------------------------------------- inference
def run_segmenter(model: DTN, device, videos: list, policy: str, amp: bool) -> dict:
    """One pass of ``DTNSegmenter`` over ``videos``; per-frame and per-component times."""
    seg = DTNSegmenter(model, device=device, policy=policy)
    ctx = (lambda: torch.autocast("cuda", dtype=torch.float16)) if amp else nullcontext
    frame_s, by_route, totals, calls, wall, n = [], {"BP": [], "BR": []}, {}, {}, 0.0, 0
    _reset_peak(device)
    for frames, first in videos:
        _sync(device)
        t0 = time.perf_counter()
        with ctx():
            r = seg.segment(frames, first)
        _sync(device)
        wall += time.perf_counter() - t0
        n += len(frames) - 1
        info = r.info
        frame_s += info["frame_seconds"]
        for route, s in zip(info["routes"], info["frame_seconds"]):
            by_route.setdefault(route, []).append(s)
        for k, tot in info["component_total"].items():
            totals[k] = totals.get(k, 0.0) + tot
            per = info["component_seconds"][k]
            calls[k] = calls.get(k, 0) + (round(tot / per) if per > 0 else 0)
    comp = {k: round(totals[k] / calls[k], 6) for k in COMPONENTS if calls.get(k)}
    st = _ms_stats(frame_s)
    return {"policy": policy, "amp": amp, "videos": len(videos), "frames": n,
            "ms_per_frame_median": st["ms_median"], "ms_per_frame_mean": st["ms_mean"],
            "fps_from_median": round(1000 / st["ms_median"], 2) if st["ms_median"] else None,
            "fps_wall": round(n / wall, 2) if wall else None,
            "routes": {k: len(v) for k, v in by_route.items()},
            "bp_frame_ms_median": _ms_stats(by_route["BP"])["ms_median"],
            "br_frame_ms_median": _ms_stats(by_route["BR"])["ms_median"],
            "component_seconds": comp, "component_calls": {k: calls[k] for k in comp},
            "peak_mem_mib": _peak_mib(device)}


def _inference_setup(preset, root: Path, device, args, method: str) -> tuple:
    """The videos to time, the model in eval mode, and the precisions to time it in."""
    model, _ = build_model(preset, device, method)
    precisions = ("fp32", "amp") if device.type == "cuda" else ("fp32",)
    return val_videos(root, args.videos, args.frames), model.eval(), precisions


def bench_inference(preset, root: Path, device, args) -> dict:
    """fp32 and (on CUDA) AMP, each with policies dm / bp / br; errors are recorded."""
    videos, model, precisions = _inference_setup(preset, root, device, args, "dtn")
    out = {}
    for prec in precisions:
        amp = prec == "amp"
        out[prec] = {}
        try:         # warm-up: both streams, a few frames
            for pol in ("br", "bp"):
                run_segmenter(model, device, [(videos[0][0][:4], videos[0][1])], pol, amp)
        except Exception as e:                                   # noqa: BLE001
            out[prec]["error"] = "warm-up: " + _error(e)
            continue
        for pol in ("dm", "bp", "br"):
            try:
                out[prec][pol] = run_segmenter(model, device, videos, pol, amp)
            except Exception as e:                               # noqa: BLE001
                out[prec][pol] = {"policy": pol, "amp": amp, "error": _error(e)}
    del model
    return out


# ------------------------------------------------------------------------------ DIPNet
def dipnet_training(preset, phase: str, batches: list, device, amp: bool, args) -> dict:
    """DIPNet: one phase's steps, the optimizer ``vos_lib.dipnet.train.run_stage`` makes
    (that phase's parameters only)."""
    model, _ = build_model(preset, device, "dipnet")
    model.stage = phase
    model.train()
    params = [p for n, p in model.named_parameters() if n.startswith(DIPNET_PHASES[phase])]
    T = preset.train
    opt = make_optimizer(params, T.optimizer, model.cfg.lr, T.momentum)
    res = {"stage": phase, "dataset": "VideoClipDataset (off-line stage)",
           "trained_params_millions": round(sum(p.numel() for p in params) / 1e6, 2),
           **_step_loop(model, opt, batches, device, amp, args)}
    del model, opt, params
    return res


def bench_dipnet_training(preset, root: Path, device, amp: bool, args) -> dict:
    """DIPNet, both phases on video-clip pairs at ``ssn_size``."""
    cfg = preset.dipnet
    return _train_stages(
        ("ipn", "ssn"),
        lambda st: train_batches(preset, root, "offline", 6, device, size=cfg.ssn_size,
                                 max_skip=cfg.max_gap),
        lambda st, b, a: dipnet_training(preset, st, b, device, a, args), device, amp)


def _n_objects(mask: np.ndarray) -> int:
    return int(sum(1 for v in np.unique(mask) if v not in (0, 255)))


def run_dipnet(model: DIPNet, device, videos: list, finetune: bool, amp: bool) -> dict:
    """One pass of ``DIPNetSegmenter`` over ``videos``: per-frame and fine-tuning times."""
    seg = DIPNetSegmenter(model, device=device, finetune=finetune)
    ctx = (lambda: torch.autocast("cuda", dtype=torch.float16)) if amp else nullcontext
    frame_s, ft_full, ft_inst, wall, n = [], [], [], 0.0, 0
    _reset_peak(device)
    for frames, first in videos:
        _sync(device)
        t0 = time.perf_counter()
        with ctx():
            info = seg.segment(frames, first).info
        _sync(device)
        wall += time.perf_counter() - t0
        n += len(frames) - 1
        frame_s += info["frame_seconds"]
        ft_full.append(info["finetune_seconds_full"])
        ft_inst.append(info["finetune_seconds_instances"])
    cfg, objects = model.cfg, [_n_objects(first) for _, first in videos]
    st, ft = _ms_stats(frame_s), sum(ft_full) + sum(ft_inst)
    mean_s = statistics.fmean(frame_s) if frame_s else 0.0
    res = {"finetune": finetune, "amp": amp, "videos": len(videos), "frames": n,
           "objects_per_video": objects,
           "ms_per_frame_median": st["ms_median"], "ms_per_frame_mean": st["ms_mean"],
           "fps_from_median": round(1000 / st["ms_median"], 2) if st["ms_median"] else None,
           "wall_seconds_per_video": round(wall / len(videos), 3),
           "peak_mem_mib": _peak_mib(device)}
    if finetune:
        its_full, its_crop = cfg.ft_iters_full, cfg.ft_iters_crop * sum(objects)
        L = DAVIS16_FRAMES
        res.update({
            "ft_iters_full": cfg.ft_iters_full, "ft_iters_crop_per_object": cfg.ft_iters_crop,
            "finetune_seconds_per_video": round(ft / len(videos), 3),
            "finetune_full_seconds_per_video": round(statistics.fmean(ft_full), 3),
            "finetune_instances_seconds_per_video": round(statistics.fmean(ft_inst), 3),
            "finetune_full_ms_per_iter":
                round(1000 * sum(ft_full) / (its_full * len(videos)), 3) if its_full else None,
            "finetune_crop_ms_per_iter":
                round(1000 * sum(ft_inst) / its_crop, 3) if its_crop else None,
            # (fine-tuning + inference) / frames (the first frame counted), as the paper's
            # 1.09 s per frame; it depends on the video length: ours, and the mean
            # length of DAVIS 2016 val (68.8 frames) with our mean frame time
            "overall_seconds_per_frame": round((ft + sum(frame_s)) / (n + len(videos)), 4),
            "overall_seconds_per_frame_at_davis16_length":
                round((ft / len(videos) + (L - 1) * mean_s) / L, 4)})
    return res


def _dipnet_warmup(model: DIPNet, device, video, amp: bool) -> None:
    """A few frames with a 2 + 1-iteration fine-tuning (kernels, cuDNN autotuning)."""
    cfg = model.cfg
    model.cfg = replace(cfg, ft_iters_full=min(cfg.ft_iters_full, 2),
                        ft_iters_crop=min(cfg.ft_iters_crop, 1))
    try:
        run_dipnet(model, device, [(video[0][:4], video[1])], True, amp)
    finally:
        model.cfg = cfg


def bench_dipnet_inference(preset, root: Path, device, args) -> dict:
    """fp32 and (on CUDA) AMP, each without and with one-shot fine-tuning."""
    videos, model, precisions = _inference_setup(preset, root, device, args, "dipnet")
    out = {}
    for prec in precisions:
        amp = prec == "amp"
        out[prec] = {}
        try:
            _dipnet_warmup(model, device, videos[0], amp)
        except Exception as e:                                   # noqa: BLE001
            out[prec]["error"] = "warm-up: " + _error(e)
            continue
        for key, ft in (("no_finetune", False), ("finetune", True)):
            try:
                out[prec][key] = run_dipnet(model, device, videos, ft, amp)
            except Exception as e:                               # noqa: BLE001
                out[prec][key] = {"finetune": ft, "amp": amp, "error": _error(e)}
    del model
    return out


def _preset_header(name: str, preset, method: str, data_dir: Path, device, args) -> tuple:
    """Data, the model's size and the settings that go with one method's results."""
    root, gen_s = make_data(preset, data_dir, args)     # generated once, then cached
    model, msgs = build_model(preset, device, method)
    n_params = sum(p.numel() for p in model.parameters())
    del model
    cfg = getattr(preset, method)
    res = {"preset": name, "data_size": [preset.data.height, preset.data.width],
           "batch_size": preset.train.batch_size, "optimizer": preset.train.optimizer,
           "config": {k: list(v) if isinstance(v, tuple) else v
                      for k, v in asdict(cfg).items()},
           "pretrained_in_preset": getattr(get_preset(name), method).pretrained,
           "pretrained_requested": cfg.pretrained, "params_millions": round(n_params / 1e6, 2),
           "build_warnings": msgs, "data_generation_seconds": round(gen_s, 1),
           "train_videos": 2, "val_videos_timed": args.videos, "frames_per_video": args.frames}
    print(f"[{name}] {method}: data {gen_s:.1f}s, {n_params / 1e6:.1f}M params; training ...",
          flush=True)
    return root, res


# -------------------------------------------------------------------------------- main
#: method -> (training benchmark, inference benchmark)
BENCHES = {"dtn": (bench_training, bench_inference),
           "dipnet": (bench_dipnet_training, bench_dipnet_inference)}


def bench_preset(name: str, data_dir: Path, device, amp: bool, args,
                 method: str = "dtn") -> dict:
    """One method at one preset: its settings, training steps, then inference."""
    preset = make_preset(name, args)
    root, res = _preset_header(name, preset, method, data_dir, device, args)
    train, infer = BENCHES[method]
    res["train"] = train(preset, root, device, amp, args)
    print(f"[{name}] {method} inference ...", flush=True)
    try:
        res["inference"] = infer(preset, root, device, args)
    except Exception as e:                                       # noqa: BLE001
        res["inference"] = {"error": _error(e)}
    return res


def environment(device, amp: bool) -> dict:
    import torchvision
    env = {"device_type": device.type, "torch": torch.__version__,
           "torchvision": torchvision.__version__, "python": platform.python_version(),
           "cpu_threads": torch.get_num_threads(), "amp_train": amp,
           "amp_dtype": "float16", "gpu": None}
    if device.type == "cuda":
        env.update(gpu=torch.cuda.get_device_name(device), cuda=torch.version.cuda,
                   capability=".".join(map(str, torch.cuda.get_device_capability(device))),
                   cudnn=torch.backends.cudnn.version(),
                   cudnn_benchmark=torch.backends.cudnn.benchmark,
                   tf32_matmul=torch.backends.cuda.matmul.allow_tf32,
                   tf32_cudnn=torch.backends.cudnn.allow_tf32)
    return env


def output_path(args, env: dict) -> Path:
    gpu = env["gpu"] or "cpu"
    tag = re.sub(r"[^a-z0-9]+", "-", gpu.lower().replace("nvidia", "").replace("geforce", ""))
    tag = (tag.strip("-").split("-")[0] or "gpu") + ("-smoke" if args.smoke else "")
    folder = args.out_dir or os.environ.get("OUT") or (
        tempfile.mkdtemp(prefix="bench_gpu_out_") if args.smoke else RESULTS)
    return Path(folder) / f"gpu_{tag}.json"


def _fmt(v, nd=1):
    return "-" if v is None else f"{v:.{nd}f}"


def _print_train(presets: dict, label: str) -> None:
    """The training rows of either method (``label``: the stage column's title)."""
    print(f"{'preset':<7}{label:<12}{'amp':<6}{'ms/step med':>12}{'mean':>9}{'peak MiB':>10}")
    for name, p in presets.items():
        if "error" in p:
            print(f"{name:<7}ERROR {p['error'][:110]}")
        for stage, t in p.get("train", {}).items():
            print(f"{name:<7}{stage:<12}{str(t.get('amp', '-')):<6}{_fmt(t.get('ms_median')):>12}"
                  f"{_fmt(t.get('ms_mean')):>9}{_fmt(t.get('peak_mem_mib'), 0):>10}"
                  + (f"   ERROR {t['error'][:90]}" if "error" in t else ""))


def print_dtn(out: dict) -> None:
    env = out["environment"]
    print(f"\nDTN on {env['gpu'] or 'CPU'} (torch {env['torch']}), random weights")
    _print_train(out["presets"], "train stage")
    print(f"\n{'preset':<7}{'prec':<6}{'policy':<7}{'ms/frame':>9}{'fps':>7}"
          + "".join(f"{c:>9}" for c in COMPONENTS) + "   (component ms; BR per BR frame)")
    for name, p in out["presets"].items():
        for prec, runs in p.get("inference", {}).items():
            if not isinstance(runs, dict) or "error" in runs:
                print(f"{name:<7}{prec:<6}ERROR {str(runs.get('error', runs))[:100]}")
                continue
            for pol, r in runs.items():
                if "error" in r:
                    print(f"{name:<7}{prec:<6}{pol:<7}ERROR {r['error'][:100]}")
                    continue
                c = r["component_seconds"]
                print(f"{name:<7}{prec:<6}{pol:<7}{_fmt(r['ms_per_frame_median']):>9}"
                      f"{_fmt(r['fps_from_median']):>7}"
                      + "".join(f"{_fmt(c[k] * 1000 if k in c else None):>9}" for k in COMPONENTS)
                      + f"   routes {r['routes']}")
    pc = PAPER["component_seconds"]
    print(f"{'paper':<7}{'1080Ti':<13}{1000 / PAPER['fps']:>9.1f}{PAPER['fps']:>7.1f}"
          + "".join(f"{pc[k] * 1000:>9.1f}" for k in COMPONENTS) + "   (Table 4, theta_c 0.83)")


def _dipnet_row(head: str, r: dict) -> str:
    return (f"{head}{_fmt(r.get('ms_per_frame_median')):>9}{_fmt(r.get('ms_per_frame_mean')):>9}"
            f"{_fmt(r.get('finetune_seconds_per_video'), 2):>11}"
            f"{_fmt(r.get('finetune_full_ms_per_iter')):>11}"
            f"{_fmt(r.get('finetune_crop_ms_per_iter')):>11}"
            f"{_fmt(r.get('overall_seconds_per_frame'), 3):>10}"
            f"{_fmt(r.get('overall_seconds_per_frame_at_davis16_length'), 3):>10}")


FT_LABEL = {"no_finetune": "off", "finetune": "on"}


def print_dipnet(out: dict) -> None:
    env, presets = out["environment"], out["dipnet"]["presets"]
    print(f"\nDIPNet on {env['gpu'] or 'CPU'} (torch {env['torch']}), random weights")
    _print_train(presets, "train phase")
    print(f"\n{'preset':<7}{'prec':<6}{'fine-tune':<10}{'ms/frame':>9}{'mean':>9}"
          f"{'ft s/video':>11}{'full ms/it':>11}{'crop ms/it':>11}{'s/fr all':>10}"
          f"{'@68.8 fr':>10}   (s/fr all: fine-tuning included)")
    for name, p in presets.items():
        for prec, runs in p.get("inference", {}).items():
            if not isinstance(runs, dict) or "error" in runs:
                print(f"{name:<7}{prec:<6}ERROR {str(runs.get('error', runs))[:100]}")
                continue
            for key, r in runs.items():
                head = f"{name:<7}{prec:<6}{FT_LABEL.get(key, key):<10}"
                if "error" in r:
                    print(f"{head}ERROR {r['error'][:100]}")
                    continue
                c = p["config"]
                print(_dipnet_row(head, r) + f"   {c['ft_iters_full']} + {c['ft_iters_crop']}"
                      f" it, objects {r['objects_per_video']}")
    P = PAPER_DIPNET
    paper = {"ms_per_frame_median": 1000 * P["inference_s_per_frame"],
             "finetune_seconds_per_video": P["finetune_200_full_s"] + P["finetune_100_crop_s"],
             "finetune_full_ms_per_iter": P["finetune_full_ms_per_iter"],
             "finetune_crop_ms_per_iter": P["finetune_crop_ms_per_iter"],
             "overall_seconds_per_frame_at_davis16_length": P["overall_s_per_frame"]}
    print(_dipnet_row(f"{'paper':<7}{'TitanXp':<16}", paper)
          + "   (Sec. 4.1, DAVIS 2016, 200 + 100 it)")


def print_table(out: dict) -> None:
    if out["presets"]:
        print_dtn(out)
    if out["dipnet"]["presets"]:
        print_dipnet(out)


def main(argv=None) -> int:
    args = parse_args(argv)
    want = args.device or ("cuda" if torch.cuda.is_available() and not args.smoke else "cpu")
    device = torch.device(want)
    if args.threads or args.smoke:
        torch.set_num_threads(args.threads or 1)
    amp = device.type == "cuda" and not args.no_amp
    tmp = None if args.data_dir else tempfile.mkdtemp(prefix="bench_gpu_data_")
    data_dir = Path(args.data_dir or tmp)
    t0 = time.perf_counter()
    out = {"benchmark": "benchmarks/bench_gpu.py", "smoke": args.smoke,
           "weights": "random init, seeded (no checkpoint, no pretrained weights)",
           "environment": environment(device, amp),
           "settings": {"warmup_steps": args.warmup, "timed_steps": args.steps,
                        "val_videos": args.videos, "frames_per_video": args.frames,
                        "train_timing": "batches pre-loaded on the device; step = forward "
                                        "(autocast) + scaled backward + clip + optimizer step",
                        "inference_frame_time": "DTNSegmenter info['frame_seconds'] (model.step, "
                                                "synchronised; excludes resize and PNG output)",
                        "dipnet_inference_frame_time":
                            "DIPNetSegmenter info['frame_seconds'] (frame to tensor, Eq. 2 "
                            "update, foreground, crop, instances; synchronised; excludes "
                            "the first frame's fine-tuning and PNG output)",
                        "dipnet_finetune": "info['finetune_seconds_full'] / "
                                           "['finetune_seconds_instances'] per video; under "
                                           "AMP the fine-tuning runs inside the autocast "
                                           "context, without a GradScaler"},
           "methods": args.methods, "paper_table4": PAPER, "presets": {},
           "dipnet": {"paper_times": PAPER_DIPNET, "presets": {}}}
    try:
        for name in [s.strip() for s in args.presets.split(",") if s.strip()]:
            for method, where in (("dtn", out["presets"]),
                                  ("dipnet", out["dipnet"]["presets"])):
                if method not in args.methods:
                    continue
                try:
                    where[name] = bench_preset(name, data_dir, device, amp, args, method)
                except Exception as e:                           # noqa: BLE001
                    where[name] = {"preset": name, "error": _error(e)}
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    out["wall_seconds"] = round(time.perf_counter() - t0, 1)
    path = output_path(args, out["environment"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1, default=str) + "\n")
    print_table(out)
    print(f"\nwrote {path} ({out['wall_seconds']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
