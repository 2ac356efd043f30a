"""DTN's training recipes: its stages and variants (the loop itself is
:func:`vos_lib.engine.trainer.fit`).

Stages (DTN Sec. 3.4), each its own resumable, atomically written checkpoint:

0. ``flow``     - the flow network on ground-truth flow (multi-scale EPE).  The paper
                  uses a pre-trained FlowNet2-S; at CPU scale we train ours here.
1. ``pretrain`` - static images with instance masks (pairs made by shift/rotate/scale):
                  backbone + RPN + MRN  (L_CRPN + L_MRN).
2. ``finetune`` - video clips: everything jointly with Eq. 5 (L_DM + L_CRPN + L_MRN).

Variants for the Table 3 ablations: ``full``; ``no_pretrain`` (stage 2 from scratch);
``no_finetune`` (stage 1 only; the DM head alone is fitted on videos so that routing
still works); ``no_guidance`` (MRN without the warped-mask prior of Eq. 4: from the
shared pre-trained weights, fine-tuned without the prior - the CPU budget allows one
pre-training run, so this variant shares it).
``w/o DTN`` and ``BR with ori RPN`` reuse the ``full`` weights at inference time.
"""
from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

import torch

from ..config import Preset, get_preset
from ..core.segmenter import pick_device
from ..data import DAVIS, StaticPairDataset, VideoClipDataset
from ..engine import checkpoint
from ..io import UsageError
from ..engine.trainer import default_data, fit, make_loader, make_optimizer, seed_everything
from ..paths import checkpoint_dir
from .config import DTNConfig, from_dict
from .model import DTN

VARIANTS = ("full", "no_pretrain", "no_finetune", "no_guidance")


def _datasets(preset: Preset, data_root):
    size = tuple(preset.dtn.input_size)
    train = DAVIS(data_root, year="2017", split="train")
    video = VideoClipDataset(train, size=size, max_skip=2, augment=True, seed=preset.train.seed)
    pairs = VideoClipDataset(train, size=size, max_skip=1, augment=True, seed=preset.train.seed)
    static = StaticPairDataset(train, size=size, seed=preset.train.seed)
    return static, video, pairs


def _build(preset: Preset, guidance: bool = True) -> DTN:
    cfg = replace(preset.dtn, mask_guidance=guidance)
    return DTN(cfg)


def _lr(cfg: DTNConfig, stage):
    return {"flow": cfg.flow_lr, "pretrain": cfg.pretrain_lr, "finetune": cfg.finetune_lr}[stage]


def run_stage(model: DTN, stage: str, preset: Preset, loader, iters: int, ckpt: Path,
              params=None, device=None, progress=True):
    """One training stage with its own optimizer; resumes from ``ckpt`` if partial."""
    model.stage = stage
    lr = _lr(model.cfg, stage)
    if params is None and stage == "flow":
        params = model.flow.parameters()
    elif params is None:      # Eq. 5 jointly; the DM head with its own (higher) lr at CPU scale
        rest = [p for n, p in model.named_parameters() if not n.startswith(("flow.", "dm."))]
        params = [{"params": rest, "lr": lr},
                  {"params": list(model.dm.parameters()), "lr": lr * model.cfg.dm_lr_mult}]
    opt = make_optimizer(params, preset.train.optimizer, lr, preset.train.momentum)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=preset.train.lr_step, gamma=0.1)
    step_fn = model.flow_step if stage == "flow" else model.training_step
    hist = fit(model, loader, iters=iters, optimizer=opt, scheduler=sched, step_fn=step_fn,
               ckpt_path=ckpt, device=device, amp=preset.train.amp, desc=stage,
               extra_state={"method": "dtn", "config": asdict(model.cfg),
                            "preset": preset.to_dict(), "stage": stage},
               progress=progress)
    return hist


