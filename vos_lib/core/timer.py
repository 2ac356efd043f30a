"""Wall time per named component (DTN Table 4), synchronising CUDA when used.

``with timer("backbone"): ...`` adds the block's seconds to ``timer.total["backbone"]``;
:class:`NullTimer` is the do-nothing stand-in a model uses when nobody is timing it.
"""
from __future__ import annotations

import time
from contextlib import contextmanager

import torch


class NullTimer:
    @contextmanager
    def __call__(self, name):
        yield


class Timer:
    """Accumulates wall time per component (Table 4), synchronising CUDA if used."""

    def __init__(self, device):
        self.device = torch.device(device)
        self.total: dict[str, float] = {}
        self.count: dict[str, int] = {}

    @contextmanager
    def __call__(self, name):
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        yield
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        self.total[name] = self.total.get(name, 0.0) + time.perf_counter() - t0
        self.count[name] = self.count.get(name, 0) + 1

    def per_call(self) -> dict:
        return {k: self.total[k] / self.count[k] for k in self.total}
