"""Tests of the conditional RPN and box re-identification (DTN Sec. 3.2, Eq. 2)."""
import math

import pytest
import torch

from vos_lib.dtn.crpn import (ConditionalRPN, conditional_anchors, full_anchors, matching_score,
                              roi_feature, select_candidate)

IMG = (96, 160)


def _centres(a):
    return (a[..., 0] + a[..., 2]) / 2, (a[..., 1] + a[..., 3]) / 2


def test_conditional_anchor_count_and_lattice():
    prev = torch.tensor([[40.0, 30.0, 80.0, 90.0],     # centre (60, 60) -> cell (3, 3)
                         [100.0, 10.0, 120.0, 20.0]])  # centre (110, 15) -> cell (6, 0)
    a = conditional_anchors(prev, stride=16, grid=3)
    assert a.shape == (2, 81, 4)
    cx, cy = _centres(a)
    for k, (ux, uy) in enumerate([(3, 3), (6, 0)]):
        # 9 distinct centres: the 3x3 lattice of cell centres around the centre's cell
        cells = sorted(set(zip(cx[k].round(decimals=3).tolist(), cy[k].round(decimals=3).tolist())))
        expect = sorted(((ux + dx + 0.5) * 16, (uy + dy + 0.5) * 16)
                        for dx in (-1, 0, 1) for dy in (-1, 0, 1))
        assert cells == expect
        # each lattice point carries 9 anchors (3 scales x 3 ratios), one stride apart
        c = cx[k].reshape(9, 9)
        assert torch.allclose(c, c[:, :1].expand(9, 9), atol=1e-4)
        # the centre cell of the lattice contains the previous box's centre
        pcx, pcy = (prev[k, 0] + prev[k, 2]) / 2, (prev[k, 1] + prev[k, 3]) / 2
        assert abs(cx[k, 40] - pcx) <= 8 and abs(cy[k, 40] - pcy) <= 8


def test_conditional_anchor_scales_and_ratios():
    prev = torch.tensor([[40.0, 30.0, 80.0, 90.0]])
    w0, h0 = 40.0, 60.0
    s0, r0 = math.sqrt(w0 * h0), h0 / w0
    a = conditional_anchors(prev, scales=(0.5, 1.0, 1.5), ratios=(0.5, 1.0, 1.5))[0]
    w, h = a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]
    scale = torch.sqrt(w * h).reshape(9, 3, 3)      # (cell, scale, ratio)
    ratio = (h / w).reshape(9, 3, 3)
    for si, m in enumerate((0.5, 1.0, 1.5)):
        assert torch.allclose(scale[:, si, :], torch.full((9, 3), m * s0), rtol=1e-5)
    for ri, m in enumerate((0.5, 1.0, 1.5)):
        assert torch.allclose(ratio[:, :, ri], torch.full((9, 3), m * r0), rtol=1e-5)
    # documented index of the previous shape at the centre cell
    assert torch.allclose(w[40], torch.tensor(w0)) and torch.allclose(h[40], torch.tensor(h0))
    # the 9 distinct shapes are the same at every cell
    assert len({(round(x, 3), round(y, 3)) for x, y in zip(w.tolist(), h.tolist())}) == 9


def test_full_anchors_count():
    fa = full_anchors((6, 10), stride=16, sizes=(16, 32, 64))
    assert fa.shape == (6 * 10 * 9, 4)
    cx, cy = _centres(fa)
    assert set(cx.round(decimals=3).tolist()) == {(u + 0.5) * 16 for u in range(10)}
    assert set(cy.round(decimals=3).tolist()) == {(v + 0.5) * 16 for v in range(6)}


def test_roi_feature_shape_and_value():
    res4 = torch.randn(2, 12, 6, 10)
    boxes = torch.tensor([[0.0, 0.0, 32.0, 32.0], [16.0, 16.0, 80.0, 64.0], [0.0, 0.0, 160.0, 96.0]])
    f = roi_feature(res4, boxes, stride=16, output_size=7, batch_index=torch.tensor([0, 1, 1]))
    assert f.shape == (3, 12)
    const = torch.ones(1, 3, 6, 10) * torch.tensor([1.0, 2.0, 3.0])[None, :, None, None]
    g = roi_feature(const, boxes[:2])
    assert torch.allclose(g, torch.tensor([[1.0, 2.0, 3.0]] * 2), atol=1e-5)


