"""Tests for vos_lib.data: reader, errors, augmentation (incl. flow consistency), datasets."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.ndimage import binary_erosion

from vos_lib import data as D
from vos_lib.data import (DAVIS, DataFormatError, PairedAugment, Sequence, StaticPairDataset,
                          VideoClipDataset, affine_flow, affine_matrix, backward_warp,
                          compose_affine, remap_ids, warp_flow)
from vos_lib.io import VOID, write_frame, write_mask

H, W = 24, 32


# ------------------------------------------------------------------------------------------
# tiny DAVIS builders
# ------------------------------------------------------------------------------------------

def _masks(T, n_obj, h=H, w=W):
    out = []
    for t in range(T):
        m = np.zeros((h, w), np.uint8)
        for k in range(1, n_obj + 1):
            y0, x0 = 2 + 6 * (k - 1), 2 + t + 8 * (k - 1)
            m[y0:y0 + 5, x0:x0 + 6] = k
        m[-1, :] = VOID
        out.append(m)
    return out


def add_seq(root, name, T=5, n_obj=2, *, annotated=None, flow=False, meta=None, h=H, w=W):
    root = Path(root)
    rng = np.random.default_rng(abs(hash(name)) % 1000)
    masks = _masks(T, n_obj, h, w)
    for t in range(T):
        write_frame(root / "JPEGImages/480p" / name / f"{t:05d}.jpg",
                    rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
        if annotated is None or t in annotated:
            write_mask(root / "Annotations/480p" / name / f"{t:05d}.png", masks[t])
        if flow and t >= 1:
            p = root / "Flow/480p" / name / f"{t:05d}.npz"
            p.parent.mkdir(parents=True, exist_ok=True)
            fl = np.zeros((h, w, 2), np.float16)
            fl[..., 0] = -1.0
            np.savez(p, flow=fl, valid=np.ones((h, w), bool))
    if meta is not None:
        (root / "Meta").mkdir(parents=True, exist_ok=True)
        (root / "Meta" / f"{name}.json").write_text(json.dumps(meta))


def write_split(root, year, split, names):
    p = Path(root) / "ImageSets" / str(year) / f"{split}.txt"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("".join(n + "\n" for n in names))


@pytest.fixture
def davis_root(tmp_path):
    root = tmp_path / "DAVIS"
    add_seq(root, "alpha", T=5, n_obj=2)
    add_seq(root, "beta", T=4, n_obj=3, flow=True, meta={"events": [1, 2]})
    add_seq(root, "gamma", T=4, n_obj=1, annotated={0})
    write_split(root, 2017, "train", ["alpha", "beta"])
    write_split(root, 2017, "val", ["gamma"])
    write_split(root, 2016, "train", ["alpha"])
    write_split(root, 2016, "val", ["gamma"])
    return root


# ------------------------------------------------------------------------------------------
# reader
# ------------------------------------------------------------------------------------------

def test_reader_basic(davis_root):
    d = DAVIS(davis_root, year="2017", split="train")
    assert d.sequences == ["alpha", "beta"] and len(d) == 2
    assert [p.name for p in d.frame_paths("alpha")] == [f"{t:05d}.jpg" for t in range(5)]
    assert all(p is not None for p in d.mask_paths("alpha"))
    s = d.load_sequence("alpha")
    assert isinstance(s, Sequence) and s.name == "alpha"
    assert s.frames.shape == (5, H, W, 3) and s.frames.dtype == np.uint8
    assert len(s.masks) == 5 and s.masks[0].shape == (H, W) and s.masks[0].dtype == np.uint8
    assert s.object_ids == (1, 2) and s.n_objects == 2
    assert s.mask_array().shape == (5, H, W)
    assert s.flows is None and s.meta is None and not s.has_flow
    np.testing.assert_array_equal(s.masks[2], _masks(5, 2)[2])


def test_reader_flow_meta_and_sparse_annotations(davis_root):
    d = DAVIS(davis_root, split="train")
    b = d.load_sequence("beta")
    assert b.object_ids == (1, 2, 3) and b.meta == {"events": [1, 2]}
    assert b.flows[0] is None and b.flow_valid[0] is None
    assert b.flows[1].shape == (H, W, 2) and b.flows[1].dtype == np.float32
    assert b.flow_valid[1].dtype == bool and b.flow_valid[1].all()
    assert d.read_flow("beta", 2)[0][0, 0, 0] == -1.0
    v = DAVIS(davis_root, split="val")
    g = v.load_sequence("gamma")
    assert g.masks[0] is not None and g.masks[1:] == [None] * 3
    assert v.mask_paths("gamma")[1:] == [None] * 3 and v.annotated_frames("gamma") == [0]
    with pytest.raises(ValueError, match="not annotated"):
        g.mask_array()


def test_splits_and_explicit_sequences(davis_root):
    assert DAVIS(davis_root, split="trainval").sequences == ["alpha", "beta", "gamma"]
    assert DAVIS(davis_root, split=None, sequences=["gamma"]).sequences == ["gamma"]
    assert DAVIS(davis_root, split="train").validate() is not None


def test_davis2016_merges_objects(davis_root):
    d = DAVIS(davis_root, year=2016, split="train")
    assert d.sequences == ["alpha"]
    s = d.load_sequence("alpha")
    assert s.object_ids == (1,)
    assert set(np.unique(s.masks[0])) == {0, 1, VOID}
    assert (s.masks[0] == 1).sum() == (_masks(5, 2)[0] == 1).sum() + (_masks(5, 2)[0] == 2).sum()


def test_davis2016_original_layout(tmp_path):
    """The DAVIS 2016 release: grayscale 0/255 masks, ImageSets/480p with path lines."""
    root = tmp_path / "DAVIS2016"
    add_seq(root, "bear", T=2, n_obj=1)
    for t in range(2):
        m = (_masks(2, 1)[t] == 1).astype(np.uint8) * 255
        Image.fromarray(m, mode="L").save(root / "Annotations/480p/bear" / f"{t:05d}.png")
    p = root / "ImageSets/480p/train.txt"
    p.parent.mkdir(parents=True)
    p.write_text("/JPEGImages/480p/bear/00000.jpg /Annotations/480p/bear/00000.png\n"
                 "/JPEGImages/480p/bear/00001.jpg /Annotations/480p/bear/00001.png\n")
    d = DAVIS(root, year="2016", split="train")
    assert d.sequences == ["bear"]
    s = d.load_sequence("bear")
    assert s.object_ids == (1,) and set(np.unique(s.masks[0])) == {0, 1}


# ------------------------------------------------------------------------------------------
# reader errors: each names the offending file
# ------------------------------------------------------------------------------------------

def test_error_missing_root(tmp_path):
    with pytest.raises(DataFormatError, match="nope.*does not exist"):
        DAVIS(tmp_path / "nope")


def test_error_missing_imagesets(davis_root):
    with pytest.raises(DataFormatError, match=r"ImageSets/2017/test-dev\.txt"):
        DAVIS(davis_root, split="test-dev")


def _corrupt(root, kind):
    base = Path(root)
    f = base / "JPEGImages/480p/alpha"
    a = base / "Annotations/480p/alpha"
    if kind == "no_frames":
        for p in f.iterdir():
            p.unlink()
        return r"JPEGImages/480p/alpha.*no frames"
    if kind == "frame_size":
        write_frame(f / "00003.jpg", np.zeros((H + 2, W, 3), np.uint8))
        return r"00003\.jpg.*frame size"
    if kind == "mask_size":
        write_mask(a / "00002.png", np.zeros((H, W + 4), np.uint8))
        return r"Annotations/480p/alpha/00002\.png.*does not match"
    if kind == "rgb_mask":
        Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(a / "00001.png")
        return r"00001\.png.*indexed"
    if kind == "no_first_mask":
        (a / "00000.png").unlink()
        return r"00000\.png.*first-frame mask.*missing"
    if kind == "empty_first_mask":
        m = np.zeros((H, W), np.uint8)
        m[0] = VOID
        write_mask(a / "00000.png", m)
        return r"00000\.png.*no objects"
    if kind == "gap":
        (f / "00002.jpg").unlink()
        return r"alpha.*without gaps.*00002"
    raise AssertionError(kind)


KINDS = ["no_frames", "frame_size", "mask_size", "rgb_mask", "no_first_mask",
         "empty_first_mask", "gap"]


@pytest.mark.parametrize("kind", KINDS)
def test_errors_load_sequence(davis_root, kind):
    pattern = _corrupt(davis_root, kind)
    d = DAVIS(davis_root, split="train")
    with pytest.raises(DataFormatError, match=pattern):
        d.load_sequence("alpha")


@pytest.mark.parametrize("kind", KINDS)
def test_errors_validate(davis_root, kind):
    pattern = _corrupt(davis_root, kind)
    with pytest.raises(DataFormatError, match=pattern):
        DAVIS(davis_root, split="train").validate()


def test_error_missing_sequence_folder(davis_root):
    write_split(davis_root, 2017, "train", ["alpha", "zeta"])
    with pytest.raises(DataFormatError, match="zeta"):
        DAVIS(davis_root, split="train")


def test_error_bad_flow(davis_root):
    p = davis_root / "Flow/480p/beta/00002.npz"
    np.savez(p, flow=np.zeros((H, W + 1, 2), np.float32), valid=np.ones((H, W + 1), bool))
    with pytest.raises(DataFormatError, match=r"00002\.npz.*flow size"):
        DAVIS(davis_root, split="train").load_sequence("beta")


# ------------------------------------------------------------------------------------------
# augmentation
# ------------------------------------------------------------------------------------------

def _pattern(xs, ys):
    """A smooth analytic RGB pattern (values in [0, 255])."""
    r = 128 + 60 * np.sin(xs / 5.0) * np.cos(ys / 7.0) + 40 * np.sin((xs + ys) / 11.0)
    g = 128 + 80 * np.cos(xs / 9.0 + 0.3) * np.sin(ys / 4.0 + 1.0)
    b = 128 + 70 * np.sin(np.hypot(xs - 30, ys - 20) / 6.0)
    return np.stack([r, g, b], -1)


def _flow_pair(h=64, w=80):
    """prev, cur (float32 images) and the exact backward flow of cur: a smooth,
    non-uniform motion (rotation + shear-ish + translation)."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    fx = 1.5 + 0.04 * (ys - h / 2) + 0.02 * (xs - w / 2)
    fy = -1.0 - 0.03 * (xs - w / 2)
    prev = _pattern(xs, ys).astype(np.float32)
    cur = _pattern(xs + fx, ys + fy).astype(np.float32)
    flow = np.stack([fx, fy], -1).astype(np.float32)
    return prev, cur, flow


