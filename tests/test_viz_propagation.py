"""Tests of vos_lib.viz.dipnet.propagation (chapter 8's helpers)."""
import matplotlib
matplotlib.use("Agg")
import numpy as np
import pytest
import torch

from vos_lib import viz
from vos_lib.data import DAVIS
from vos_lib.data.synthetic import ensure_dataset
from vos_lib.dipnet import DIPNet, DIPNetConfig


@pytest.fixture(scope="module")
def video():
    root = ensure_dataset(progress=False)
    seq = DAVIS(root, split="val").load_sequence("val-000", load_flows=False)
    return root, seq.frames, seq.mask_array()


def test_distractor_masks_match_the_stored_objects(video):
    root, frames, masks = video
    d = viz.synthetic_distractor_masks(root, "val-000", masks)   # checks vs the masks
    assert d.shape == masks.shape and d.dtype == bool
    assert d.any() and not (d & (masks > 0)).any()   # distractor pixels show no object
    bad = masks.copy()
    bad[3, 0, 0] = 7
    with pytest.raises(ValueError):
        viz.synthetic_distractor_masks(root, "val-000", bad)


def test_propagation_records_shapes_and_ranges(video):
    root, frames, masks = video
    torch.manual_seed(0)
    model = DIPNet(DIPNetConfig()).eval()           # random weights are enough here
    T = 7
    rec = viz.propagation_records(model, frames[:T], masks[:T], step=2,
                                  distractors=np.zeros(masks[:T].shape, bool))
    n = len(rec["t"])
    assert n > 0 and set(rec["t"]) <= {1, 3, 5}
    hc, wc = model.coarse_size
    for src in ("IPN", "previous mask", "GT, morphed", "GT"):
        assert rec["coarse"][src].shape == (n, hc, wc)
        assert rec["ssn"][src].shape == (n, *masks.shape[1:])
        for kind in ("coarse_iou", "up_iou", "ssn_iou"):
            v = rec[kind][src]
            assert v.shape == (n,) and ((v >= 0) & (v <= 1)).all()
    assert (rec["coarse_iou"]["GT"] == 1).all()
    H, W = masks.shape[1:]
    assert all(sum(rec["area"][c][j] for c in viz.PIXEL_CLASSES) == H * W
               for j in range(n))
    assert all((rec["fires"][c] <= rec["area"][c]).all() for c in viz.PIXEL_CLASSES)
    assert (rec["fires"]["distractors"] == 0).all()        # none given


def test_figures(video):
    root, frames, masks = video
    fig = viz.morph_gallery((masks[0] == 1).astype(float), (32, 32), 5, n=4, seed=0)
    assert len(fig.axes) == 6
    maps = viz.ssn_stage_maps(DIPNet(DIPNetConfig()).eval(), frames[0],
                              np.zeros((32, 32)))
    assert maps[-1].shape == masks.shape[1:] and len(maps) == 4
