"""What every VOS method in the library is: a *segmenter* (the shared interface).

A segmenter maps the frames of a video and its first-frame mask to one id mask per frame
(:class:`SegmentResult`); DTN, DIPNet and the baselines implement it, and the ``segment``
command, the evaluation and the book's experiments only talk to it.  Methods work on the
objects renumbered 1..K (:func:`to_consecutive`) and hand back the first mask's own ids
(:func:`from_consecutive`).

Also here, so that no method writes them again:

* the one frame/mask adapter between numpy frames of any size and a network's working
  size (:func:`frame_tensor`, :func:`object_masks`, :func:`paste_ids`);
* :func:`pick_device` (``"cuda"`` when present, a clear error when asked for and absent);
* the **registry**: method name -> :class:`Method` (how it is built, trained, loaded and
  run).  An entry is one line in :data:`REGISTRY` naming the module attribute that holds
  the method's :class:`Method`; the modules are imported only when a method is used.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..io import UsageError, object_ids  # noqa: F401  (object_ids: re-exported)


@dataclass
class SegmentResult:
    masks: np.ndarray                   # (T, H, W) uint8 ids, original ids of the first mask
    info: dict = field(default_factory=dict)  # per-frame routes, timings, ... (JSON-able)


class Segmenter(Protocol):
    name: str

    def segment(self, frames: Sequence[np.ndarray], first_mask: np.ndarray) -> SegmentResult: ...


def to_consecutive(mask: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Map object ids to 1..K (void -> 0); return the mapped mask and the original ids."""
    ids = object_ids(mask)
    lut = np.zeros(256, np.uint8)
    for k, i in enumerate(ids, 1):
        lut[i] = k
    return lut[mask], ids


def from_consecutive(mask: np.ndarray, ids: list[int]) -> np.ndarray:
    lut = np.zeros(256, np.uint8)
    lut[1:len(ids) + 1] = ids
    out = lut[mask]
    unknown = set(np.unique(mask).tolist()) - set(range(len(ids) + 1))
    if unknown:
        raise ValueError(f"segmenter produced unknown object ids {sorted(unknown)}")
    return out


# ------------------------------------------------------------------ frame/mask adapter
def pick_device(device=None) -> torch.device:
    """``device`` as a :class:`torch.device`; default CUDA when available, else CPU."""
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda was asked for but CUDA is not available on this "
                           "machine (use --device cpu)")
    return device


def frame_tensor(frames: np.ndarray, size=None, device="cpu") -> torch.Tensor:
    """Frames as a network reads them: ``(H, W, 3)`` uint8 -> ``(1, 3, h, w)``, or a stack
    ``(T, H, W, 3)`` -> ``(T, 3, h, w)``, float in [0, 1]; resized (bilinear) to
    ``size = (h, w)`` unless ``size`` is None or already the frames' size."""
    a = np.asarray(frames)
    t = torch.from_numpy(np.require(a, requirements=["C", "W"])).to(device)
    t = (t[None] if a.ndim == 3 else t).permute(0, 3, 1, 2).float() / 255
    if size is not None and tuple(t.shape[-2:]) != tuple(size):
        t = F.interpolate(t, size=tuple(size), mode="bilinear", align_corners=False)
    return t


def object_masks(ids_mask, ids) -> torch.Tensor:
    """``(H, W)`` id mask -> ``(K, H, W)`` float binary masks, one per object: ``ids`` is
    the list of object ids, or an int ``K`` for the ids ``1..K``."""
    ids_mask = torch.as_tensor(np.asarray(ids_mask) if isinstance(ids_mask, np.ndarray)
                               else ids_mask)
    ids = range(1, ids + 1) if isinstance(ids, int) else ids
    return torch.stack([(ids_mask == int(k)) for k in ids]).float()


def first_masks(first_mask: np.ndarray, size, device="cpu") -> tuple[torch.Tensor, list[int]]:
    """The first frame's objects at the working ``size``: ``(K, h, w)`` masks and their ids.

    Objects are renumbered 1..K (:func:`to_consecutive`) and resized by nearest neighbour;
    an object too small to survive the resize keeps one pixel at its centre.
    """
    H0, W0 = first_mask.shape
    h, w = size
    cons, ids = to_consecutive(first_mask)
    m = torch.from_numpy(cons).to(device)[None, None].float()
    m = F.interpolate(m, size=(h, w), mode="nearest")[0, 0].long()
    masks = object_masks(m, len(ids))
    for k in range(len(ids)):
        if masks[k].sum() == 0:
            ys, xs = np.nonzero(cons == k + 1)
            masks[k, int(ys.mean() * h / H0), int(xs.mean() * w / W0)] = 1
    return masks, ids


def paste_ids(ids_mask: torch.Tensor, shape, ids: list[int]) -> np.ndarray:
    """A working-size id mask (1..K) -> the frame's ``shape`` with the first mask's ids."""
    full = F.interpolate(ids_mask[None, None].float(), size=tuple(shape), mode="nearest")
    return from_consecutive(full[0, 0].byte().cpu().numpy(), ids)


# ---------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class Method:
    """How one method is built, trained, loaded and run (one registry entry).

    ``segmenter(checkpoint=None, device=None, **options)`` returns a ready
    :class:`Segmenter`; ``configs`` maps a preset name to a factory of the method's
    config; ``train(preset, data_root, variant, out_dir, device, progress)`` returns a
    checkpoint path; ``from_checkpoint(state)`` rebuilds the network from a checkpoint's
    contents alone; ``cached(preset)`` is the path of the cached default model, or None;
    ``train_time`` says how long training the CPU-scale model takes (for messages);
    ``options`` names the keyword options its segmenter takes from the command line.
    """
    name: str
    summary: str
    segmenter: Callable[..., Segmenter]
    configs: Mapping[str, Callable[[], Any]] = field(default_factory=dict)
    variants: tuple = ()
    train: Callable[..., Any] | None = None
    from_checkpoint: Callable[[dict], Any] | None = None
    cached: Callable[[str], Any] | None = None
    train_time: str = "a few minutes on a 2-core CPU, once"
    options: tuple = ()


# method name -> "module:attribute" of its Method; one line per method
REGISTRY = {
    "dtn": "vos_lib.dtn.method:DTN_METHOD",
    "flow": "vos_lib.dtn.method:FLOW_METHOD",
    "first": "vos_lib.baselines:FIRST_METHOD",
    "dis": "vos_lib.baselines:DIS_METHOD",
    "dipnet": "vos_lib.dipnet.method:DIPNET_METHOD",
}


def registered() -> list[str]:
    return list(REGISTRY)


def get_method(name: str) -> Method:
    if name not in REGISTRY:
        raise UsageError(f"unknown method {name!r}; choose one of {registered()}")
    module, attr = REGISTRY[name].split(":")
    return getattr(importlib.import_module(module), attr)
