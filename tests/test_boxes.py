"""Box helpers (vos_lib.core.boxes): mask_to_box, enlarge, the (center, scale, ratio) parametrisation."""
import math

import torch

from vos_lib.core.boxes import box_to_csr, csr_to_box, enlarge_box, mask_to_box


def test_mask_to_box_hand_made_and_empty():
    m = torch.zeros(3, 10, 12)
    m[0, 2:5, 3:9] = 1            # rows 2..4, cols 3..8
    m[1, 7, 0] = 0.9              # single soft pixel above threshold
    m[2, 1:3, 1:3] = 0.4          # soft but below 0.5 -> empty
    boxes, valid = mask_to_box(m)
    assert boxes.dtype == torch.float32 and boxes.shape == (3, 4)
    assert valid.tolist() == [True, True, False]
    assert boxes[0].tolist() == [3, 2, 8, 4]
    assert boxes[1].tolist() == [0, 7, 0, 7]
    assert boxes[2].tolist() == [0, 0, 0, 0]


def test_mask_to_box_bool_input():
    m = torch.zeros(1, 5, 5, dtype=torch.bool)
    m[0, 1:4, 2] = True
    boxes, valid = mask_to_box(m)
    assert boxes[0].tolist() == [2, 1, 2, 3] and valid.item()


def test_enlarge():
    b = torch.tensor([[10.0, 20.0, 30.0, 60.0]])           # w=20, h=40, centre (20, 40)
    e = enlarge_box(b, 0.5)
    assert torch.allclose(e, torch.tensor([[5.0, 10.0, 35.0, 70.0]]))
    assert torch.allclose(enlarge_box(torch.zeros(1, 4), 0.2, min_size=2.0), torch.tensor([[-1.0, -1, 1, 1]]))


def test_csr_roundtrip():
    b = torch.tensor([[0.0, 0.0, 4.0, 16.0], [10.0, 5.0, 40.0, 15.0]])
    center, scale, ratio = box_to_csr(b)
    assert torch.allclose(center, torch.tensor([[2.0, 8.0], [25.0, 10.0]]))
    assert torch.allclose(scale, torch.tensor([8.0, math.sqrt(300.0)]))
    assert torch.allclose(ratio, torch.tensor([4.0, 1 / 3]))
    assert torch.allclose(csr_to_box(center, scale, ratio), b, atol=1e-5)
    # CRPN-style broadcasting: 3 scales x 1 object
    many = csr_to_box(center[:1, None], scale[:1, None] * torch.tensor([0.5, 1.0, 1.5]), ratio[:1, None])
    assert many.shape == (1, 3, 4)


def test_roi_box_covers_whole_pixels_and_pastes_back_exactly():
    from vos_lib.core.boxes import roi_box
    from vos_lib.dtn.mrn import paste_masks
    m = torch.zeros(1, 20, 30)
    m[0, 5:11, 8:20] = 1                       # rows 5..10, cols 8..19
    box, _ = mask_to_box(m)
    roi = roi_box(box, 0.0, (20, 30), min_size=0)
    assert torch.allclose(roi, torch.tensor([[8.0, 5.0, 20.0, 11.0]]))
    # a crop of ones pasted with the tight RoI is exactly the object's pixels
    back = paste_masks(torch.ones(1, 1, 8, 8), roi, (20, 30))
    assert torch.equal(back > 0.5, m.bool())
    # context grows the extent and the frame clips it to [0, W] x [0, H]
    big = roi_box(box, 1.0, (20, 30))
    assert torch.allclose(big, torch.tensor([[2.0, 2.0, 26.0, 14.0]]))
    edge = roi_box(torch.tensor([[0.0, 0.0, 29.0, 19.0]]), 0.5, (20, 30))
    assert torch.allclose(edge, torch.tensor([[0.0, 0.0, 30.0, 20.0]]))


def test_foreground_box_grows_the_tight_box_and_crop_resize_inverts_paste():
    from vos_lib.core.boxes import crop_resize, foreground_box, paste_masks
    fg = torch.zeros(2, 40, 60, dtype=torch.bool)
    fg[0, 10:20, 20:40] = True                       # 20 wide, 10 high
    box = foreground_box(fg, margin=0.25, min_frac=0.0)
    assert torch.allclose(box[0], torch.tensor([15.0, 7.5, 45.0, 22.5]))
    assert torch.equal(box[1], torch.tensor([0.0, 0.0, 60.0, 40.0]))   # empty: whole frame
    fb = torch.tensor([1.0, 2.0, 3.0, 4.0])
    assert torch.equal(foreground_box(fg[1:], 0.25, fallback=fb)[0], fb)
    crop = crop_resize(fg[:1, None].float(), box[:1], (30, 30))
    assert crop.shape == (1, 1, 30, 30) and crop[0, 0, 15, 15] > 0.99 and crop[0, 0, 0, 0] < 0.01
    back = paste_masks(crop, box[:1], (40, 60))[0] > 0.5
    assert (back == fg[0]).float().mean() > 0.99