def test_matching_score_by_hand_and_argmin():
    first = torch.tensor([1.0, 0.0])
    prev = torch.tensor([1.0, 0.2])
    cands = torch.tensor([[0.0, 1.0],     # far
                          [1.0, 0.1],     # the true target: close to both
                          [5.0, 5.0]])    # far
    s = matching_score(cands, first, prev)
    by_hand = torch.tensor([
        math.sqrt(1 + 1) + math.sqrt(1 + 0.64),
        0.1 + 0.1,
        math.sqrt(16 + 25) + math.sqrt(16 + 4.8 ** 2),
    ])
    assert torch.allclose(s, by_hand, atol=1e-6)
    assert int(select_candidate(s)) == 1


def test_propose_shapes_and_clipping():
    torch.manual_seed(0)
    rpn = ConditionalRPN(16, stride=16)
    feats = {"res4": torch.randn(2, 16, 6, 10)}
    prev = torch.tensor([[40.0, 30.0, 80.0, 90.0], [0.0, 0.0, 30.0, 20.0], [120.0, 50.0, 160.0, 96.0]])
    out = rpn.propose(feats, prev, IMG, batch_index=torch.tensor([0, 1, 1]))
    assert len(out) == 3
    for boxes, obj in out:
        assert boxes.shape == (81, 4) and obj.shape == (81,)
        assert (obj >= 0).all() and (obj <= 1).all()
        assert (boxes[:, 0] >= 0).all() and (boxes[:, 2] <= IMG[1]).all()
        assert (boxes[:, 1] >= 0).all() and (boxes[:, 3] <= IMG[0]).all()


def test_propose_full_top_n():
    torch.manual_seed(0)
    rpn = ConditionalRPN(16, stride=16, rpn_sizes=(16, 32, 64))
    feats = {"res4": torch.randn(1, 16, 20, 20)}
    boxes, scores = rpn.propose_full(feats, (320, 320), top_n=100)
    assert boxes.shape == (100, 4) and scores.shape == (100,)
    assert (scores[:-1] >= scores[1:]).all()
    small = rpn.propose_full({"res4": torch.randn(1, 16, 2, 2)}, (32, 32), top_n=100)[0]
    assert small.shape[0] <= 36


def _overfit(mode, steps=40):
    torch.manual_seed(0)
    rpn = ConditionalRPN(8, mid_channels=8, hidden=32, stride=16, rpn_sizes=(16, 32, 64))
    res4 = torch.randn(1, 8, 6, 10)
    res4[:, :, 2:5, 3:6] += 2.0                       # the "object"
    gt = torch.tensor([[48.0, 32.0, 96.0, 80.0]])
    prev = torch.tensor([[44.0, 36.0, 90.0, 84.0]])
    opt = torch.optim.Adam(rpn.parameters(), lr=1e-2)
    losses = []
    for _ in range(steps):
        torch.manual_seed(1)                          # same sampled anchors every step
        d = rpn.loss({"res4": res4}, prev, gt, IMG, mode=mode)
        loss = d["loss_objectness"] + d["loss_box_reg"]
        assert torch.isfinite(loss)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses, rpn, res4, gt, prev


@pytest.mark.parametrize("mode", ["conditional", "full"])
def test_rpn_loss_finite_and_overfits(mode):
    losses, rpn, res4, gt, prev = _overfit(mode)
    assert losses[-1] < 0.5 * losses[0]
    if mode == "conditional":
        from torchvision.ops import box_iou
        with torch.no_grad():
            (boxes, obj), = rpn.propose({"res4": res4}, prev, IMG)
        assert float(box_iou(boxes[obj.argmax()][None], gt)) > 0.7


def test_loss_labels_and_empty_gt():
    rpn = ConditionalRPN(8, stride=16)
    feats = {"res4": torch.randn(1, 8, 6, 10)}
    prev = torch.tensor([[44.0, 36.0, 90.0, 84.0]])
    # absent object (empty GT box): every anchor is background, losses finite
    d = rpn.loss(feats, prev, torch.zeros(1, 4), IMG)
    assert torch.isfinite(d["loss_objectness"]) and float(d["loss_box_reg"].detach()) == 0.0
    # a GT far from all 81 anchors gives no positive (no IoU-0 "low quality" matches)
    anchors = rpn.anchors_for(prev)[0]
    labels, _ = rpn._labels(anchors, torch.tensor([[0.0, 0.0, 4.0, 4.0]]), 0.5, 0.3)
    assert (labels == 0).all()
    labels, _ = rpn._labels(anchors, torch.tensor([[44.0, 36.0, 90.0, 84.0]]), 0.5, 0.3)
    assert (labels == 1).any() and (labels == 0).any()


