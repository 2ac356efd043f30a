"""Hand-computed checks of the DAVIS J / F measures and statistics (vos_lib.eval.metrics)."""
import numpy as np
import pytest

from vos_lib.io import VOID, DataFormatError
from vos_lib.eval.metrics import (boundary_radius, db_eval_boundary, db_eval_iou, db_statistics,
                             decay_bins, disk, evaluate_sequence, seg2bmap)


def square(h, w, y0, y1, x0, x1):
    m = np.zeros((h, w), dtype=bool)
    m[y0:y1, x0:x1] = True
    return m


# ----------------------------------------------------------------------------- J
def test_iou_tiny():
    gt = np.array([[1, 1, 0], [0, 0, 0]])
    pred = np.array([[0, 1, 1], [0, 0, 0]])
    assert db_eval_iou(gt, pred) == pytest.approx(1 / 3)          # 1 common of 3
    assert db_eval_iou(gt, gt) == 1.0
    stack = db_eval_iou(np.stack([gt, gt]), np.stack([pred, np.zeros_like(pred)]))
    assert stack.shape == (2,)
    np.testing.assert_allclose(stack, [1 / 3, 0.0])


def test_iou_both_empty_is_one():
    z = np.zeros((4, 5), dtype=np.uint8)
    assert db_eval_iou(z, z) == 1.0
    np.testing.assert_array_equal(db_eval_iou(np.stack([z, z]), np.stack([z, z])), [1, 1])


def test_iou_void_excluded():
    gt = np.array([[1, 1, 0, 0]])
    pred = np.array([[1, 0, 1, 0]])
    void = np.array([[0, 0, 1, 0]])
    assert db_eval_iou(gt, pred) == pytest.approx(1 / 3)
    # the false positive lies on void: left out of the union -> 1 / 2
    assert db_eval_iou(gt, pred, void) == pytest.approx(1 / 2)
    # everything void -> both empty -> 1
    assert db_eval_iou(gt, pred, np.ones_like(gt)) == 1.0


# ----------------------------------------------------------------------------- seg2bmap
def test_seg2bmap_small_square():
    m = square(6, 6, 2, 4, 2, 4)              # 2x2 square at rows/cols 2..3
    b = seg2bmap(m)
    # boundary pixels sit half a pixel towards the origin: the 3x3 ring at rows/cols 1..3
    expected = square(6, 6, 1, 4, 1, 4) & ~square(6, 6, 2, 3, 2, 3)
    np.testing.assert_array_equal(b, expected)
    assert b.dtype == bool and b.sum() == 8


def test_seg2bmap_image_border_rules():
    # the image border is no boundary: a full mask has none
    assert not seg2bmap(np.ones((3, 3), bool)).any()
    # last row: only east neighbours compared; last column: only south ones
    m = np.zeros((3, 3), bool)
    m[2, :] = True                            # the bottom row is the object
    np.testing.assert_array_equal(seg2bmap(m), [[0, 0, 0], [1, 1, 1], [0, 0, 0]])
    m = np.zeros((3, 3), bool)
    m[2, 1] = True                            # one pixel on the last row
    np.testing.assert_array_equal(seg2bmap(m), [[0, 0, 0], [1, 1, 0], [1, 1, 0]])


def test_seg2bmap_stack_equals_frames():
    rng = np.random.default_rng(0)
    stack = rng.random((4, 7, 9)) < 0.4
    np.testing.assert_array_equal(seg2bmap(stack), np.stack([seg2bmap(s) for s in stack]))


# ----------------------------------------------------------------------------- F
def test_boundary_radius_and_disk():
    assert boundary_radius((480, 854)) == 8           # ceil(0.008 * 979.6)
    assert boundary_radius((100, 100)) == 2           # ceil(0.008 * 141.4)
    assert boundary_radius((480, 854), 3) == 3        # >= 1: pixels
    d = disk(2)
    assert d.shape == (5, 5) and d.sum() == 13        # x^2 + y^2 <= 4
    assert d[0, 2] == 1 and d[0, 1] == 0 and d[1, 1] == 1


