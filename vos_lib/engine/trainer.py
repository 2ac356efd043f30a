"""A small, shared training loop (used by every model in the book).

The model supplies ``training_step(batch) -> dict of losses`` (their sum is optimised);
the loop supplies seeding, device placement, mixed precision on CUDA, tqdm progress,
a loss history, periodic atomic checkpoints and resume from them.
"""
from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from . import checkpoint


def make_loader(ds, preset, shuffle: bool = True, batch_size: int | None = None) -> DataLoader:
    """The loader every training stage uses: the preset's batch size (or a method's own,
    ``batch_size``) and workers, a seeded shuffle, full batches only."""
    g = torch.Generator().manual_seed(preset.train.seed)
    return DataLoader(ds, batch_size=batch_size or preset.train.batch_size, shuffle=shuffle,
                      generator=g,
                      num_workers=preset.train.num_workers, drop_last=True,
                      persistent_workers=False)  # so set_epoch reaches the workers


def default_data(preset) -> Path:
    """The training data when ``--data`` is not given: the generated videos at CPU
    scale (generated on first use); at paper scale a DAVIS root is required."""
    from ..data.synthetic import ensure_dataset
    from ..io import UsageError
    from ..paths import synthetic_root
    if preset.name != "cpu":
        raise UsageError("--data is required at paper scale (a DAVIS root; "
                         "see `python -m vos_lib.data.download`)")
    return ensure_dataset(synthetic_root(), preset.data)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def to_device(batch, device):
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


def infinite(loader: Iterable, epoch: int = 0, skip: int = 0):
    """Loop over ``loader`` forever; datasets with ``set_epoch`` draw new samples each pass.

    A resumed run starts at the ``epoch`` it stopped in and ``skip``s the batches of that
    epoch it had already used (they are drawn again, not trained on), so it continues with
    new batches instead of replaying old ones.
    """
    while True:
        ds = getattr(loader, "dataset", None)
        if hasattr(ds, "set_epoch"):
            ds.set_epoch(epoch)
        yield from itertools.islice(loader, skip, None)
        skip = 0
        epoch += 1


@dataclass
class History:
    """Per-iteration losses, kept in the checkpoint so curves survive a resume."""
    steps: list = field(default_factory=list)
    losses: dict = field(default_factory=dict)

    def add(self, step: int, losses: dict) -> None:
        self.steps.append(step)
        for k, v in losses.items():
            self.losses.setdefault(k, []).append(float(v))
        n = len(self.steps)
        for v in self.losses.values():  # keys that appear late are padded with nan
            while len(v) < n:
                v.insert(0, float("nan"))

    def state_dict(self) -> dict:
        return {"steps": self.steps, "losses": self.losses}

    @classmethod
    def from_state(cls, state: dict | None) -> "History":
        return cls(**state) if state else cls()


def make_optimizer(params, name: str, lr: float, momentum: float = 0.9, weight_decay: float = 0.0):
    params = list(params)
    if params and isinstance(params[0], dict):            # parameter groups (own lr each)
        params = [{**g, "params": [p for p in g["params"] if p.requires_grad]} for g in params]
    else:
        params = [p for p in params if p.requires_grad]
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r} (use 'sgd' or 'adam')")


def fit(model: torch.nn.Module, loader: Iterable, *, iters: int, optimizer: torch.optim.Optimizer,
        step_fn: Callable[[dict], dict] | None = None, scheduler=None,
        ckpt_path: str | Path | None = None, ckpt_every: int = 200, extra_state: dict | None = None,
        device: torch.device | None = None, amp: bool = True, desc: str = "train",
        grad_clip: float | None = 10.0, progress: bool = True) -> History:
    """Run ``iters`` optimisation steps; resume from ``ckpt_path`` if it holds a partial run.

    The checkpoint holds the model, optimizer, scheduler, step and loss history; it is
    written atomically every ``ckpt_every`` steps to ``<ckpt_path>.partial`` and, at the
    end, to ``ckpt_path`` itself (``done: True``).
    """
    device = device or next(model.parameters()).device
    step_fn = step_fn or model.training_step
    use_amp = amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    history, start = History(), 0
    # periodic saves go to "<ckpt>.partial"; only a finished run writes "<ckpt>" itself,
    # so a cache that sees "<ckpt>" never hands out a half-trained model
    partial = Path(str(ckpt_path) + ".partial") if ckpt_path is not None else None
    source = next((p for p in (partial, ckpt_path) if p is not None and Path(p).is_file()), None)
    if source is not None:
        state = checkpoint.load(source, map_location=device)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and state.get("scheduler"):
            scheduler.load_state_dict(state["scheduler"])
        history, start = History.from_state(state.get("history")), int(state.get("step", 0))

    def _save(step: int, done: bool):
        if ckpt_path is None:
            return
        checkpoint.save(ckpt_path if done else partial, {
            "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "step": step, "history": history.state_dict(), "done": done, **(extra_state or {})})

    model.train()
    try:
        first_epoch, skip = divmod(start, max(len(loader), 1))
    except TypeError:                      # an iterable without a length
        first_epoch, skip = 0, 0
    batches = infinite(loader, first_epoch, skip)
    bar = tqdm(range(start, iters), desc=desc, disable=not progress, leave=False,
               mininterval=2.0)
    for step in bar:
        batch = to_device(next(batches), device)
        with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
            losses = step_fn(batch)
        total = sum(losses.values())
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(total).backward()
        if grad_clip is not None:
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        scaler.step(optimizer)
        scaler.update()
        if scheduler is not None:
            scheduler.step()
        logged = {k: v.detach().item() for k, v in losses.items()}
        logged["total"] = float(total.detach())
        history.add(step + 1, logged)
        if progress and (step % 20 == 0):
            bar.set_postfix(loss=f"{logged['total']:.3f}")
        if (step + 1) % ckpt_every == 0 and step + 1 < iters:
            _save(step + 1, False)
    _save(iters, True)
    if partial is not None and partial.is_file():
        partial.unlink()
    return history
