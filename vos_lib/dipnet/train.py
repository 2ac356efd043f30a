"""DIPNet's training recipe (Sec. 3.4): its stages and variants (the loop itself is
:func:`vos_lib.engine.trainer.fit`).

"By formulating the task of VOS as two sub-steps, we can easily optimize the system by
training the two components separately":

1. ``ipn-pretrain`` / ``ssn-pretrain`` - static images: pairs made from one frame by
   shift and rotation (:class:`~vos_lib.data.StaticPairDataset`) for the propagation
   phase (identity encoder, feature encoder, IPN); single frames with morphed coarse
   masks for the SSN.  The paper pre-trains on 11,355 PASCAL VOC images; at CPU scale
   the static pairs come from the training videos' frames.
2. ``ipn-offline`` / ``ssn-offline`` - video ("off-line") training: frame pairs drawn
   within 10 consecutive frames for the propagation phase, frames for the SSN.
3. One-shot fine-tuning happens per test video at inference
   (:mod:`vos_lib.dipnet.finetune`).

Each stage is its own resumable, atomically written, cached checkpoint; the model
checkpoint ``dipnet-<preset>-<variant>.pt`` joins the two phases' weights.  Variants:
``full``; ``pretrain_only`` (Table 7's first column); ``concat`` (the identity encoder
that concatenates frame and mask, Sec. 4.2.2; the SSN is ``full``'s).
"""
from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

import torch

from ..config import Preset, get_preset
from ..core.segmenter import pick_device
from ..data import DAVIS, StaticPairDataset, VideoClipDataset
from ..engine import checkpoint
from ..engine.trainer import default_data, fit, make_loader, make_optimizer, seed_everything
from ..io import UsageError
from ..paths import checkpoint_dir
from .config import DIPNetConfig, from_dict
from .model import DIPNet

VARIANTS = ("full", "pretrain_only", "concat")
PHASES = {"ipn": ("features.", "identity.", "ipn."), "ssn": ("ssn.",)}


def _datasets(preset: Preset, data_root) -> dict:
    cfg = preset.dipnet
    size = tuple(cfg.ssn_size)
    train = DAVIS(data_root, year="2017", split="train")
    seed = preset.train.seed
    return {"pretrain": StaticPairDataset(train, size=size, seed=seed),
            "offline": VideoClipDataset(train, size=size, max_skip=cfg.max_gap, augment=True,
                                        seed=seed)}


def run_stage(model: DIPNet, phase: str, preset: Preset, loader, iters: int, ckpt: Path,
              lr: float, device=None, progress=True):
    """Train one phase (``"ipn"`` or ``"ssn"``) for ``iters`` steps, only its weights."""
    model.stage = phase
    params = [p for n, p in model.named_parameters() if n.startswith(PHASES[phase])]
    opt = make_optimizer(params, preset.train.optimizer, lr, preset.train.momentum)
    sched = (torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(iters, 1))
             if model.cfg.cosine else None)
    return fit(model, loader, iters=iters, optimizer=opt, scheduler=sched, ckpt_path=ckpt,
               device=device, amp=preset.train.amp, desc=f"dipnet {phase}", progress=progress,
               extra_state={"method": "dipnet", "config": asdict(model.cfg),
                            "preset": preset.to_dict(), "stage": phase})


def _join(cfg: DIPNetConfig, ipn_ckpt: Path, ssn_ckpt: Path, path: Path, variant: str):
    """The model checkpoint: the propagation weights of one stage, the SSN's of another."""
    ipn, ssn = checkpoint.load(ipn_ckpt), checkpoint.load(ssn_ckpt)
    state = {k: v for k, v in ipn["model"].items() if not k.startswith("ssn.")}
    state.update({k: v for k, v in ssn["model"].items() if k.startswith("ssn.")})
    checkpoint.save(path, {"model": state, "method": "dipnet", "config": asdict(cfg),
                           "stage": variant, "done": True,
                           "history": {"ipn": ipn["history"], "ssn": ssn["history"]},
                           "preset": ipn.get("preset")})


