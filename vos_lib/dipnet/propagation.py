"""Phase I of DIPNet, propagation side (Sec. 3.1 Fig. 3 c-d, Sec. 3.3.2).

* The **feature encoding network** is a torchvision ResNet without its head; its Conv5
  output (2048x8x8 for a 256x256 input at paper scale) is what the identity vectors
  weigh (:class:`vos_lib.core.backbone.Backbone`, ``"res5"``).
* :class:`InstancePropagation` - the dynamic identity vector times the current frame's
  Conv5 features (channel-wise), then two 3x3 deconvolutions, two 3x3 convolutions
  (each with BatchNorm + ReLU) and a 1x1 convolution: a coarse mask logit at 4x the
  Conv5 resolution (32x32 at paper scale).  A sigmoid gives one instance's mask.
* :func:`joint_softmax` - several instances at once (Sec. 3.3.2): their logits are
  stacked on the batch dimension, the background logit is ``f_0 = -f_fg`` (the
  foreground object's output times -1), and a softmax over ``[f_0, f_1 .. f_n]`` gives
  each pixel to one instance.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn


def _block(conv: nn.Module, cout: int) -> nn.Sequential:
    return nn.Sequential(conv, nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class InstancePropagation(nn.Module):
    """``forward(features (N, C, h, w), alpha (N, C)) -> (N, 1, 4h, 4w)`` coarse logits."""

    def __init__(self, in_channels: int, width: int = 64):
        super().__init__()
        self.head = nn.Sequential(
            _block(nn.ConvTranspose2d(in_channels, width, 3, 2, 1, output_padding=1,
                                      bias=False), width),
            _block(nn.ConvTranspose2d(width, width, 3, 2, 1, output_padding=1, bias=False),
                   width),
            _block(nn.Conv2d(width, width, 3, padding=1, bias=False), width),
            _block(nn.Conv2d(width, width, 3, padding=1, bias=False), width),
            nn.Conv2d(width, 1, 1))

    def forward(self, features: Tensor, alpha: Tensor) -> Tensor:
        return self.head(features * alpha[:, :, None, None])


def joint_softmax(instance_logits: Tensor, foreground_logit: Tensor) -> Tensor:
    """Sec. 3.3.2: ``p_i = exp(f_i) / sum_{j=0..n} exp(f_j)`` with ``f_0 = -f_fg``.

    ``instance_logits``: ``(n, 1, h, w)`` (the n objects on the batch dimension);
    ``foreground_logit``: ``(1, 1, h, w)``.  Returns ``(n + 1, 1, h, w)``
    probabilities, background first; they sum to 1 at every pixel.
    """
    return torch.softmax(torch.cat([-foreground_logit, instance_logits], 0), dim=0)