def _warp_err(prev, cur, flow, valid, margin=2):
    rec = backward_warp(prev, flow)
    v = valid.copy()
    v[:margin] = v[-margin:] = v[:, :margin] = v[:, -margin:] = False
    assert v.sum() > 0.3 * v.size
    return float(np.abs(rec - cur)[v].mean())


def test_flow_vectors_flip_scale_rotate():
    f = np.zeros((10, 12, 2), np.float32)
    f[..., 0], f[..., 1] = 2.0, 1.0
    g, _ = warp_flow(f, None, affine_matrix((10, 12), (10, 12), flip=True), (10, 12))
    np.testing.assert_allclose(g[5, 6], [-2.0, 1.0], atol=1e-5)
    g, _ = warp_flow(f, None, affine_matrix((10, 12), (20, 24), scale=2.0), (20, 24))
    np.testing.assert_allclose(g[10, 12], [4.0, 2.0], atol=1e-5)
    g, _ = warp_flow(f, None, affine_matrix((10, 12), (10, 12), angle=90), (10, 12))
    # 90 deg counter-clockwise on screen (y down): (dx, dy) -> (dy, -dx)
    np.testing.assert_allclose(g[5, 5], [1.0, -2.0], atol=1e-4)
    g, _ = warp_flow(f, None, affine_matrix((10, 12), (10, 12), shift=(3, -2)), (10, 12))
    np.testing.assert_allclose(g[4, 4], [2.0, 1.0], atol=1e-5)


