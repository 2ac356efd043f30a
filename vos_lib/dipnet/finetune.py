"""One-shot fine-tuning of the spatial segmentation network on the first frame
(DIPNet Sec. 3.4, "One-shot Finetuning for Testing").

Only the SSN is fine-tuned ("We don't find that fine-tuning the instance propagation
network results in performance improvement").  Its samples are the first frame with
coarse masks made from the first mask by random dilation/erosion, as in training; SGD
with lr 1e-3 and momentum 0.9.  The paper runs 200 iterations on the full frame
(foreground), then 100 on the cropped foreground (one object) or 200 per instance
(several); the ``cpu`` preset runs fewer (:class:`~vos_lib.dipnet.config.DIPNetConfig`).

Our choices where the paper is silent: the batch holds ``batch`` differently
morphed copies of the one frame; BatchNorm statistics stay frozen (a batch of one
image would otherwise overwrite them); a copy is tuned, so the trained weights stay
intact for the next video.
"""
from __future__ import annotations

import copy
import time

import torch
from torch import Tensor, nn

from .model import morph_coarse, ssn_loss


def one_shot_finetune(ssn: nn.Module, image: Tensor, mask: Tensor, coarse_size, *,
                      iters: int, lr: float = 1e-3, batch: int = 4, morph_max: int = 5,
                      seed: int = 0) -> tuple[nn.Module, float]:
    """A copy of ``ssn`` fine-tuned on one frame; returns ``(copy, seconds)``.

    ``image``: ``(1, 3, H, W)`` at the SSN's size; ``mask``: ``(1, 1, H, W)`` in {0, 1}.
    ``iters = 0`` returns an untouched copy.
    """
    tuned = copy.deepcopy(ssn)
    if iters <= 0:
        return tuned.eval(), 0.0
    t0 = time.perf_counter()
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD([p for p in tuned.parameters() if p.requires_grad], lr=lr,
                          momentum=0.9)
    tuned.eval()                                   # frozen BatchNorm statistics
    images = image.expand(batch, -1, -1, -1)
    masks = mask.float().expand(batch, -1, -1, -1).cpu()
    with torch.enable_grad():
        for _ in range(iters):
            coarse = morph_coarse(masks, coarse_size, morph_max, gen).to(image.device)
            losses = ssn_loss(tuned(images, coarse), mask.float().expand_as(images[:, :1]))
            opt.zero_grad(set_to_none=True)
            sum(losses.values()).backward()
            opt.step()
    if image.device.type == "cuda":
        torch.cuda.synchronize()
    return tuned.eval(), time.perf_counter() - t0
