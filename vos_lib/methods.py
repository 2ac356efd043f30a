"""Name -> segmenter: the methods the ``segment`` command and the book can run."""
from __future__ import annotations

import torch

METHODS = ("dtn", "dipnet", "flow", "first")


def build_segmenter(method: str, checkpoint=None, device=None, **kw):
    """Build a ready-to-run segmenter.

    ``dtn`` loads ``checkpoint`` (default: the cached CPU-scale model, trained on first
    use); ``flow`` propagates masks with the DTN's flow network alone; ``first`` repeats
    the first mask.  ``dipnet`` arrives with the DIPNet chapters.
    """
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for but CUDA is not available on this machine")
    if method == "first":
        from .baselines import RepeatFirstMask
        return RepeatFirstMask()
    if method in ("dtn", "flow"):
        from .dtn import DTNSegmenter
        from .train import load_dtn, train_dtn
        path = checkpoint or train_dtn("cpu", device=device)
        model = load_dtn(path, device=device)
        if method == "flow":
            from .baselines import FlowPropagation
            return FlowPropagation(model.flow, model.cfg.input_size, device=device)
        return DTNSegmenter(model, device=device, **kw)
    if method == "dipnet":
        raise NotImplementedError("DIPNet is not implemented yet (see the DIPNet issue); "
                                  "use --method dtn")
    raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")