@pytest.mark.parametrize("case", ["flip", "scale", "rotate", "all"])
def test_flow_consistency_by_warping(case):
    prev, cur, flow = _flow_pair()
    in_hw, out_hw = prev.shape[:2], (48, 64)
    kw = {"flip": dict(flip=True, scale=0.8), "scale": dict(scale=1.4),
          "rotate": dict(angle=25.0, scale=0.8),
          "all": dict(flip=True, scale=1.2, angle=-15.0, shift=(4, -3))}[case]
    A = affine_matrix(in_hw, out_hw, **kw)
    aug = PairedAugment(out_hw, photometric=False)
    res = aug.apply(A, [prev, cur], [], [flow], [np.ones(in_hw, bool)])
    jp, jc = res.images
    g, v = res.flows[0], res.flow_valid[0]
    assert g.shape == (*out_hw, 2) and v.dtype == bool
    err = _warp_err(jp, jc, g, v)
    # control: the flow field warped like an image but its vectors left untransformed
    wrong_vec = D.warp_image(flow, A, out_hw)  # positions moved, vectors not transformed
    err_wrong = _warp_err(jp, jc, wrong_vec, v)
    assert err < 1.0, err
    assert err_wrong > 5 * err, (err, err_wrong)


def test_random_augment_flow_consistency_and_determinism():
    prev, cur, flow = _flow_pair()
    aug = PairedAugment((40, 56), photometric=False, max_rotation=20, scale_range=(0.8, 1.4))
    for seed in range(4):
        res = aug(np.random.default_rng(seed), [prev, cur], [], [flow])
        assert _warp_err(*res.images, res.flows[0], res.flow_valid[0]) < 1.5
    a = aug(np.random.default_rng(7), [prev], [], [flow])
    b = aug(np.random.default_rng(7), [prev], [], [flow])
    np.testing.assert_array_equal(a.images[0], b.images[0])
    np.testing.assert_array_equal(a.flows[0], b.flows[0])
    c = aug(np.random.default_rng(8), [prev], [], [flow])
    assert not np.array_equal(a.matrix, c.matrix)


