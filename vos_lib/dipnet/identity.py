"""Phase I of DIPNet, identity side (Sec. 3.1, Fig. 3 a-b): the identity encoding
network and the identity updating module.

* :class:`IdentityEncoder` - a ResNet that takes a frame and one object's mask and
  returns the object's **identity attention vector** beta in (0, 1)^C, C = the channels
  of Conv5 (2048 for ResNet-50).  After Conv1, Conv2_x, Conv3_x and Conv4_x the mask m
  (resized to the feature map) is applied as spatial attention, Eq. 1:
  ``f' = f + m * f``.  An FC layer and a sigmoid turn Conv5 into beta.
* :func:`update_identity` - Eq. 2, ``alpha_t = omega * beta_{t-1} + (1 - omega) *
  alpha_{t-1}``, skipped on frames whose output is empty.

Where we read the paper differently: the paper applies "a fully-connected layer" to
the Conv5 maps; on ResNet-50's 2048x8x8 maps a dense layer to 2048 would hold 268M
weights, so we average-pool Conv5 over space first (FC 2048 -> 2048).  "Conv1" is
torchvision's stem (conv1, BN, ReLU, max-pool).  The encoder ends where the feature
encoder does (``DIPNetConfig.feature_level``: Conv5 in the paper, Conv4 at CPU scale),
with Eq. 1 after every block before its last.  ``mode="concat"`` is the alternative
of Sec. 4.2.2: frame and mask concatenated as a 4-channel input, no Eq. 1.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core.backbone import Backbone


class IdentityEncoder(nn.Module):
    """Frame + object mask -> identity attention vector (Sec. 3.1, Eq. 1).

    ``forward(images (N, 3, H, W) in [0, 1], masks (N, H, W) or (N, 1, H, W))`` returns
    ``(N, C)``.
    """

    def __init__(self, backbone: Backbone, mode: str = "masked"):
        super().__init__()
        if mode not in ("masked", "concat"):
            raise ValueError(f"identity encoder mode must be 'masked' or 'concat', got {mode!r}")
        self.net, self.mode = backbone, mode
        self.last = backbone.levels[-1]
        channels = backbone.channels[self.last]
        if mode == "concat":                 # a 4th input channel for the mask
            conv = backbone.stem[0]
            new = nn.Conv2d(4, conv.out_channels, conv.kernel_size, conv.stride,
                            conv.padding, bias=False)
            with torch.no_grad():
                new.weight[:, :3] = conv.weight
                new.weight[:, 3:] = 0
            backbone.stem[0] = new
        self.fc = nn.Linear(channels, channels)
        self.channels = channels

    @staticmethod
    def attend(f: Tensor, m: Tensor) -> Tensor:
        """Eq. 1: ``f' = f + m * f`` with ``m`` resized (area) to ``f``'s grid."""
        m = F.adaptive_avg_pool2d(m, f.shape[-2:])
        return f + m * f

    def forward(self, images: Tensor, masks: Tensor) -> Tensor:
        m = masks.float()
        m = m[:, None] if m.dim() == 3 else m
        x = (images - self.net.mean) / self.net.std
        if self.mode == "concat":
            x = self.net.stem(torch.cat([x, m * 2 - 1], 1))
        else:
            x = self.attend(self.net.stem(x), m)          # after Conv1
        for i, level in enumerate(self.net.levels, 1):
            x = getattr(self.net, f"layer{i}")(x)
            if self.mode == "masked" and level != self.last:  # after Conv2_x .. Conv4_x
                x = self.attend(x, m)
        return torch.sigmoid(self.fc(x.mean((2, 3))))


def update_identity(alpha: Tensor, beta: Tensor, omega: float,
                    empty: Tensor | None = None) -> Tensor:
    """Eq. 2: ``alpha_t = omega * beta_{t-1} + (1 - omega) * alpha_{t-1}``.

    ``alpha``, ``beta``: ``(K, C)``; ``empty``: ``(K,)`` bool, True where the previous
    output of that object was empty - its vector is kept (the paper skips the update).
    ``omega = 0`` keeps the first frame's vector, ``omega = 1`` uses only the last frame.
    """
    new = omega * beta + (1 - omega) * alpha
    if empty is None:
        return new
    return torch.where(empty[:, None], alpha, new)
