"""Phase II of DIPNet: the spatial segmentation network (Sec. 3.2).

"We design our Spatial Instance Segmentation Network based on the Cascaded Refinement
Network (CRN) [18]": the coarse mask is spatial attention on the image's feature maps,
refined stage by stage from the coarsest to the finest resolution.  The paper gives its
input (a 512x512 frame and the propagated 32x32 coarse mask) and output (a 512x512
mask), not its layers.  Ours: a ResNet encoder on the image; a decoder that starts at
Conv5 and, at each level j = 5, 4, 3, 2, weighs the lateral features by the current
attention (``f * (1 + a)``, the form of Eq. 1), concatenates the coarse mask resized to
that level, predicts a mask logit, and passes its sigmoid on as the next level's
attention (the cascade).  The stride-4 logit is upsampled to the input size.  Every
stage's logit is returned, so training can supervise each (as CRN does).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core.backbone import Backbone


def _conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class SpatialSegmentationNetwork(nn.Module):
    """``forward(images (N, 3, H, W), coarse (N, 1, h, w) probabilities)`` -> list of
    logits, coarsest first; the last is ``(N, 1, H, W)``."""

    levels = ("res5", "res4", "res3", "res2")

    def __init__(self, backbone: Backbone, width: int = 32):
        super().__init__()
        self.encoder = backbone
        self.lateral = nn.ModuleDict(
            {lv: nn.Conv2d(backbone.channels[lv], width, 1) for lv in self.levels})
        self.fuse = nn.ModuleDict(
            {lv: _conv(width * (1 if lv == "res5" else 2) + 1, width) for lv in self.levels})
        self.predict = nn.ModuleDict({lv: nn.Conv2d(width, 1, 1) for lv in self.levels})

    def forward(self, images: Tensor, coarse: Tensor) -> list[Tensor]:
        feats = self.encoder(images)
        logits, x, att = [], None, None
        for lv in self.levels:
            f = self.lateral[lv](feats[lv])
            size = f.shape[-2:]
            c = F.interpolate(coarse, size=size, mode="bilinear", align_corners=False)
            a = c if att is None else F.interpolate(att, size=size, mode="bilinear",
                                                    align_corners=False)
            f = f * (1 + a)
            if x is not None:
                x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
                f = torch.cat([f, x], 1)
            x = self.fuse[lv](torch.cat([f, c], 1))
            logit = self.predict[lv](x)
            att = torch.sigmoid(logit)
            logits.append(logit)
        logits[-1] = F.interpolate(logits[-1], size=images.shape[-2:], mode="bilinear",
                                   align_corners=False)
        return logits
