"""DTN's registry entry: how the ``segment``/``train`` commands and the book build, train,
load and run it (:class:`vos_lib.core.segmenter.Method`).

``flow`` (mask propagation with DTN's trained flow network alone) is registered here too,
since its weights are DTN's flow stage.
"""
from __future__ import annotations

from ..core.segmenter import Method, pick_device
from . import config
from .inference import DTNSegmenter
from .train import VARIANTS, cached_checkpoint, from_checkpoint, load_dtn, train_dtn


def dtn_segmenter(checkpoint=None, device=None, **options) -> DTNSegmenter:
    """A :class:`DTNSegmenter` from ``checkpoint`` (default: the cached CPU-scale model,
    trained on first use; the CLI asks before training, see ``segment --train-if-missing``)."""
    device = pick_device(device)
    path = checkpoint or train_dtn("cpu", device=device)
    return DTNSegmenter(load_dtn(path, device=device), device=device, **options)


def flow_segmenter(checkpoint=None, device=None):
    """Flow-only mask propagation with the flow network of a DTN checkpoint."""
    from ..baselines import FlowPropagation
    device = pick_device(device)
    model = load_dtn(checkpoint or train_dtn("cpu", device=device), device=device)
    return FlowPropagation(model.flow, model.cfg.input_size, device=device)


DTN_METHOD = Method(
    name="dtn", summary="Dynamic Targeting Network + Mask Refinement Network (ICCV 2019)",
    segmenter=dtn_segmenter, configs=config.PRESETS, variants=VARIANTS, train=train_dtn,
    from_checkpoint=from_checkpoint, cached=lambda preset: cached_checkpoint(preset, "full"),
    # measured: flow + pre-training + fine-tuning of the cpu preset, 2 cores (2026-11)
    train_time="about 10-15 minutes on a 2-core CPU, once")

FLOW_METHOD = Method(
    name="flow", summary="the previous mask warped by DTN's flow network (baseline)",
    segmenter=flow_segmenter, cached=lambda preset: cached_checkpoint(preset, "full"),
    train_time="about 10-15 minutes on a 2-core CPU, once (DTN's training)")
