"""Optical flow for the box propagation (BP) stream and the decision module (DTN Sec. 3.2).

"We begin with feeding the current frame I_i and the last frame I_{i-1} to FlowNet2-S to
generate their optical flow map O_i. [...] we take the predicted binary mask of the last
frame Y_{i-1}^k and warp it to Y_{(i-1)->i}^k according to flow map O_i with bilinear
operation."  The same network's Conv6 features feed the decision module.

Flow convention used in the whole library: ``flow`` is ``(N, 2, H, W)`` in pixels, with
channels ``(dx, dy)``. It is the **backward** flow of the current frame ``t``, so
``I_t(x) ~= I_{t-1}(x + flow_t(x))``. Hence ``warp(I_{t-1}, flow_t) ~= I_t``, and
``warp(mask_{t-1}, flow_t)`` is the propagated mask ``Y_{(t-1)->t}``.

Contents: :func:`warp`, :class:`FlowNetS` (FlowNet-S, Dosovitskiy et al. 2015, the
FlowNet2-S of the paper), the FlowNet losses :func:`multiscale_epe_loss` and :func:`epe`,
the visualisation helpers :func:`flow_to_color` and :func:`color_wheel`, an optional
:class:`RAFTFlow` wrapper of torchvision's RAFT, and the factory :func:`build_flow`.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.utils import flow_to_image


# --------------------------------------------------------------------------- warping
def warp(x: Tensor, flow: Tensor, mode: str = "bilinear") -> Tensor:
    """Differentiable backward warping, ``out(p) = x(p + flow(p))``, computed with :func:`F.grid_sample`.

    Args:
        x: ``(N, C, H, W)`` tensor (an image, mask, or features). Non-float inputs such as
            bool or uint8 masks are converted to float.
        flow: ``(N, 2, H, W)`` displacement in pixels, ``(dx, dy)``.
        mode: ``"bilinear"`` (as in the paper) or ``"nearest"``.

    Pixel centres are at integer coordinates (``align_corners=True``). Samples outside
    the frame read zeros. Gradients flow to both ``x`` and ``flow``.
    """
    if flow.dim() != 4 or flow.shape[1] != 2:
        raise ValueError(f"flow must be (N, 2, H, W), got {tuple(flow.shape)}")
    if x.shape[-2:] != flow.shape[-2:]:
        raise ValueError(f"x {tuple(x.shape)} and flow {tuple(flow.shape)} sizes differ")
    out_dtype = x.dtype if x.is_floating_point() else torch.float32
    # sample in float32 at least: half precision cannot hold pixel coordinates of big frames
    dtype = torch.promote_types(torch.promote_types(out_dtype, flow.dtype), torch.float32)
    _, _, H, W = flow.shape
    ys, xs = torch.meshgrid(torch.arange(H, device=flow.device, dtype=dtype),
                            torch.arange(W, device=flow.device, dtype=dtype), indexing="ij")
    px = xs + flow[:, 0].to(dtype)                         # (N, H, W) sampling positions
    py = ys + flow[:, 1].to(dtype)
    grid = torch.stack([2 * px / max(W - 1, 1) - 1, 2 * py / max(H - 1, 1) - 1], dim=-1)
    out = F.grid_sample(x.to(dtype), grid, mode=mode, padding_mode="zeros", align_corners=True)
    return out.to(out_dtype)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _pad_to(x: Tensor, multiple: int, min_size: int = 0) -> Tensor:
    """Pad the bottom and right of ``x`` by edge replication so that H and W become multiples of ``multiple`` that are at least ``min_size``."""
    H, W = x.shape[-2:]
    ph = max(H + (-H) % multiple, min_size + (-min_size) % multiple) - H
    pw = max(W + (-W) % multiple, min_size + (-min_size) % multiple) - W
    return F.pad(x, (0, pw, 0, ph), mode="replicate") if (ph or pw) else x


# --------------------------------------------------------------------------- FlowNet-S
def _conv(cin: int, cout: int, k: int = 3, s: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, (k - 1) // 2), nn.LeakyReLU(0.1, inplace=True))


def _deconv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, 2, 1), nn.LeakyReLU(0.1, inplace=True))


class FlowNetS(nn.Module):
    """FlowNet-S encoder-decoder, the "FlowNet2-S" that DTN uses for BP and the DM (Sec. 3.2, 3.4).

    Encoder: conv1 (7x7, /2), conv2 (5x5, /2), conv3 (5x5, /2), conv3_1, conv4 (/2), conv4_1,
    conv5 (/2), conv5_1, conv6 (/2), conv6_1, with channels
    ``width * (1, 2, 4, 4, 8, 8, 8, 8, 16, 16)``. ``width=64`` gives the original
    64, ..., 1024, and ``width=16`` (the ``cpu`` preset) gives 16, 32, 64, 64, 128, 128,
    128, 128, 256, 256 (about 2.4M parameters instead of 38M).
    Decoder: ``predict_flow6 .. predict_flow2`` at strides 64, 32, 16, 8, 4. At each
    step the deconvolved features, the encoder skip features and the upsampled coarser
    flow are concatenated, as in the original. All convs use LeakyReLU(0.1) and no BN.

    Internally, the predictions are full-resolution pixels divided by ``div_flow=20``,
    as in FlowNet/FlowNet2. The outputs are converted to pixels:

    ``forward(cur, prev)`` takes two ``(N, 3, H, W)`` float frames in ``[0, 1]`` of any size.
    They are padded to a multiple of 64 internally, and the outputs are cropped back.
    The per-channel mean of the two frames is subtracted inside, as in FlowNet2.
    It returns a dict with:

    * ``flow``: ``(N, 2, H, W)`` backward flow of ``cur`` w.r.t. ``prev`` in pixels, so
      ``warp(prev, flow) ~= cur``. It is the stride-4 prediction upsampled bilinearly.
    * ``flows``: list of the 5 predictions, coarse to fine (strides ``self.strides``), each
      ``(N, 2, ceil(H/s), ceil(W/s))`` in pixels *of its own scale*. This is the input of
      :func:`multiscale_epe_loss`.
    * ``conv6``: ``(N, 16*width, ceil(H/64), ceil(W/64))`` conv6_1 features for the DM.
    """

    strides = (64, 32, 16, 8, 4)

    def __init__(self, width: int = 16, div_flow: float = 20.0):
        super().__init__()
        c = [width * m for m in (1, 2, 4, 4, 8, 8, 8, 8, 16, 16)]
        self.width, self.div_flow = width, div_flow
        self.conv6_channels = c[9]
        self.conv1 = _conv(6, c[0], 7, 2)
        self.conv2 = _conv(c[0], c[1], 5, 2)
        self.conv3 = _conv(c[1], c[2], 5, 2)
        self.conv3_1 = _conv(c[2], c[3])
        self.conv4 = _conv(c[3], c[4], 3, 2)
        self.conv4_1 = _conv(c[4], c[5])
        self.conv5 = _conv(c[5], c[6], 3, 2)
        self.conv5_1 = _conv(c[6], c[7])
        self.conv6 = _conv(c[7], c[8], 3, 2)
        self.conv6_1 = _conv(c[8], c[9])
        # decoder: deconv_j maps level j+1 to level j; concat = skip + deconv + up-flow
        self.deconv5 = _deconv(c[9], 8 * width)
        self.deconv4 = _deconv(c[7] + 8 * width + 2, 4 * width)
        self.deconv3 = _deconv(c[5] + 4 * width + 2, 2 * width)
        self.deconv2 = _deconv(c[3] + 2 * width + 2, width)
        in_pred = [c[9], c[7] + 8 * width + 2, c[5] + 4 * width + 2,
                   c[3] + 2 * width + 2, c[1] + width + 2]
        self.predict = nn.ModuleList(nn.Conv2d(ci, 2, 3, 1, 1) for ci in in_pred)   # flow6..flow2
        self.upflow = nn.ModuleList(nn.ConvTranspose2d(2, 2, 4, 2, 1, bias=False) for _ in range(4))
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, cur: Tensor, prev: Tensor) -> dict:
        H, W = cur.shape[-2:]
        x = torch.cat([cur, prev], dim=1)
        mean = torch.stack([cur, prev], dim=2).mean(dim=(2, 3, 4))          # (N, 3)
        x = _pad_to(x - mean.repeat(1, 2)[:, :, None, None], 64)
        c2 = self.conv2(self.conv1(x))
        c3 = self.conv3_1(self.conv3(c2))
        c4 = self.conv4_1(self.conv4(c3))
        c5 = self.conv5_1(self.conv5(c4))
        c6 = self.conv6_1(self.conv6(c5))
        feat, raw = c6, []
        for j, (skip, deconv) in enumerate(zip((c5, c4, c3, c2),
                                               (self.deconv5, self.deconv4, self.deconv3, self.deconv2))):
            f = self.predict[j](feat)
            raw.append(f)
            feat = torch.cat([skip, deconv(feat), self.upflow[j](f)], dim=1)
        raw.append(self.predict[4](feat))
        # raw = full-res pixels / div_flow  ->  pixels at each prediction's own scale
        flows = [(r * (self.div_flow / s))[..., :_ceil_div(H, s), :_ceil_div(W, s)]
                 for r, s in zip(raw, self.strides)]
        s = self.strides[-1]
        full = F.interpolate(raw[-1] * self.div_flow, scale_factor=s, mode="bilinear",
                             align_corners=False)[..., :H, :W]
        return {"flow": full, "flows": flows, "conv6": c6}


# --------------------------------------------------------------------------- losses
def _as_valid(valid: Optional[Tensor], ref: Tensor) -> Tensor:
    """Return ``valid`` as an (N, 1, H, W) float mask. ``None`` means every pixel is valid."""
    if valid is None:
        return torch.ones_like(ref[:, :1])
    if valid.dim() == 3:
        valid = valid[:, None]
    return valid.to(ref.dtype)


def epe(flow: Tensor, gt: Tensor, valid: Optional[Tensor] = None) -> Tensor:
    """Average end-point error ``||flow - gt||_2`` over the valid pixels, as a scalar tensor.

    ``valid`` is an optional ``(N, H, W)`` or ``(N, 1, H, W)`` mask. If no pixel is valid,
    the result is 0.
    """
    v = _as_valid(valid, gt)
    err = torch.linalg.vector_norm(flow - gt, dim=1, keepdim=True)
    return (err * v).sum() / v.sum().clamp(min=1)


def multiscale_epe_loss(flows: Sequence[Tensor], gt_flow: Tensor, valid: Optional[Tensor] = None,
                        weights: Sequence[float] = (0.32, 0.08, 0.02, 0.01, 0.005),
                        strides: Optional[Sequence[int]] = None) -> Tensor:
    """Multi-scale EPE loss of FlowNet (Dosovitskiy et al. 2015): ``sum_s w_s * EPE_s``.

    Args:
        flows: predictions in pixels of their own scale, in the same order as ``weights``
            and ``strides``. This is the ``flows`` entry of :class:`FlowNetS`, coarse to fine.
        gt_flow: ``(N, 2, H, W)`` ground-truth flow in full-resolution pixels.
        valid: optional ``(N, H, W)`` / ``(N, 1, H, W)`` mask of pixels with ground truth.
        weights: per-scale weights, **coarse to fine**. The default is FlowNet's
            ``(0.005, 0.01, 0.02, 0.08, 0.32)`` for flow2..flow6, reversed.
        strides: stride of each prediction. Defaults to :attr:`FlowNetS.strides` (the last
            ``len(flows)`` of them). Pass ``(1,) * n`` for full-resolution predictions.

    The ground truth is downsampled to each scale by averaging the valid pixels in each
    ``s x s`` cell. It is zero-padded to ``s * ceil(H/s)`` first, with the padding marked
    invalid, so that the cells match FlowNetS's grid exactly. It is then divided by ``s``
    (the resolution factor), which matches the predictions' own-scale pixel units.
    """
    strides = FlowNetS.strides[-len(flows):] if strides is None else strides
    if not (len(flows) == len(weights) == len(strides)):
        raise ValueError(f"got {len(flows)} flows, {len(weights)} weights, {len(strides)} strides")
    v = _as_valid(valid, gt_flow)
    H, W = gt_flow.shape[-2:]
    total = gt_flow.new_zeros(())
    for f, w, s in zip(flows, weights, strides):
        h, wd = f.shape[-2:]
        pad = (0, wd * s - W, 0, h * s - H)
        g, vv = F.pad(gt_flow * v, pad), F.pad(v, pad)
        if s > 1:
            g, vv = F.avg_pool2d(g, s), F.avg_pool2d(vv, s)
        g = g / vv.clamp(min=1e-6) / s
        total = total + w * epe(f, g, vv > 0)
    return total


# --------------------------------------------------------------------------- visualisation
def flow_to_color(flow, max_flow: Optional[float] = None) -> np.ndarray:
    """Colour-wheel image (Middlebury/Baker et al. coding) of a flow field, as ``(H, W, 3)`` uint8.

    ``flow`` is a torch tensor or numpy array of shape ``(2, H, W)``, ``(1, 2, H, W)`` or
    ``(H, W, 2)``. Hue encodes direction and saturation encodes magnitude. By default the
    magnitude is normalised by the largest flow in the image, as in
    :func:`torchvision.utils.flow_to_image`. With ``max_flow`` the normalisation is fixed,
    which gives consistent colours across frames, and larger vectors are clipped.
    """
    f = torch.as_tensor(np.asarray(flow) if not torch.is_tensor(flow) else flow)
    f = f.detach().float().cpu()
    if f.dim() == 4:
        f = f[0]
    if f.dim() == 3 and f.shape[0] != 2 and f.shape[-1] == 2:
        f = f.permute(2, 0, 1)
    if f.dim() != 3 or f.shape[0] != 2:
        raise ValueError(f"flow must be (2, H, W), (1, 2, H, W) or (H, W, 2), got {tuple(f.shape)}")
    if max_flow is not None:
        # clip to max_flow, then add a sentinel column of norm exactly max_flow so that
        # torchvision's max-norm normalisation divides by max_flow; crop it off afterwards.
        norm = torch.linalg.vector_norm(f, dim=0, keepdim=True)
        f = f * (max_flow / norm.clamp(min=max_flow))
        sentinel = torch.zeros(2, f.shape[1], 1)
        sentinel[0] = max_flow
        f = torch.cat([f, sentinel], dim=2)
        return flow_to_image(f)[:, :, :-1].permute(1, 2, 0).numpy()
    return flow_to_image(f).permute(1, 2, 0).numpy()


def color_wheel(size: int = 101) -> np.ndarray:
    """Legend for :func:`flow_to_color`, as a ``(size, size, 3)`` uint8 image.

    Pixel ``(i, j)`` shows the flow ``(dx, dy)``, which points from the centre to that
    pixel, with ``max_flow`` equal to the radius. Pixels outside the unit disc are white.
    """
    r = torch.linspace(-1, 1, size)
    dy, dx = torch.meshgrid(r, r, indexing="ij")
    img = flow_to_color(torch.stack([dx, dy]), max_flow=1.0)
    img[(dx ** 2 + dy ** 2 > 1).numpy()] = 255
    return img


# --------------------------------------------------------------------------- RAFT plug-in
class RAFTFlow(nn.Module):
    """Optional paper-scale flow network that wraps :func:`torchvision.models.optical_flow.raft_small` or ``raft_large``.

    The forward signature and output dict are the same as for :class:`FlowNetS`.
    ``forward(cur, prev)`` calls ``raft(cur, prev)``, so the flow is again the backward
    flow of ``cur`` (``warp(prev, flow) ~= cur``). The frames are padded to a multiple of 8
    of at least 128, and mapped to RAFT's ``[-1, 1]`` input range internally.

    * ``flows``: RAFT's iterative predictions, all at full resolution (stride 1).
      Train them with ``multiscale_epe_loss(..., strides=(1,) * n)``.
    * ``conv6``: RAFT has no Conv6. Its place is taken by the output of RAFT's context
      encoder on the padded ``cur`` (``(N, C, h, w)`` at stride 8), which is captured with a
      forward hook and so costs nothing extra. ``C = conv6_channels`` (160 for small and
      256 for large). :class:`vos_lib.dtn.decision.DecisionModule` average-pools it like Conv6.

    ``pretrained=True`` loads the C_T_V2 weights when they can be downloaded. Otherwise it
    warns and keeps the random init.
    """

    def __init__(self, size: str = "small", pretrained: bool = True, num_flow_updates: int = 12):
        super().__init__()
        from torchvision.models import optical_flow as of
        from .backbone import try_load_pretrained

        builders = {"small": (of.raft_small, of.Raft_Small_Weights.C_T_V2),
                    "large": (of.raft_large, of.Raft_Large_Weights.C_T_V2)}
        if size not in builders:
            raise ValueError(f"size must be 'small' or 'large', got {size!r}")
        build, weights = builders[size]
        self.raft = build(weights=None)
        if pretrained:
            try_load_pretrained(self.raft, weights, f"RAFT-{size} weights")
        self.num_flow_updates = num_flow_updates
        self.conv6_channels = self.raft.context_encoder.conv.out_channels
        self._ctx = None
        self.raft.context_encoder.register_forward_hook(self._grab_context)

    def _grab_context(self, module, inputs, output):
        self._ctx = output

    def forward(self, cur: Tensor, prev: Tensor) -> dict:
        H, W = cur.shape[-2:]
        # RAFT needs sizes divisible by 8 and >= 128 (its correlation pyramid)
        a, b = _pad_to(cur * 2 - 1, 8, 128), _pad_to(prev * 2 - 1, 8, 128)
        preds = self.raft(a, b, num_flow_updates=self.num_flow_updates)
        flows = [p[..., :H, :W] for p in preds]
        ctx, self._ctx = self._ctx, None
        return {"flow": flows[-1], "flows": flows, "conv6": ctx}


def build_flow(cfg) -> nn.Module:
    """Build the flow network of a :class:`vos_lib.dtn.config.DTNConfig`.

    ``cfg.flow`` is ``"flownets"`` (FlowNetS with ``cfg.flow_width``) or ``"raft"``,
    ``"raft_small"`` or ``"raft_large"`` (pretrained iff ``cfg.pretrained``).
    """
    name = cfg.flow.lower()
    if name == "flownets":
        return FlowNetS(width=cfg.flow_width)
    if name in ("raft", "raft_small", "raft_large"):
        return RAFTFlow("large" if name == "raft_large" else "small", pretrained=cfg.pretrained)
    raise ValueError(f"unknown flow network {cfg.flow!r}; use 'flownets', 'raft', 'raft_small' or 'raft_large'")