def test_f_identical_is_one_and_empty_cases():
    g = square(40, 40, 10, 20, 10, 20)
    z = np.zeros_like(g)
    assert db_eval_boundary(g, g) == 1.0
    assert db_eval_boundary(z, z) == 1.0               # both boundaries empty: P = R = 1
    assert db_eval_boundary(g, z) == 0.0               # empty prediction: P = 1, R = 0
    assert db_eval_boundary(z, g) == 0.0               # empty ground truth: P = 0, R = 1
    # a full-frame prediction has no boundary (the image border is none): P = 1, R = 0
    assert db_eval_boundary(g, np.ones_like(g)) == 0.0


def test_f_tolerance_radius():
    # 20x20 squares; boundary rings of 80 pixels at rows/cols 39 and 59 (and the shifted)
    g = square(100, 100, 40, 60, 40, 60)
    for d in (1, 2, 3):                                # within the radius: all matched
        assert db_eval_boundary(g, np.roll(g, d, axis=1), bound_th=3) == 1.0
    p = np.roll(g, 4, axis=1)
    # shift 4 > radius 3: the 21 pixels of the left column and 13 of the right column
    # (rows 43..55) find no partner within 3 pixels -> P = R = 46/80
    assert db_eval_boundary(g, p, bound_th=3) == pytest.approx(46 / 80)
    assert db_eval_boundary(g, p, bound_th=4) == 1.0
    # default tolerance at 100x100 is 2 pixels
    assert db_eval_boundary(g, np.roll(g, 2, axis=1)) == 1.0
    assert db_eval_boundary(g, np.roll(g, 3, axis=1)) < 1.0


def test_f_void_cleared_before_boundaries():
    g = square(50, 50, 10, 30, 10, 30)
    p = g.copy()
    p[10:30, 30:40] = True                             # wrong extension to the right
    void = np.zeros_like(g)
    void[:, 30:] = True                                # ... entirely on void
    assert db_eval_boundary(g, p) < 1.0
    assert db_eval_boundary(g, p, void) == 1.0
    assert db_eval_iou(g, p, void) == 1.0


def test_f_stack_matches_frames():
    rng = np.random.default_rng(1)
    g = rng.random((3, 30, 40)) < 0.3
    p = rng.random((3, 30, 40)) < 0.3
    f = db_eval_boundary(g, p)
    assert f.shape == (3,)
    np.testing.assert_array_equal(f, [db_eval_boundary(g[i], p[i]) for i in range(3)])
    # any memory layout and integer dtype
    ft = db_eval_boundary(g.transpose(0, 2, 1), p.transpose(0, 2, 1).astype(np.int64))
    assert ft.shape == (3,) and np.all((0 <= ft) & (ft <= 1))


# ----------------------------------------------------------------------------- statistics
def test_decay_bins_n10():
    # edges round(linspace(1, 10, 5)) - 1 = 0, 2, 5, 7, 9; bins include their upper edge
    assert decay_bins(10) == [(0, 3), (2, 6), (5, 8), (7, 10)]
    mean, recall, decay = db_statistics(np.arange(10) / 10)
    assert mean == pytest.approx(0.45)
    assert recall == pytest.approx(0.4)                # 0.6 .. 0.9; 0.5 is not > 0.5
    assert decay == pytest.approx(0.1 - 0.8)           # mean(0, .1, .2) - mean(.7, .8, .9)


def test_decay_bins_n300_no_overflow():
    # linspace(1, 300, 5) = 1, 75.75, 150.5, 225.25, 300 -> edges 0, 75, 150, 224, 299
    # (the toolkit's uint8 edges wrap at 256 and give an empty last bin -> NaN)
    assert decay_bins(300) == [(0, 76), (75, 151), (150, 225), (224, 300)]
    v = np.zeros(300)
    v[:76] = 1.0
    v[224:] = 0.25
    mean, recall, decay = db_statistics(v)
    assert np.isfinite(decay)
    assert decay == pytest.approx(1.0 - 0.25)
    assert recall == pytest.approx(76 / 300)


def test_decay_small_n():
    assert decay_bins(1) == [(0, 1)] * 4
    assert db_statistics([0.7]) == (0.7, 1.0, 0.0)
    # N = 3: edges 0, 1, 1, 2, 2 (halves round up)
    assert decay_bins(3) == [(0, 2), (1, 2), (1, 3), (2, 3)]
    assert db_statistics([1.0, 0.0, 1.0])[2] == pytest.approx(0.5 - 1.0)


