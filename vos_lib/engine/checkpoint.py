"""Checkpoints: atomic writes, resume, and a cross-process cache of trained models.

A long run never loses finished work: :func:`save` writes to a temporary file in the
same folder and renames it into place, so a crash mid-write leaves the previous
checkpoint intact.  :func:`cached` trains a model only when no finished checkpoint
exists, under a file lock, so two notebooks (or two processes) asking for the same
model at once train it once.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import torch

from ..io import UsageError, atomic_save
from ..paths import checkpoint_dir, file_lock


def save(path: str | os.PathLike, state: dict) -> Path:
    """Atomically write ``state`` (anything ``torch.save`` takes) to ``path``."""
    path = Path(path)
    atomic_save(path, lambda f: torch.save(state, f))
    return path


def load(path: str | os.PathLike, map_location="cpu") -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint does not exist")
    try:
        return torch.load(path, map_location=map_location, weights_only=False)
    except Exception as e:  # truncated or foreign file
        raise UsageError(f"{path}: not a readable vos_lib checkpoint ({e})") from e


def cached(name: str, build: Callable[[Path], None], directory: str | os.PathLike | None = None) -> Path:
    """Return the path of checkpoint ``name``, calling ``build(path)`` first if missing.

    ``build`` must write the finished checkpoint to ``path`` (with :func:`save`).  The
    lock makes concurrent callers wait for one build instead of each training a model.
    """
    directory = Path(directory) if directory is not None else checkpoint_dir()
    path = directory / f"{name}.pt"
    if path.is_file():
        return path
    with file_lock(directory / f".{name}.lock"):
        if not path.is_file():  # someone else may have built it while we waited
            build(path)
        if not path.is_file():
            raise RuntimeError(f"building checkpoint {name!r} did not write {path}")
    return path


def load_model(path: str | os.PathLike, device=None):
    """Rebuild any registered method's network from a checkpoint alone.

    The checkpoint records its ``method`` and ``config``; the method's registry entry
    knows how to build the network from them (:class:`vos_lib.core.segmenter.Method`).
    """
    from ..core.segmenter import get_method
    state = load(path, map_location="cpu")
    if not isinstance(state, dict) or "method" not in state or "config" not in state:
        raise UsageError(f"{path}: not a vos_lib model checkpoint (no 'method'/'config' "
                           "recorded; it was written by another program or an older version)")
    spec = get_method(state["method"])
    if spec.from_checkpoint is None:
        raise UsageError(f"{path}: method {state['method']!r} has no trained network")
    return spec.from_checkpoint(state).to(device or "cpu").eval()