def test_paired_image_mask_alignment_nearest():
    rng = np.random.default_rng(0)
    mask = np.zeros((60, 80), np.uint8)
    mask[10:30, 10:40] = 3
    mask[35:55, 45:75] = 7
    mask[0:4, :] = VOID
    colours = {0: (0, 0, 0), 3: (255, 0, 0), 7: (0, 0, 255), VOID: (0, 255, 0)}
    img = np.zeros((60, 80, 3), np.uint8)
    for k, c in colours.items():
        img[mask == k] = c
    aug = PairedAugment((30, 40), photometric=False, max_rotation=15)
    for _ in range(5):
        res = aug(rng, [img, img], [mask, mask])
        m = res.masks[0]
        assert set(np.unique(m)) <= {0, 3, 7, VOID}  # nearest: no new ids
        np.testing.assert_array_equal(res.masks[0], res.masks[1])
        np.testing.assert_array_equal(res.images[0], res.images[1])
        for k, c in colours.items():
            sel = binary_erosion(m == k)  # interior, away from bilinear blending
            if sel.sum() > 20:
                agree = (np.abs(res.images[0][sel].astype(int) - c).max(-1) < 60).mean()
                assert agree > 0.95, (k, agree)


def test_photometric_changes_images_only():
    rng_img = np.random.default_rng(0).integers(0, 255, (20, 30, 3), dtype=np.uint8)
    mask = np.zeros((20, 30), np.uint8)
    mask[5:15, 5:15] = 1
    plain = PairedAugment((20, 30), photometric=False)(np.random.default_rng(3), [rng_img], [mask])
    jit = PairedAugment((20, 30), photometric=True)(np.random.default_rng(3), [rng_img], [mask])
    np.testing.assert_array_equal(plain.masks[0], jit.masks[0])
    assert not np.array_equal(plain.images[0], jit.images[0])
    assert np.abs(plain.images[0].astype(int) - jit.images[0]).mean() < 25  # mild