def train_phase(preset: str | Preset = "cpu", phase: str = "ipn", data_root=None,
                variant: str = "full", out_dir=None, device=None, progress: bool = True) -> Path:
    """Train one phase (``"ipn"``: encoders + propagation; ``"ssn"``) of a variant through
    its stages; return the phase's last stage checkpoint.  The two phases are independent
    (Sec. 3.4), so two processes may train them at once."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose one of {VARIANTS}")
    preset = get_preset(preset) if isinstance(preset, str) else preset
    data_root = Path(data_root) if data_root else default_data(preset)
    out_dir = Path(out_dir) if out_dir else checkpoint_dir()
    device = pick_device(device)
    # the SSN does not depend on the identity encoder: one SSN for every variant
    cfg = replace(preset.dipnet, identity_encoder="concat" if variant == "concat" and
                  phase == "ipn" else preset.dipnet.identity_encoder)
    concat = "-concat" if cfg.identity_encoder == "concat" else ""
    data = _datasets(preset, data_root)

    def stage(step, iters, lr, init=None):
        def build(path):
            seed_everything(preset.train.seed + (1 if phase == "ipn" else 2))
            m = DIPNet(cfg).to(device)
            if init is not None:
                m.load_state_dict(checkpoint.load(init)["model"])
            loader = make_loader(data[step], preset, batch_size=cfg.batch_size)
            run_stage(m, phase, preset, loader, iters, path, lr,
                      device=device, progress=progress)
        return checkpoint.cached(f"dipnet-{preset.name}{concat}-{phase}-{step}", build,
                                 out_dir)

    path = stage("pretrain", getattr(cfg, f"{phase}_pretrain_iters"), cfg.lr)
    if variant != "pretrain_only":
        path = stage("offline", getattr(cfg, f"{phase}_offline_iters"), cfg.offline_lr, path)
    return path


def train_dipnet(preset: str | Preset = "cpu", data_root=None, variant: str = "full",
                 out_dir=None, device=None, progress: bool = True) -> Path:
    """Train one DIPNet variant (both phases, :func:`train_phase`); return the model
    checkpoint's path, which joins the two phases' weights.

    Stage checkpoints are cached in ``out_dir`` (default ``data/checkpoints``) and shared
    between variants, so each is trained once; a killed run resumes where it stopped.
    """
    preset = get_preset(preset) if isinstance(preset, str) else preset
    out_dir = Path(out_dir) if out_dir else checkpoint_dir()
    kw = dict(data_root=data_root, variant=variant, out_dir=out_dir, device=device,
              progress=progress)
    ipn, ssn = train_phase(preset, "ipn", **kw), train_phase(preset, "ssn", **kw)
    cfg = replace(preset.dipnet, identity_encoder="concat" if variant == "concat" else
                  preset.dipnet.identity_encoder)
    return checkpoint.cached(f"dipnet-{preset.name}-{variant}",
                             lambda p: _join(cfg, ipn, ssn, p, variant), out_dir)


def from_checkpoint(state: dict) -> DIPNet:
    """Rebuild a DIPNet from the contents of a checkpoint written by :func:`train_dipnet`."""
    model = DIPNet(from_dict(state["config"]))
    model.load_state_dict(state["model"])
    return model.eval()


def load_dipnet(path, device=None) -> DIPNet:
    """Rebuild a DIPNet from a model checkpoint; any other file is refused by name."""
    state = checkpoint.load(path, map_location="cpu")
    if not isinstance(state, dict) or state.get("method") != "dipnet" or "config" not in state:
        raise UsageError(f"{path}: not a DIPNet checkpoint of vos_lib (no method 'dipnet' "
                         "and config recorded; train one with `python -m vos_lib train "
                         "--method dipnet`)")
    return from_checkpoint(state).to(device or "cpu").eval()


def cached_checkpoint(preset: str = "cpu", variant: str = "full", out_dir=None):
    """The path of a finished cached model checkpoint (None if not trained yet)."""
    path = Path(out_dir or checkpoint_dir()) / f"dipnet-{preset}-{variant}.pt"
    return path if path.is_file() else None