def test_reidentify_picks_the_matching_candidate():
    """With zero box deltas the candidates are the anchors; the centre-cell anchor of the
    previous shape *is* the target box, so Eq. 2 (argmin) must pick it."""
    torch.manual_seed(0)
    rpn = ConditionalRPN(8, stride=16)
    torch.nn.init.zeros_(rpn.bbox_pred.weight)
    res4 = torch.randn(2, 8, 6, 10)
    feats = {"res4": res4}
    # boxes centred on cell centres (56, 40) and (104, 56) -> anchor 40 == the box
    prev = torch.tensor([[36.0, 20.0, 76.0, 60.0], [84.0, 30.0, 124.0, 82.0]])
    bidx = torch.tensor([0, 1])
    target = roi_feature(feats["res4"], prev, rpn.stride, rpn.roi_match, bidx)
    with torch.no_grad():
        boxes, info = rpn.reidentify(feats, prev, target, target, IMG, batch_index=bidx)
    assert boxes.shape == (2, 4)
    for k in range(2):
        assert info["candidates"][k].shape == (81, 4) and info["scores"][k].shape == (81,)
        assert int(info["index"][k]) == 40
        assert torch.allclose(boxes[k], prev[k], atol=1e-4)
        assert float(info["distances"][k][40]) < 1e-4
    # a different first-frame target moves the choice: Eq. 2 uses both T_1 and T_{i-1}
    with torch.no_grad():
        _, info2 = rpn.reidentify(feats, prev, target + 10.0, target, IMG, batch_index=bidx)
    assert torch.allclose(info2["scores"][0], matching_score(
        roi_feature(feats["res4"], info2["candidates"][0], rpn.stride, rpn.roi_match), target[0] + 10.0, target[0]), atol=1e-4)
    # objectness tie-breaker only changes the minimised score
    with torch.no_grad():
        _, tinfo = rpn.reidentify(feats, prev, target, target, IMG, objectness_weight=1.0,
                                  batch_index=bidx)
    assert torch.allclose(tinfo["scores"][0], tinfo["distances"][0] - tinfo["objectness"][0])
    # full mode ("BR with ori RPN"): top-n candidates of the whole frame
    with torch.no_grad():
        fboxes, finfo = rpn.reidentify(feats, prev, target, target, IMG, mode="full", top_n=20,
                                       batch_index=bidx)
    assert fboxes.shape == (2, 4) and finfo["candidates"][0].shape[0] == 20
    j = int(finfo["index"][1])
    assert torch.equal(fboxes[1], finfo["candidates"][1][j])


def test_jitter_boxes_stays_close():
    from vos_lib.core.boxes import jitter_boxes
    g = torch.Generator().manual_seed(0)
    gt = torch.tensor([[48.0, 32.0, 96.0, 80.0]]).repeat(50, 1)
    j = jitter_boxes(gt, 0.1, gen=g)
    assert ((j - gt).abs() <= 0.1 * 48 + 1e-4).all()
    assert j.shape == gt.shape
    assert (j[:, 2] > j[:, 0]).all() and (j[:, 3] > j[:, 1]).all()
    from torchvision.ops import box_iou
    assert box_iou(j, gt[:1]).mean() > 0.5


def test_from_config():
    from vos_lib.dtn.config import DTNConfig
    cfg = DTNConfig()
    rpn = ConditionalRPN.from_config(cfg, in_channels=16)
    assert rpn.grid == cfg.crpn_grid and rpn.top_n == cfg.rpn_top_n and rpn.roi_match == cfg.roi_match
    assert rpn.anchors_for(torch.tensor([[0.0, 0.0, 32.0, 32.0]])).shape == (1, 81, 4)
    rpn2 = ConditionalRPN(16, cfg=DTNConfig(rpn_top_n=7, crpn_grid=5))
    assert rpn2.top_n == 7 and rpn2.anchors_for(torch.tensor([[0.0, 0.0, 32.0, 32.0]])).shape == (1, 225, 4)

