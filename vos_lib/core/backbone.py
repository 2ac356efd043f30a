"""Shared ResNet backbone producing the multi-level features ``F_i = {f_i^j}, j = 2..5`` (DTN Sec. 3.1).

"We employ the last output from Res2_x to Res5_x to construct the multi-level features."
These are the outputs of torchvision's ``layer1..layer4``, at strides 4, 8, 16 and 32.
The paper uses ResNet-50 with ImageNet weights (Sec. 3.4). The ``cpu`` preset uses a
ResNet-18 cut to one block per stage and trained from scratch.
"""
from __future__ import annotations

import warnings
from typing import Optional, Sequence

import torch
from torch import Tensor, nn
from torchvision.models import resnet as tv_resnet
from torchvision.ops import FrozenBatchNorm2d

LEVELS = ("res2", "res3", "res4", "res5")
STRIDES = {"res2": 4, "res3": 8, "res4": 16, "res5": 32}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# name -> (block type, torchvision default depth, ImageNet weights)
_SPECS = {
    "resnet18": (tv_resnet.BasicBlock, (2, 2, 2, 2), tv_resnet.ResNet18_Weights.IMAGENET1K_V1),
    "resnet34": (tv_resnet.BasicBlock, (3, 4, 6, 3), tv_resnet.ResNet34_Weights.IMAGENET1K_V1),
    "resnet50": (tv_resnet.Bottleneck, (3, 4, 6, 3), tv_resnet.ResNet50_Weights.IMAGENET1K_V2),
}


def _download_state_dict(weights) -> dict:
    """Fetch (or read from the torch hub cache) the state dict of a torchvision ``Weights`` enum."""
    return weights.get_state_dict(progress=False, check_hash=True)


def try_load_pretrained(model: nn.Module, weights, what: str = "ImageNet weights") -> bool:
    """Load torchvision ``weights`` into ``model``, or warn and keep the random init.

    Only keys whose shapes match are loaded. A ResNet with fewer blocks per stage
    (``blocks=(1, 1, 1, 1)``) therefore gets the stem and the first blocks of each stage.
    This function never raises on a failed download (for example when offline). It issues a
    ``UserWarning`` and returns ``False`` instead. It returns ``True`` when weights were loaded.
    """
    try:
        state = _download_state_dict(weights)
    except Exception as e:  # offline, proxy, corrupted cache ...
        warnings.warn(f"could not download {what} ({weights}): {type(e).__name__}: {e}; "
                      f"using random init", UserWarning, stacklevel=2)
        return False
    own = model.state_dict()
    matched = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(matched, strict=False)
    missing = [k for k in own if k not in matched and not k.endswith("num_batches_tracked")]
    if missing:
        warnings.warn(f"{what}: {len(missing)} tensors of {type(model).__name__} have no "
                      f"pretrained counterpart and keep their random init (e.g. {missing[0]})",
                      UserWarning, stacklevel=2)
    return True


class Backbone(nn.Module):
    """torchvision ResNet that returns ``{"res2", "res3", "res4", "res5"}`` feature maps.

    Args:
        name: ``"resnet18"``, ``"resnet34"`` or ``"resnet50"``.
        blocks: blocks per stage, e.g. ``(1, 1, 1, 1)``, or ``None`` for torchvision's depth.
        pretrained: load ImageNet weights through torchvision's weights API. If the download
            fails (offline), a warning is issued and the random init is kept.
        frozen_bn: use :class:`torchvision.ops.FrozenBatchNorm2d`, as usual when fine-tuning
            a pretrained detector with tiny batches (the paper's batch size is 2).
        upto: the last level computed (``"res4"`` drops ``layer4``; DIPNet's CPU preset).

    ``forward(images)`` takes float images in ``[0, 1]`` of shape ``(N, 3, H, W)`` and
    normalises them with the ImageNet mean and std itself. ``channels`` maps each level to
    its number of channels, and ``strides`` maps each level to its stride.
    """

    def __init__(self, name: str = "resnet18", blocks: Optional[Sequence[int]] = (1, 1, 1, 1),
                 pretrained: bool = False, frozen_bn: bool = False, upto: str = "res5"):
        super().__init__()
        if name not in _SPECS:
            raise ValueError(f"unknown backbone {name!r}; choose one of {sorted(_SPECS)}")
        block, default_blocks, weights = _SPECS[name]
        layers = list(default_blocks if blocks is None else blocks)
        if len(layers) != 4 or min(layers) < 1:
            raise ValueError(f"blocks must be 4 positive ints, got {blocks!r}")
        net = tv_resnet.ResNet(block, layers,
                               norm_layer=FrozenBatchNorm2d if frozen_bn else None)
        if pretrained:
            try_load_pretrained(net, weights, f"ImageNet weights for {name}")
        self.name, self.blocks = name, tuple(layers)
        self.stem = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
        if upto not in LEVELS:
            raise ValueError(f"upto must be one of {LEVELS}, got {upto!r}")
        self.levels = LEVELS[:LEVELS.index(upto) + 1]
        for i, level in enumerate(LEVELS, 1):          # layers past `upto` are not built
            setattr(self, f"layer{i}", getattr(net, f"layer{i}") if level in self.levels
                    else None)
        e = block.expansion
        self.channels = {"res2": 64 * e, "res3": 128 * e, "res4": 256 * e, "res5": 512 * e}
        self.strides = dict(STRIDES)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, images: Tensor) -> dict[str, Tensor]:
        x = self.stem((images - self.mean) / self.std)
        out = {}
        for i, level in enumerate(self.levels, 1):
            x = getattr(self, f"layer{i}")(x)
            out[level] = x
        return out


def build_backbone(cfg) -> Backbone:
    """Build the :class:`Backbone` that a :class:`vos_lib.dtn.config.DTNConfig` describes."""
    blocks = None if cfg.backbone_blocks is None else tuple(cfg.backbone_blocks)
    return Backbone(cfg.backbone, blocks=blocks, pretrained=cfg.pretrained)