def test_recall_threshold_is_strict():
    assert db_statistics([0.5, 0.50001, 0.2, 1.0])[1] == 0.5
    assert db_statistics([0.5, 0.5])[1] == 0.0


# ----------------------------------------------------------------------------- protocol
def _seq(masks):
    return np.stack([np.asarray(m, dtype=np.uint8) for m in masks])


def test_first_and_last_frames_not_scored():
    obj = square(20, 30, 5, 15, 5, 15).astype(np.uint8)
    gt = _seq([obj, obj, obj, obj])
    junk = np.ones_like(obj) * 1
    pred = _seq([junk, obj, obj, np.zeros_like(obj)])
    r = evaluate_sequence(gt, pred, name="s")
    assert r["objects"] == ["s_1"]
    assert r["J"].shape == (1, 2) and r["F"].shape == (1, 2)
    np.testing.assert_array_equal(r["J"], [[1, 1]])
    np.testing.assert_array_equal(r["F"], [[1, 1]])
    assert r["J-Mean"][0] == 1.0 and r["J-Recall"][0] == 1.0 and r["J-Decay"][0] == 0.0


def test_objects_from_first_frame_and_zero_padding():
    a = square(20, 30, 2, 8, 2, 8)
    b = square(20, 30, 10, 18, 15, 25)
    first = a * 1 + b * 2
    first[0, :] = VOID                                   # void does not count as an object
    later = a * 1 + b * 2 + square(20, 30, 0, 2, 26, 30) * 3   # id 3 appears later: ignored
    gt = _seq([first, later, later, later, first])
    pred = _seq([first, a * 1, a * 1, a * 1, a * 1])   # object 2 never predicted
    r = evaluate_sequence(gt, pred, name="seq")
    assert r["objects"] == ["seq_1", "seq_2"]
    np.testing.assert_array_equal(r["J"], [[1, 1, 1], [0, 0, 0]])
    np.testing.assert_array_equal(r["F"], [[1, 1, 1], [0, 0, 0]])
    assert evaluate_sequence(gt, pred, n_objects=1)["J"].shape == (1, 3)


def test_absent_object_scores_one_when_both_empty():
    a = square(20, 30, 2, 8, 2, 8)
    gt = _seq([a * 1, a * 0, a * 1, a * 1, a * 1])
    pred = _seq([a * 1, a * 0, a * 1, a * 0, a * 1])
    r = evaluate_sequence(gt, pred)
    np.testing.assert_array_equal(r["J"], [[1, 1, 0]])   # frame 1: both empty -> 1
    np.testing.assert_array_equal(r["F"], [[1, 1, 0]])


def test_extra_object_id_is_an_error():
    a = square(20, 30, 2, 8, 2, 8).astype(np.uint8)
    gt = _seq([a, a, a, a])
    pred = _seq([a, a, a * 2, a])
    with pytest.raises(DataFormatError, match=r"bike.*00002\.png.*id 2.*only 1 object"):
        evaluate_sequence(gt, pred, name="bike",
                          frame_names=[f"{i:05d}.png" for i in range(4)])
    # ids in the unscored first and last frames are not looked at (as in the toolkit)
    evaluate_sequence(gt, _seq([a * 5, a, a, a * 5]))


def test_void_is_background_by_default_and_excludable():
    a = square(20, 30, 5, 15, 5, 15)
    gt_frame = a * 1
    gt_frame[5:15, 15:20] = VOID                         # void band right of the object
    p_frame = square(20, 30, 5, 15, 5, 20) * 1          # prediction covers the void too
    gt, pred = _seq([a * 1, gt_frame, gt_frame]), _seq([a * 1, p_frame, p_frame])
    r = evaluate_sequence(gt, pred)
    assert r["J"][0, 0] == pytest.approx(100 / 150)      # toolkit: void = background
    r = evaluate_sequence(gt, pred, exclude_void=True)
    assert r["J"][0, 0] == 1.0 and r["F"][0, 0] == 1.0


def test_too_short_sequence():
    z = np.zeros((2, 5, 5), np.uint8)
    with pytest.raises(DataFormatError, match="at least 3"):
        evaluate_sequence(z, z)