def test_affine_flow_is_exact():
    h, w = 60, 80
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    src = _pattern(xs, ys).astype(np.float32)
    out = (48, 64)
    A_p = affine_matrix((h, w), out, scale=0.9, angle=5)
    A_c = compose_affine(affine_matrix(out, out, angle=6, scale=1.05, shift=(3, -2)), A_p)
    prev, cur = (D.warp_image(src, A, out) for A in (A_p, A_c))
    flow, valid = affine_flow(A_p, A_c, out, (h, w))
    assert _warp_err(prev, cur, flow, valid) < 2.0
    assert not valid.all()  # some pixels move out of frame / show padding


def test_remap_ids_and_helpers():
    m = np.array([[0, 3, 7, 9, VOID]], np.uint8)
    (r,) = remap_ids([m], [3, 7])
    np.testing.assert_array_equal(r, [[0, 1, 2, 0, VOID]])
    x = np.arange(24 * 30, dtype=np.float32).reshape(24, 30)
    p, hw = D.pad_to_multiple(x, 16)
    assert p.shape == (32, 32) and hw == (24, 30)
    np.testing.assert_array_equal(D.unpad(p, hw), x)
    t, hw = D.pad_to_multiple(torch.ones(2, 3, 24, 30), 8)
    assert t.shape == (2, 3, 24, 32) and D.unpad(t, hw).shape == (2, 3, 24, 30)
    mm = np.kron(np.array([[1, 2], [3, 4]], np.uint8), np.ones((3, 3), np.uint8))
    np.testing.assert_array_equal(D.resize(mm, (2, 2), kind="mask"), [[1, 2], [3, 4]])
    f = np.ones((10, 10, 2), np.float32)
    np.testing.assert_allclose(D.resize(f, (20, 5), kind="flow")[3, 3], [0.5, 2.0])
    assert D.resize(np.zeros((10, 10, 3), np.uint8), (5, 7)).shape == (5, 7, 3)


# ------------------------------------------------------------------------------------------
# datasets
# ------------------------------------------------------------------------------------------

KEYS = {"ref_img", "prev_img", "cur_img", "ref_mask", "prev_mask", "cur_mask", "flow",
        "flow_valid", "has_flow", "n_objects", "seq", "t"}


def _check_sample(s, size):
    assert set(s) == KEYS
    for k in ("ref_img", "prev_img", "cur_img"):
        assert s[k].shape == (3, *size) and s[k].dtype == torch.float32
        assert 0.0 <= float(s[k].min()) and float(s[k].max()) <= 1.0
    for k in ("ref_mask", "prev_mask", "cur_mask"):
        assert s[k].shape == size and s[k].dtype == torch.int64
        vals = set(torch.unique(s[k]).tolist())
        assert vals <= set(range(s["n_objects"] + 1)) | {VOID}
    assert s["flow"].shape == (2, *size) and s["flow"].dtype == torch.float32
    assert s["flow_valid"].shape == size and s["flow_valid"].dtype == torch.bool
    assert isinstance(s["has_flow"], bool) and isinstance(s["n_objects"], int)
    assert isinstance(s["seq"], str) and isinstance(s["t"], int)
    assert s["n_objects"] >= 1
    ref_ids = set(torch.unique(s["ref_mask"]).tolist()) - {0, VOID}
    assert ref_ids == set(range(1, s["n_objects"] + 1))


