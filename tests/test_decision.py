"""Decision module (DTN Sec. 3.2, Eq. 1): shapes, range, Eq. 1 targets, MSE, routing."""
import pytest
import torch

from vos_lib.dtn.config import DTNConfig
from vos_lib.dtn.decision import DecisionModule, build_decision, confidence_target, dm_loss, mask_to_box, route
from vos_lib.core.flow import FlowNetS


def test_decision_module_shape_and_range():
    dm = DecisionModule(in_channels=64, hidden=256)
    c = dm(torch.randn(5, 64, 2, 3) * 100)
    assert c.shape == (5,) and ((c >= 0) & (c <= 1)).all()
    assert dm(torch.randn(2, 64)).shape == (2,)      # already-pooled input
    assert dm.fc1.out_features == 256 and dm.fc2.out_features == 1


def test_decision_on_flownets_conv6():
    flow = FlowNetS(width=4)
    dm = build_decision(DTNConfig(dm_features="conv6"), flow.conv6_channels)   # the paper
    x = torch.rand(1, 3, 64, 64)
    assert dm(flow(x, x)["conv6"]).shape == (1,)
    dmw = build_decision(DTNConfig(), flow.conv6_channels)                    # + warp stats
    with pytest.raises(ValueError, match="warp statistics"):
        dmw(flow(x, x)["conv6"])
    assert dmw(flow(x, x)["conv6"], torch.zeros(1, 10)).shape == (1,)
    with pytest.raises(ValueError, match="dm_features"):
        build_decision(DTNConfig(dm_features="conv7"), flow.conv6_channels)


def test_warp_statistics_flag_a_wrong_flow():
    from vos_lib.dtn.decision import warp_statistics
    from vos_lib.core.flow import warp
    g = torch.Generator().manual_seed(0)
    prev = torch.rand(1, 3, 32, 48, generator=g) * 0.2
    prev[:, :, 8:16, 8:16] = 1.0                               # a bright square object
    mask = torch.zeros(1, 32, 48)
    mask[0, 8:16, 8:16] = 1
    cur = torch.roll(prev, shifts=5, dims=-1)                  # it moved 5 px right
    good = torch.zeros(1, 2, 32, 48)
    good[:, 0] = -5.0                                          # backward flow: x - 5
    bad = torch.zeros(1, 2, 32, 48)                            # zero flow: BP would fail
    sample = torch.zeros(1, dtype=torch.long)
    s_good = warp_statistics(cur, prev, good, mask, warp(mask[:, None], good), sample)
    s_bad = warp_statistics(cur, prev, bad, mask, warp(mask[:, None], bad), sample)
    assert s_good.shape == (1, 10)
    assert s_good[0, 0] < 0.5 < s_bad[0, 0]                   # photometric error in the object
    assert s_good[0, 1] == pytest.approx(1.0, abs=1e-3)       # mass kept by the warp
    assert s_good[0, 2] == pytest.approx(0.5, abs=1e-3)       # |flow| / 10


def test_confidence_target_eq1():
    a = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    assert confidence_target(a, a).item() == pytest.approx(1.0)
    half = torch.tensor([[5.0, 0.0, 15.0, 10.0]])     # overlap 50, union 150
    assert confidence_target(half, a).item() == pytest.approx(1 / 3)
    bp = torch.cat([a, half, torch.tensor([[20.0, 20, 30, 30]])])
    gt = torch.cat([a, a, torch.tensor([[0.0, 0, 10, 10]])])
    assert confidence_target(bp, gt).item() == pytest.approx((1 + 1 / 3 + 0) / 3)


def test_confidence_target_absent_objects():
    a = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    z = torch.zeros(1, 4)
    # object 2 absent in GT -> ignored, even though BP has a box for it
    assert confidence_target(torch.cat([a, a]), torch.cat([a, z])).item() == pytest.approx(1.0)
    valid = torch.tensor([True, False])
    assert confidence_target(torch.cat([a, a]), torch.cat([a, a]), valid).item() == pytest.approx(1.0)
    # all absent: 1 if BP is empty too, else 0
    assert confidence_target(z, z).item() == 1.0
    assert confidence_target(a, z).item() == 0.0
    # BP lost a present object -> IoU 0
    assert confidence_target(z, a).item() == 0.0


def test_confidence_target_from_masks():
    m = torch.zeros(2, 20, 20)
    m[0, 2:8, 2:8] = 1
    m[1, 10:15, 10:15] = 1
    gt_boxes, valid = mask_to_box(m)
    bp_boxes, _ = mask_to_box(torch.roll(m, shifts=1, dims=2))   # BP box shifted by one pixel
    # box widths are 5 and 4 (pixel-centre convention); shift 1 -> IoU 4*5/(6*5) and 3*4/(5*4)
    expected = (20 / 30 + 12 / 20) / 2
    assert confidence_target(bp_boxes, gt_boxes, valid).item() == pytest.approx(expected)


def test_dm_loss_and_route():
    pred = torch.tensor([0.5, 0.9], requires_grad=True)
    loss = dm_loss(pred, torch.tensor([1.0, 0.9]))
    assert loss.item() == pytest.approx(0.125)
    loss.backward()
    assert pred.grad is not None
    assert route(torch.tensor([0.2, 0.83, 0.84, 1.0])).tolist() == [False, False, True, True]
    assert route(torch.tensor([0.5]), theta_c=0.4).tolist() == [True]
