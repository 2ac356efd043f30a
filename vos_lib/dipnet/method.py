"""DIPNet's registry entry: how the ``segment``/``train`` commands and the book build,
train, load and run it (:class:`vos_lib.core.segmenter.Method`)."""
from __future__ import annotations

from ..core.segmenter import Method, pick_device
from . import config
from .inference import DIPNetSegmenter
from .train import VARIANTS, cached_checkpoint, from_checkpoint, load_dipnet, train_dipnet


def dipnet_segmenter(checkpoint=None, device=None, **options) -> DIPNetSegmenter:
    """A :class:`DIPNetSegmenter` from ``checkpoint`` (default: the cached CPU-scale
    model, trained on first use; the CLI asks before training).  ``options``:
    ``finetune``, ``crop``, ``joint``, ``omega``, ... (see the segmenter)."""
    device = pick_device(device)
    path = checkpoint or train_dipnet("cpu", device=device)
    return DIPNetSegmenter(load_dipnet(path, device=device), device=device, **options)


DIPNET_METHOD = Method(
    name="dipnet", summary="Dynamic Identity Propagation Network (WACV 2020)",
    segmenter=dipnet_segmenter, configs=config.PRESETS, variants=VARIANTS,
    train=train_dipnet, from_checkpoint=from_checkpoint,
    cached=lambda preset: cached_checkpoint(preset, "full"), options=("finetune",),
    train_time="about 5 minutes on a 2-core CPU, once")