def _same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], torch.Tensor):
            assert torch.equal(a[k], b[k]), k
        else:
            assert a[k] == b[k], k


def test_video_clip_dataset_shapes_and_determinism(davis_root):
    d = DAVIS(davis_root, split="train")
    ds = VideoClipDataset(d, size=(16, 24), max_skip=2, seed=1, samples_per_epoch=12)
    assert len(ds) == 12
    samples = [ds[i] for i in range(12)]
    for s in samples:
        _check_sample(s, (16, 24))
        assert s["seq"] in ("alpha", "beta")
        if not s["has_flow"]:
            assert float(s["flow"].abs().sum()) == 0 and not bool(s["flow_valid"].any())
    ds2 = VideoClipDataset(d, size=(16, 24), max_skip=2, seed=1, samples_per_epoch=12)
    _same(samples[5], ds2[5])
    _same(samples[5], VideoClipDataset(d, size=(16, 24), max_skip=2, seed=1,
                                       samples_per_epoch=12, preload=True)[5])
    assert not torch.equal(samples[5]["cur_img"],
                           VideoClipDataset(d, size=(16, 24), max_skip=2, seed=2,
                                            samples_per_epoch=12)[5]["cur_img"])
    ds2.set_epoch(1)
    assert not torch.equal(samples[5]["cur_img"], ds2[5]["cur_img"])
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=4, collate_fn=torch.utils.data.default_collate)))
    assert batch["cur_img"].shape == (4, 3, 16, 24) and batch["has_flow"].dtype == torch.bool
    assert batch["n_objects"].shape == (4,) and len(batch["seq"]) == 4


def test_dataloader_workers_give_identical_samples(davis_root):
    d = DAVIS(davis_root, split="train")
    ds = VideoClipDataset(d, size=(16, 24), max_skip=2, seed=4, samples_per_epoch=6)
    dl = torch.utils.data.DataLoader(ds, batch_size=3, num_workers=2, collate_fn=torch.utils.data.default_collate)
    batches = list(dl)
    ref = torch.utils.data.default_collate([ds[i] for i in range(6)])
    assert torch.equal(torch.cat([b["cur_img"] for b in batches]), ref["cur_img"])
    assert torch.equal(torch.cat([b["ref_mask"] for b in batches]), ref["ref_mask"])


def test_video_clip_dataset_flow_from_disk(davis_root):
    d = DAVIS(davis_root, split="train", sequences=["beta"])
    ds = VideoClipDataset(d, size=(H, W), max_skip=1, augment=False)
    s = ds[0]
    assert s["has_flow"] and s["cur_mask"].shape == (H, W)
    assert s["t"] - 1 >= 0
    assert torch.allclose(s["flow"][0][s["flow_valid"]], torch.tensor(-1.0))
    assert int(s["flow_valid"].sum()) > 0


def test_video_clip_dataset_skips_sparse_sequences(davis_root):
    with pytest.raises(ValueError, match="two annotated"):
        VideoClipDataset(DAVIS(davis_root, split="val"))


