"""Decision module (DM) of the dynamic targeting network (DTN Sec. 3.2, Eq. 1; Sec. 3.4).

"Our DM takes the features from the Conv6 of the FlowNet2-S as input. Then we exploit an
average pooling layer and two fully connected layers to predict a confidence score C_i."
The two FC layers have 256 and 1 channels (Sec. 3.4). The target confidence is the mean IoU
between the box propagation (BP) boxes and the ground-truth boxes (Eq. 1). Training uses
an MSE loss. At inference, frames with ``C_i > theta_c = 0.83`` take the fast BP stream, and
the other frames take the box re-identification (BR) stream.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.ops import box_iou

from ..core.flow import warp
from ..core.boxes import mask_to_box  # noqa: F401  (re-exported: BP boxes = mask_to_box(warped masks))


class DecisionModule(nn.Module):
    """Global average pooling, then FC(in, hidden) + ReLU, then FC(hidden, 1), then a sigmoid. This maps Conv6 features to the confidence ``C_i``.

    Args:
        in_channels: channels of the flow network's Conv6 features, i.e. ``flow_net.conv6_channels``
            (``16 * width`` for :class:`vos_lib.core.flow.FlowNetS`, or RAFT's context channels for
            :class:`vos_lib.core.flow.RAFTFlow`). Any ``(N, C, h, w)`` map works, and an already
            pooled ``(N, C)`` vector works too.
        hidden: width of the first FC layer (256 in the paper).

    ``forward(conv6) -> (N,)`` confidences in ``[0, 1]``. The paper regresses the IoU of
    Eq. 1 directly with MSE and does not name an output activation. A sigmoid is used
    here so that the prediction lies in the range of its IoU target. The trainer decides whether
    to detach ``conv6`` so that the DM loss leaves the flow network untouched.
    """

    def __init__(self, in_channels: int, hidden: int = 256, extra: int = 0):
        super().__init__()
        self.extra = extra
        self.fc1 = nn.Linear(in_channels + extra, hidden)
        self.fc2 = nn.Linear(hidden, 1)

    def forward(self, conv6: Tensor, extra: Optional[Tensor] = None) -> Tensor:
        x = conv6.mean(dim=(2, 3)) if conv6.dim() == 4 else conv6
        if self.extra:
            if extra is None:
                raise ValueError(f"this decision module also reads {self.extra} warp statistics "
                                 "(DTNConfig.dm_features='conv6+warp'); pass extra=")
            x = torch.cat([x, extra.to(x.dtype)], dim=1)
        return torch.sigmoid(self.fc2(F.relu(self.fc1(x)))).squeeze(1)


N_WARP_STATS = 10


def warp_statistics(cur_img: Tensor, prev_img: Tensor, flow: Tensor, prev_masks: Tensor,
                    warped_masks: Tensor, sample: Tensor) -> Tensor:
    """Object-aware evidence of a failing propagation: ``(B, 10)`` per frame pair.

    Our CPU-scale addition to the DM input (``DTNConfig.dm_features="conv6+warp"``; the
    paper feeds Conv6 alone).  For each object ``k`` (``sample[k]`` its frame) three
    numbers: the photometric error ``|I_i - warp(I_{i-1}, O_i)|`` inside the warped mask
    (x10; high where the flow is wrong: occlusion, a jump, a new appearance), the area of
    the warped mask over the previous one (mass leaving the frame or collapsing) and the
    mean flow magnitude inside it (/10, fast motion); their mean, max and min over the
    frame's objects, plus the frame's mean photometric error (x10).
    """
    B = cur_img.shape[0]
    err = (cur_img - warp(prev_img, flow)).abs().mean(1)               # (B, H, W)
    w = warped_masks.reshape(warped_masks.shape[0], *err.shape[-2:]).float()
    area = w.sum((1, 2)).clamp(min=1.0)
    e_obj = (err[sample] * w).sum((1, 2)) / area * 10
    ratio = (w.sum((1, 2)) / prev_masks.float().sum((1, 2)).clamp(min=1.0)).clamp(max=2.0)
    mag = (flow[sample].norm(dim=1) * w).sum((1, 2)) / area / 10
    stats = torch.stack([e_obj, ratio, mag], 1)                        # (K, 3)
    out = cur_img.new_zeros((B, N_WARP_STATS))
    for b in range(B):
        st = stats[sample == b]
        if st.numel():
            out[b, :9] = torch.cat([st.mean(0), st.amax(0), st.amin(0)])
        out[b, 9] = err[b].mean() * 10
    return out


def confidence_target(bp_boxes: Tensor, gt_boxes: Tensor, valid: Optional[Tensor] = None) -> Tensor:
    """Ground-truth confidence of Eq. 1, ``C^_i = 1/K sum_k IoU(T_i^k, T^_i^k)``, as a scalar tensor.

    Args:
        bp_boxes: ``(K, 4)`` xyxy boxes ``T_i^k`` predicted by the BP stream (for example
            ``mask_to_box(warp(prev_masks, flow))[0]``).
        gt_boxes: ``(K, 4)`` ground-truth boxes ``T^_i^k`` of the same objects.
        valid: ``(K,)`` bool, True where object ``k`` is present in the ground-truth frame
            (the ``valid`` output of :func:`vos_lib.core.boxes.mask_to_box`). ``None`` treats every
            non-all-zero GT box as present.

    Rules for absent objects (the paper does not discuss them):

    * Objects absent from the GT frame are ignored, and the mean runs over the present ones.
    * If *no* object is present, the target is 1.0 when every BP box is empty too (BP agrees
      that nothing is visible, so it is trustworthy). Otherwise it is 0.0 (BP hallucinates a
      box, so the frame should go to BR). "Empty" here means the all-zero box of
      :func:`vos_lib.core.boxes.mask_to_box`.
    * A zero-area BP box for a present object has IoU 0. Two identical zero-area boxes
      (one-pixel objects) have IoU 1.
    """
    bp_boxes, gt_boxes = bp_boxes.float(), gt_boxes.float().to(bp_boxes.device)
    if valid is None:
        valid = gt_boxes.abs().sum(dim=1) > 0
    valid = valid.to(device=bp_boxes.device, dtype=torch.bool)
    if not valid.any():
        bp_empty = bp_boxes.abs().sum(dim=1) == 0              # mask_to_box's empty box
        return bp_boxes.new_tensor(1.0 if bool(bp_empty.all()) else 0.0)
    bp, gt = bp_boxes[valid], gt_boxes[valid]
    iou = box_iou(bp, gt).diagonal()
    same = (bp == gt).all(dim=1)
    iou = torch.where(torch.isnan(iou), same.to(iou.dtype), iou)
    return iou.mean()


def frame_target(flow: Tensor, prev_masks: Tensor, cur_masks: Tensor) -> Tensor:
    """Eq. 1 for one frame pair, from the flow O_i (``(1, 2, H, W)``) and the objects'
    masks of frames i-1 and i (``(K, H, W)``): warp Y_{i-1}^k into frame i, take the boxes
    of the warped masks (the BP boxes) and score them against the ground-truth boxes
    with :func:`confidence_target` (what :meth:`vos_lib.dtn.DTN.training_step` does for a
    batch)."""
    warped = warp(prev_masks.float()[:, None], flow.expand(len(prev_masks), -1, -1, -1))[:, 0]
    bp, bp_ok = mask_to_box(warped)
    gt, gt_ok = mask_to_box(cur_masks)
    return confidence_target(bp * bp_ok[:, None], gt, gt_ok)


def dm_loss(pred: Tensor, target: Tensor) -> Tensor:
    """MSE between predicted and target confidences (Sec. 3.2: "trained with mean squared error")."""
    return F.mse_loss(pred, target.to(pred.dtype).reshape(pred.shape))


def route(confidence: Tensor, theta_c: float = 0.83) -> Tensor:
    """Stream assignment (Sec. 3.2). True means BP (``C_i > theta_c``), and False means BR."""
    return confidence > theta_c


def build_decision(cfg, in_channels: int) -> DecisionModule:
    """Build the :class:`DecisionModule` of a :class:`vos_lib.dtn.config.DTNConfig` (``cfg.dm_hidden``,
    ``cfg.dm_features``: ``"conv6"`` as in the paper or ``"conv6+warp"``, see :func:`warp_statistics`)."""
    if cfg.dm_features not in ("conv6", "conv6+warp"):
        raise ValueError(f"dm_features must be 'conv6' or 'conv6+warp', got {cfg.dm_features!r}")
    extra = N_WARP_STATS if cfg.dm_features == "conv6+warp" else 0
    return DecisionModule(in_channels, hidden=cfg.dm_hidden, extra=extra)
