"""Optical flow (DTN Sec. 3.2 box propagation): warp, FlowNet-S, losses, visualisation, RAFT plug-in."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import vos_lib.core.backbone as bb
from vos_lib.core.boxes import mask_to_box
from vos_lib.dtn.config import DTNConfig
from vos_lib.core.flow import (FlowNetS, RAFTFlow, build_flow, color_wheel, epe, flow_to_color,
                          multiscale_epe_loss, warp)


def _const_flow(n, h, w, dx, dy):
    f = torch.zeros(n, 2, h, w)
    f[:, 0], f[:, 1] = dx, dy
    return f


def _smooth_image(h, w, seed=0):
    g = torch.Generator().manual_seed(seed)
    return F.interpolate(torch.rand(1, 3, h // 4, w // 4, generator=g), size=(h, w),
                         mode="bilinear", align_corners=False)


# ----------------------------------------------------------------------------- warp
def test_warp_integer_shift_exact_in_interior():
    x = torch.rand(2, 3, 20, 24, dtype=torch.float64)
    out = warp(x, _const_flow(2, 20, 24, 3, -2).double())  # out(y, x) = x(y - 2, x + 3)
    assert torch.allclose(out[:, :, 2:, :-3], x[:, :, :-2, 3:], atol=1e-12)
    out32 = warp(x.float(), _const_flow(2, 20, 24, 3, -2))  # float32: grid rounding ~1e-6
    assert torch.allclose(out32[:, :, 2:, :-3], x.float()[:, :, :-2, 3:], atol=1e-5)
    assert out[:, :, :2].abs().max() < 1e-9 and out[:, :, :, -3:].abs().max() < 1e-9  # zeros outside


def test_warp_zero_flow_is_identity_and_subpixel_bilinear():
    x = torch.rand(1, 1, 8, 9)
    assert torch.allclose(warp(x, torch.zeros(1, 2, 8, 9)), x, atol=1e-6)
    ramp = torch.arange(10.0).repeat(6, 1)[None, None]      # value = column index
    out = warp(ramp, _const_flow(1, 6, 10, 0.25, 0.0))
    assert torch.allclose(out[..., :-1], ramp[..., :-1] + 0.25, atol=1e-5)
    out = warp(ramp, _const_flow(1, 6, 10, 0.0, 0.7))       # along y: ramp is constant
    assert torch.allclose(out[..., :-1, :], ramp[..., :-1, :], atol=1e-5)


def test_warp_gradient_reaches_flow_and_input():
    x = _smooth_image(16, 16).requires_grad_()
    flow = _const_flow(1, 16, 16, 0.3, 0.4).requires_grad_()
    warp(x, flow).sum().backward()
    assert flow.grad is not None and flow.grad.abs().sum() > 0
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_warp_backward_convention_and_mask_box_shift():
    prev = torch.zeros(1, 1, 30, 40)
    prev[0, 0, 5:12, 8:20] = 1
    # backward flow of frame t: I_t(x) = I_{t-1}(x + flow). Object moved by (+4, +3) -> flow = (-4, -3)
    flow = _const_flow(1, 30, 40, -4, -3)
    moved = warp(prev, flow)
    b0, _ = mask_to_box(prev[:, 0])
    b1, v = mask_to_box(moved[:, 0])
    assert v.all() and torch.allclose(b1 - b0, torch.tensor([[4.0, 3.0, 4.0, 3.0]]))
    assert warp(prev.bool(), flow).dtype == torch.float32   # bool masks are accepted


# ----------------------------------------------------------------------------- FlowNet-S
@pytest.mark.parametrize("hw", [(96, 160), (100, 150)])
def test_flownets_shapes_any_size(hw):
    H, W = hw
    net = FlowNetS(width=4)
    out = net(torch.rand(2, 3, H, W), torch.rand(2, 3, H, W))
    assert out["flow"].shape == (2, 2, H, W)
    assert len(out["flows"]) == 5
    for f, s in zip(out["flows"], net.strides):
        assert f.shape == (2, 2, -(-H // s), -(-W // s))
    assert out["conv6"].shape == (2, net.conv6_channels, -(-H // 64), -(-W // 64))


def test_flownets_channels_width16():
    net = FlowNetS(width=16)
    assert [net.conv1[0].out_channels, net.conv3_1[0].out_channels, net.conv6_1[0].out_channels] == [16, 64, 256]
    assert build_flow(DTNConfig()).conv6_channels == 16 * DTNConfig().flow_width


def test_flownets_overfits_translation():
    torch.manual_seed(0)
    prev = _smooth_image(64, 64)
    gt = _const_flow(1, 64, 64, 3.0, -2.0)
    cur = warp(prev, gt)                       # so that the backward flow of cur is gt
    net = FlowNetS(width=4)
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    with torch.no_grad():
        e0 = epe(net(cur, prev)["flow"], gt).item()
    for _ in range(12):
        loss = multiscale_epe_loss(net(cur, prev)["flows"], gt)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        e1 = epe(net(cur, prev)["flow"], gt).item()
    assert e1 < 0.5 * e0, (e0, e1)


# ----------------------------------------------------------------------------- losses
def test_epe_values_and_valid_mask():
    gt = _const_flow(2, 5, 6, 3.0, 4.0)
    assert epe(torch.zeros_like(gt), gt).item() == pytest.approx(5.0)
    assert epe(gt, gt).item() == 0.0
    pred = gt.clone()
    pred[:, :, :, :3] = 0                                  # wrong on the left half only
    valid = torch.zeros(2, 5, 6, dtype=torch.bool)
    valid[..., 3:] = True
    assert epe(pred, gt, valid).item() == 0.0
    assert epe(pred, gt).item() == pytest.approx(2.5)


def test_multiscale_loss_exact_for_scaled_constant_flow():
    H, W = 100, 150
    gt = _const_flow(1, H, W, 8.0, -4.0)
    strides = FlowNetS.strides
    flows = [_const_flow(1, -(-H // s), -(-W // s), 8.0 / s, -4.0 / s) for s in strides]
    assert multiscale_epe_loss(flows, gt).item() == pytest.approx(0.0, abs=1e-5)
    zeros = [torch.zeros_like(f) for f in flows]
    w = (0.32, 0.08, 0.02, 0.01, 0.005)
    expected = sum(wi * 80 ** 0.5 / s for wi, s in zip(w, strides))
    assert multiscale_epe_loss(zeros, gt).item() == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError):
        multiscale_epe_loss(flows[:2], gt, weights=(1.0,))


# ----------------------------------------------------------------------------- visualisation
def test_flow_to_color_and_wheel():
    f = torch.randn(2, 7, 9)
    img = flow_to_color(f)
    assert img.shape == (7, 9, 3) and img.dtype == np.uint8
    assert np.array_equal(flow_to_color(f.permute(1, 2, 0).numpy()), img)
    assert flow_to_color(f[None], max_flow=10.0).shape == (7, 9, 3)
    assert (flow_to_color(torch.zeros(2, 4, 4), max_flow=1.0) == 255).all()  # zero flow = white
    wheel = color_wheel(31)
    assert wheel.shape == (31, 31, 3) and wheel.dtype == np.uint8
    assert (wheel[0, 0] == 255).all() and not (wheel[15, 30] == 255).all()


# ----------------------------------------------------------------------------- RAFT plug-in
def test_raft_wrapper_offline_and_shapes(monkeypatch):
    def fail(weights):
        raise OSError("offline")
    monkeypatch.setattr(bb, "_download_state_dict", fail)
    with pytest.warns(UserWarning, match="could not download RAFT-small weights.*random init"):
        net = RAFTFlow("small", pretrained=True, num_flow_updates=2)
    out = net(torch.rand(1, 3, 60, 70), torch.rand(1, 3, 60, 70))
    assert out["flow"].shape == (1, 2, 60, 70) and len(out["flows"]) == 2
    assert out["conv6"].shape[:2] == (1, net.conv6_channels)
    with pytest.raises(ValueError):
        build_flow(DTNConfig(flow="pwc"))