def _moving_sequence(T=6, h=40, w=56, v=(2.0, 1.0), ids_first=(3, 7), late_id=9):
    """A smooth pattern translating by v per frame: backward flow of every frame = -v."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    frames, masks, flows, valid = [], [], [], []
    for t in range(T):
        frames.append(np.clip(_pattern(xs - v[0] * t, ys - v[1] * t), 0, 255).astype(np.uint8))
        m = np.zeros((h, w), np.uint8)
        m[5:15, 5 + t:20 + t] = ids_first[0]
        m[22:34, 30:46] = ids_first[1]
        if t >= 2:
            m[30:38, 2:10] = late_id
        m[-2:] = VOID
        masks.append(m)
        f = np.empty((h, w, 2), np.float32)
        f[..., 0], f[..., 1] = -v[0], -v[1]
        flows.append(None if t == 0 else f)
        valid.append(None if t == 0 else np.ones((h, w), bool))
    return Sequence("moving", np.stack(frames), masks, tuple(ids_first), flows, valid, None)


def test_video_clip_dataset_id_remapping():
    seq = _moving_sequence()
    ds = VideoClipDataset([seq], size=(40, 56), max_skip=3, augment=False, p_first_ref=1.0,
                          samples_per_epoch=6)
    for i in range(6):
        s = ds[i]
        assert s["n_objects"] == 2
        t = s["t"]
        cur = s["cur_mask"].numpy()
        orig = seq.masks[t]
        np.testing.assert_array_equal(cur == 1, orig == 3)
        np.testing.assert_array_equal(cur == 2, orig == 7)
        np.testing.assert_array_equal(cur == VOID, orig == VOID)
        assert not (cur[orig == 9]).any()  # id absent from the reference -> background


def test_video_clip_dataset_augmented_flow_warps(tmp_path):
    seq = _moving_sequence(h=64, w=80)
    ds = VideoClipDataset([seq], size=(40, 56), max_skip=1, augment=True, seed=3,
                          samples_per_epoch=4,
                          augmenter=PairedAugment((40, 56), photometric=False, max_rotation=15))
    for i in range(4):
        s = ds[i]
        _check_sample(s, (40, 56))
        assert s["has_flow"]
        prev = s["prev_img"].permute(1, 2, 0).numpy() * 255
        cur = s["cur_img"].permute(1, 2, 0).numpy() * 255
        flow = s["flow"].permute(1, 2, 0).numpy()
        valid = s["flow_valid"].numpy()
        err = _warp_err(prev, cur, flow, valid)
        assert err < 6.0, err
        assert _warp_err(prev, cur, np.zeros_like(flow), valid) > 1.5 * err


def test_video_clip_dataset_max_objects():
    seq = _moving_sequence()
    ds = VideoClipDataset([seq], size=(40, 56), augment=False, max_objects=1,
                          samples_per_epoch=4)
    for i in range(4):
        assert ds[i]["n_objects"] == 1
        assert set(torch.unique(ds[i]["ref_mask"]).tolist()) <= {0, 1, VOID}


def test_static_pair_dataset(davis_root):
    d = DAVIS(davis_root, split="train")
    ds = StaticPairDataset(d, size=(16, 24), seed=0)
    assert len(ds) == 9  # every annotated frame of alpha (5) and beta (4)
    for i in range(len(ds)):
        s = ds[i]
        _check_sample(s, (16, 24))
        assert s["has_flow"] and bool(s["flow_valid"].any())
    _same(ds[3], StaticPairDataset(d, size=(16, 24), seed=0)[3])


def test_static_pair_flow_is_exact_and_pairs_input():
    h, w = 60, 80
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.clip(_pattern(xs, ys), 0, 255).astype(np.uint8)
    mask = np.zeros((h, w), np.uint8)
    mask[10:40, 15:50] = 5
    mask[45:55, 60:75] = 2
    ds = StaticPairDataset([(img, mask)], size=(48, 64), seed=0, photometric=False,
                           samples_per_epoch=5)
    for i in range(5):
        s = ds[i]
        _check_sample(s, (48, 64))
        prev = s["prev_img"].permute(1, 2, 0).numpy() * 255
        cur = s["cur_img"].permute(1, 2, 0).numpy() * 255
        flow = s["flow"].permute(1, 2, 0).numpy()
        valid = s["flow_valid"].numpy()
        assert _warp_err(prev, cur, flow, valid) < 4.0
        # masks follow the flow too: warping prev_mask by the flow gives cur_mask
        pm = s["prev_mask"].numpy().astype(np.float32)
        rec = backward_warp(pm, flow)
        cm = s["cur_mask"].numpy()
        agree = (np.rint(rec) == cm)[valid].mean()
        assert agree > 0.9, agree
        assert float(np.abs(flow).max()) > 0.1  # there is motion
