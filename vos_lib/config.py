"""Presets: the settings every method shares, plus one config per method (nanoGPT-style).

``cpu``   - what CI and the rendered book run: synthetic DAVIS-format videos, small
            networks and inputs, training from scratch in minutes on 2 cores.
``paper`` - the papers' settings: real DAVIS, ResNet-50 with ImageNet weights, the
            papers' hyper-parameters, a GPU.

A :class:`Preset` holds the data, the shared training loop (:class:`TrainConfig`: batch,
optimizer, seed, AMP) and ``methods``: each registered method's own config at that scale
(``preset.methods["dtn"]``, also reachable as ``preset.dtn``).  The method configs come
from the registry (:data:`vos_lib.core.segmenter.REGISTRY`), so adding a method adds its
config here without editing this file.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from .data.synthetic import SyntheticConfig


@dataclass
class TrainConfig:
    """The shared training loop (:func:`vos_lib.engine.trainer.fit`)."""
    batch_size: int = 4
    lr: float = 1e-3                    # generic learning rate (models without stages)
    optimizer: str = "adam"             # "sgd" at paper scale
    momentum: float = 0.9
    lr_step: int = 50_000
    num_workers: int = 0
    seed: int = 0
    amp: bool = True                    # mixed precision when CUDA is present


@dataclass
class Preset:
    name: str
    data: SyntheticConfig = field(default_factory=SyntheticConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    methods: dict = field(default_factory=dict)   # method name -> its config dataclass

    def __getattr__(self, name):        # preset.dtn == preset.methods["dtn"]
        methods = self.__dict__.get("methods") or {}
        if name in methods:
            return methods[name]
        raise AttributeError(f"preset has no field or method config {name!r}")

    def to_dict(self, method: str | None = None) -> dict:
        """The preset as a dict; with ``method``, only that method's config is kept (so a
        checkpoint's recorded preset compares equal whatever other methods exist)."""
        d = asdict(self)
        if method is not None:
            d["methods"] = {method: d["methods"][method]}
        return d

    def with_method(self, name: str, **changes) -> "Preset":
        """A copy whose method ``name`` has ``changes`` (e.g. fewer iterations in a test)."""
        return replace(self, methods={**self.methods, name: replace(self.methods[name], **changes)})


def method_configs(preset: str) -> dict:
    """Each registered method's config at scale ``preset`` (methods without one skipped)."""
    from .core.segmenter import registered, get_method
    return {m: get_method(m).configs[preset]() for m in registered()
            if preset in get_method(m).configs}


def cpu() -> Preset:
    return Preset(name="cpu", methods=method_configs("cpu"))


def paper() -> Preset:
    return Preset(
        name="paper", data=SyntheticConfig(height=480, width=854),
        train=TrainConfig(batch_size=2, optimizer="sgd", lr_step=50_000, num_workers=4),
        methods=method_configs("paper"))


PRESETS = {"cpu": cpu, "paper": paper}


def get_preset(name: str, **overrides) -> Preset:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    p = PRESETS[name]()
    return replace(p, **overrides) if overrides else p
