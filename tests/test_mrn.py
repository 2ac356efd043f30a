"""Tests of the Mask Refinement Network (DTN Sec. 3.3, Eq. 3 and Eq. 4)."""
import pytest
import torch

from vos_lib.dtn.mrn import (MRM, MaskRefinementNetwork, crop_masks, level_sizes, merge_masks,
                         mrn_loss, mrn_targets, paste_masks, roi_crops)

H, W = 96, 160
CH = {"res2": 8, "res3": 12, "res4": 16, "res5": 20}


def _features(b=1, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {lvl: torch.randn(b, c, H // s, W // s, generator=g)
            for (lvl, c), s in zip(CH.items(), (4, 8, 16, 32))}


BOXES = torch.tensor([[20.0, 10.0, 80.0, 70.0], [90.0, 30.0, 150.0, 90.0]])


def test_roi_crop_sizes():
    assert level_sizes(32) == {"res2": 32, "res3": 16, "res4": 8, "res5": 4}
    assert level_sizes(112) == {"res2": 112, "res3": 56, "res4": 28, "res5": 14}
    crops = roi_crops(_features(2), BOXES, M=32, batch_index=torch.tensor([0, 1]))
    for (lvl, c), m in zip(CH.items(), (32, 16, 8, 4)):
        assert crops[lvl].shape == (2, c, m, m)
    with pytest.raises(ValueError):
        level_sizes(30)


def test_crop_masks_box_inside_mask():
    masks = torch.zeros(2, 1, H, W)
    masks[0, :, 10:70, 20:80] = 1.0                 # exactly box 0
    y = crop_masks(masks, BOXES, 8)
    assert y.shape == (2, 1, 8, 8)
    # bilinear samples right at the box edge blend in a little of the outside pixels
    assert (y[0] > 0.99).all() and torch.equal(y[1], torch.zeros(1, 8, 8))
    assert torch.equal(mrn_targets(masks[:, 0], BOXES, 8), torch.stack([torch.ones(1, 8, 8), torch.zeros(1, 8, 8)]))


def test_mrm_eq4_zero_mask_is_identity_on_fu():
    torch.manual_seed(0)
    mrm = MRM(8, 16, guidance=True)
    f = torch.randn(2, 8, 8, 8)
    f_next = torch.randn(2, 16, 4, 4)
    f_m, f_u = mrm(f, f_next, torch.zeros(2, 1, 8, 8), return_u=True)
    assert torch.equal(f_m, f_u)                    # Conv^2(f^U) (.) 0 + f^U == f^U exactly
    f_m1 = mrm(f, f_next, torch.ones(2, 1, 8, 8))
    assert not torch.allclose(f_m1, f_u)            # the mask modulates the output
    # Eq. 3: f^U only depends on f_j and f_{j+1}^M, not on the mask
    _, f_u1 = mrm(f, f_next, torch.rand(2, 1, 8, 8), return_u=True)
    assert torch.equal(f_u, f_u1)
    # deepest module: f_{6}^M = zeros
    assert torch.allclose(mrm(f, None, torch.ones(2, 1, 8, 8)),
                          mrm(f, torch.zeros(2, 16, 4, 4), torch.ones(2, 1, 8, 8)), atol=1e-6)


def test_mrm_without_guidance_is_y_equal_one():
    torch.manual_seed(0)
    on = MRM(8, 16, guidance=True)
    off = MRM(8, 16, guidance=False)
    off.load_state_dict(on.state_dict())            # same parameters in both variants
    f = torch.randn(1, 8, 8, 8)
    assert torch.allclose(off(f, None, None), on(f, None, torch.ones(1, 1, 8, 8)))
    assert torch.equal(off(f, None, torch.zeros(1, 1, 8, 8)), off(f, None, torch.rand(1, 1, 8, 8)))


def test_mrn_forward_shape_and_guidance():
    torch.manual_seed(0)
    feats = _features(2)
    bidx = torch.tensor([0, 1])
    net = MaskRefinementNetwork(CH, channels=16, M=32, guidance=True)
    zeros = torch.zeros(2, 1, H, W)
    mask = torch.zeros(2, 1, H, W)
    mask[0, :, 20:60, 30:70] = 1.0
    mask[1, :, 40:80, 100:140] = 1.0
    out0 = net(feats, BOXES, zeros, bidx)
    out1 = net(feats, BOXES, mask, bidx)
    assert out0.shape == (2, 1, 32, 32)
    assert not torch.allclose(out0, out1)
    with pytest.raises(ValueError):
        net(feats, BOXES, None, bidx)
    # guidance off: the masks are ignored entirely
    off = MaskRefinementNetwork(CH, channels=16, M=32, guidance=False)
    a = off(feats, BOXES, mask, bidx)
    assert a.shape == (2, 1, 32, 32)
    assert torch.equal(a, off(feats, BOXES, zeros, bidx)) and torch.equal(a, off(feats, BOXES, None, bidx))
    # masks at another resolution than the boxes' frame
    half = torch.nn.functional.interpolate(mask, scale_factor=0.5)
    assert net(feats, BOXES, half, bidx, image_size=(H, W)).shape == (2, 1, 32, 32)


def test_paste_masks_ones_exactly_inside_box():
    probs = torch.ones(2, 1, 16, 16)
    boxes = torch.tensor([[10.0, 20.0, 30.0, 50.0], [0.0, 0.0, 5.0, 3.0]])
    out = paste_masks(probs, boxes, (60, 40))
    assert out.shape == (2, 60, 40)
    ref = torch.zeros(2, 60, 40)
    ref[0, 20:50, 10:30] = 1.0
    ref[1, 0:3, 0:5] = 1.0
    assert torch.equal(out > 0, ref > 0)                        # support == pixels inside the box
    assert torch.allclose(out, ref, atol=1e-6)
    # left half of the crop 1, right half 0 -> left half of the box
    half = torch.zeros(1, 1, 4, 4)
    half[..., :2] = 1.0
    out = paste_masks(half, torch.tensor([[8.0, 8.0, 16.0, 16.0]]), (24, 24))[0]
    assert torch.allclose(out[8:16, 8:11], torch.ones(8, 3), atol=1e-6)   # centres < 11.5
    assert torch.equal(out[8:16, 13:16], torch.zeros(8, 3))
    assert out.sum() == pytest.approx(8 * 4, abs=1e-4)         # symmetric blend at the seam


def test_paste_inverts_crop():
    mask = torch.zeros(1, H, W)
    mask[0, 20:60, 30:70] = 1.0
    box = torch.tensor([[24.0, 12.0, 88.0, 76.0]])
    t = mrn_targets(mask, box, 32)
    back = paste_masks(t, box, (H, W))[0] > 0.5
    assert torch.equal(back, mask[0].bool())


def test_merge_masks_by_hand():
    p = torch.tensor([[[0.9, 0.2, 0.6, 0.1]],
                      [[0.3, 0.4, 0.7, 0.5]]])          # (K=2, H=1, W=4)
    assert merge_masks(p).tolist() == [[1, 0, 2, 0]]     # 0.5 is not > 0.5
    assert merge_masks(p, threshold=0.35).tolist() == [[1, 2, 2, 2]]
    assert merge_masks(p).dtype == torch.int64
    assert merge_masks(torch.zeros(0, 3, 5)).shape == (3, 5)


def test_mrn_targets_and_loss():
    gt = torch.zeros(2, H, W)
    gt[0, 10:40, 20:50] = 1
    t = mrn_targets(gt, BOXES, 32)
    assert t.shape == (2, 1, 32, 32) and set(t.unique().tolist()) <= {0.0, 1.0}
    assert t[0].sum() > 0 and t[1].sum() == 0
    logits = torch.zeros(2, 1, 32, 32)
    assert float(mrn_loss(logits, t)) == pytest.approx(0.6931, abs=1e-3)
    logits[1] = 100.0                                    # very wrong on object 1 ...
    assert float(mrn_loss(logits, t, ignore=torch.tensor([False, True]))) == pytest.approx(0.6931, abs=1e-3)
    assert float(mrn_loss(logits, t.squeeze(1))) > 10.0  # ... which counts when not ignored


def test_mrn_overfits_one_example():
    torch.manual_seed(0)
    feats = _features(1, seed=1)
    gt = torch.zeros(1, H, W)
    gt[0, 20:60, 40:70] = 1.0
    box = torch.tensor([[30.0, 12.0, 80.0, 68.0]])
    warped = torch.roll(gt, shifts=(3, 2), dims=(1, 2))[:, None]
    target = mrn_targets(gt, box, 16)
    net = MaskRefinementNetwork(CH, channels=8, M=16, guidance=True)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(40):
        loss = mrn_loss(net(feats, box, warped), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.3 * losses[0]


def test_from_config():
    from vos_lib.dtn.config import DTNConfig
    cfg = DTNConfig()
    net = MaskRefinementNetwork.from_config(cfg, CH)
    assert net.M == cfg.mrn_M and net.channels == cfg.mrn_channels and net.guidance == cfg.mask_guidance