def train_dtn(preset: str | Preset = "cpu", data_root=None, variant: str = "full", out_dir=None,
              device=None, progress: bool = True) -> Path:
    """Train one DTN variant through its stages; return the final checkpoint path.

    ``variant="flow"`` stops after stage 0 and returns the flow network's checkpoint.

    Every stage's checkpoint is cached in ``out_dir`` (default ``data/checkpoints``) and
    shared between variants (the flow network and the pre-trained weights), so each is
    trained once; a killed run resumes where its last checkpoint left it.
    """
    if variant not in VARIANTS + ("flow",):
        raise ValueError(f"unknown variant {variant!r}; choose one of {VARIANTS} (or 'flow')")
    preset = get_preset(preset) if isinstance(preset, str) else preset
    data_root = Path(data_root) if data_root else default_data(preset)
    out_dir = Path(out_dir) if out_dir else checkpoint_dir()
    device = pick_device(device)
    tag = f"dtn-{preset.name}"
    static, video, pairs = _datasets(preset, data_root)
    T, C = preset.train, preset.dtn

    def stage_ckpt(name, build):
        return checkpoint.cached(f"{tag}-{name}", build, out_dir)

    def train_flow(path):
        seed_everything(T.seed)
        m = _build(preset).to(device)
        run_stage(m, "flow", preset, make_loader(pairs, preset), C.flow_iters, path,
                  device=device, progress=progress)

    if C.flow_iters > 0 and cached_checkpoint(preset.name, "flow", out_dir) is None:
        _require_flow(data_root)
    flow_path = stage_ckpt("flow", train_flow)
    if variant == "flow":                      # stage 0 alone (the flow chapter uses it)
        return flow_path

    def fresh(guidance=True):
        seed_everything(T.seed + 1)
        m = _build(preset, guidance).to(device)
        m.flow.load_state_dict(_sub(checkpoint.load(flow_path)["model"], "flow."))
        return m

    def pretrain(path, guidance=True):
        m = fresh(guidance)
        run_stage(m, "pretrain", preset, make_loader(static, preset), C.pretrain_iters, path,
                  device=device, progress=progress)

    def finetune(path, init=None, guidance=True, dm_only=False):
        m = fresh(guidance)
        if init is not None:
            m.load_state_dict(checkpoint.load(init)["model"])
        params = ([{"params": list(m.dm.parameters()), "lr": C.finetune_lr * C.dm_lr_mult}]
                  if dm_only else None)
        iters = max(C.finetune_iters // 4, 1) if dm_only else C.finetune_iters
        run_stage(m, "finetune", preset, make_loader(video, preset), iters, path, params=params,
                  device=device, progress=progress)

    if variant == "full":
        pt = stage_ckpt("pretrain", pretrain)
        return stage_ckpt("full", lambda p: finetune(p, init=pt))
    if variant == "no_finetune":
        pt = stage_ckpt("pretrain", pretrain)
        return stage_ckpt("no_finetune", lambda p: finetune(p, init=pt, dm_only=True))
    if variant == "no_pretrain":
        return stage_ckpt("no_pretrain", lambda p: finetune(p))
    # no_guidance: the MRN has the same parameters with or without the prior, so the
    # variant starts from the shared pre-trained weights and is fine-tuned without it.
    pt = stage_ckpt("pretrain", pretrain)
    return stage_ckpt("no_guidance", lambda p: finetune(p, init=pt, guidance=False))


def _require_flow(data_root) -> None:
    """The flow stage learns from ground-truth flow; without any it would train on a zero
    loss (real DAVIS ships none), so it is refused with what to do instead."""
    train = DAVIS(data_root, year="2017", split="train")
    if not any(train.has_flow(s) for s in train.sequences):
        raise UsageError(
            f"{data_root}: no ground-truth optical flow (Flow/480p/<seq>/*.npz) in the train "
            "split, so the flow stage (FlowNet-S trained from scratch, --preset cpu) would "
            "learn nothing. Use --preset paper (a pre-trained RAFT, no flow stage), or train "
            "on data with flow, e.g. the generated videos (omit --data)")


def _sub(state: dict, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def from_checkpoint(state: dict) -> DTN:
    """Rebuild a DTN from the contents of a checkpoint written by :func:`train_dtn`."""
    model = DTN(from_dict(state["config"]))
    model.load_state_dict(state["model"])
    return model.eval()


def load_dtn(path, device=None) -> DTN:
    """Rebuild a DTN from a checkpoint written by :func:`train_dtn`; any other file is
    refused with a message naming it."""
    state = checkpoint.load(path, map_location="cpu")
    if not isinstance(state, dict) or state.get("method") != "dtn" or "config" not in state:
        raise UsageError(f"{path}: not a DTN checkpoint of vos_lib (no method 'dtn' and "
                         "config recorded; train one with `python -m vos_lib train`)")
    model = from_checkpoint(state)
    return model.to(device or "cpu").eval()


def cached_checkpoint(preset: str = "cpu", variant: str = "full", out_dir=None):
    """The path of a finished cached checkpoint of ``variant`` (None if not trained yet)."""
    path = Path(out_dir or checkpoint_dir()) / f"dtn-{preset}-{variant}.pt"
    return path if path.is_file() else None
