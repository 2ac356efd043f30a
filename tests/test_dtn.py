"""DTN assembled: training losses (Eq. 5), inference routing, BP with exact flow, end to end."""
from dataclasses import replace

import numpy as np
import pytest
import torch

from vos_lib.config import get_preset
from vos_lib.data.synthetic import SyntheticConfig
from vos_lib.dtn.config import DTNConfig
from vos_lib.data import DAVIS, StaticPairDataset, VideoClipDataset
from vos_lib.dtn import DTN, DTNSegmenter
from vos_lib.data.synthetic import generate_dataset, generate_sequence
from torch.utils.data import default_collate


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("syn") / "synthetic"
    generate_dataset(root, SyntheticConfig(n_train=3, n_val=2, n_frames=8), workers=1, progress=False)
    return root


def _batch(ds, n=2):
    return default_collate([ds[i] for i in range(n)])


@pytest.mark.parametrize("stage", ["pretrain", "finetune"])
def test_training_step_losses_finite_and_backprop(tiny_root, stage):
    torch.manual_seed(0)
    d = DAVIS(tiny_root, split="train")
    ds = StaticPairDataset(d, size=(96, 160)) if stage == "pretrain" else VideoClipDataset(d, size=(96, 160))
    m = DTN(DTNConfig())
    m.stage = stage
    losses = m.training_step(_batch(ds))
    expected = {"crpn", "mrn"} | ({"dm"} if stage == "finetune" else {"rpn_full"})
    assert set(losses) == expected
    total = sum(losses.values())
    assert torch.isfinite(total)
    total.backward()
    grads = [p.grad for p in m.backbone.parameters() if p.grad is not None]
    assert grads and any(g.abs().sum() > 0 for g in grads)
    assert all(p.grad is None for p in m.flow.parameters())   # flow is frozen in Eq. 5


def test_flow_step_trains_only_flow(tiny_root):
    d = DAVIS(tiny_root, split="train")
    m = DTN(DTNConfig())
    out = m.flow_step(_batch(VideoClipDataset(d, size=(96, 160), max_skip=1)))
    assert set(out) == {"flow_epe"} and out["flow_epe"] > 0


def _video(seed=3, T=6):
    v = generate_sequence(seed, n_frames=T, height=96, width=160, difficulty="easy")
    return v


def test_step_routes_and_shapes():
    torch.manual_seed(0)
    m = DTN(DTNConfig()).eval()
    v = _video()
    K = int(v.masks[0].max())
    img = lambda t: torch.from_numpy(v.frames[t]).permute(2, 0, 1)[None].float() / 255
    masks0 = torch.stack([torch.from_numpy(v.masks[0] == k + 1) for k in range(K)]).float()
    state = m.first_frame(img(0), masks0)
    assert state["first_feats"].shape[0] == K
    for force in ("BP", "BR"):
        ids, new, info = m.step(img(1), state, force=force)
        assert ids.shape == (96, 160) and ids.dtype == torch.int64
        assert int(ids.max()) <= K
        assert info["route"] in ("BP", "BR")
    ids, new, info = m.step(img(1), state, use_dtn=False)
    assert info["route"] == "full"
    assert 0.0 <= info["confidence"] <= 1.0


def test_bp_box_follows_exact_flow(monkeypatch):
    """With the ground-truth flow plugged in, the BP box is the box of the true next mask."""
    from vos_lib.core.boxes import mask_to_box
    from vos_lib.core.flow import warp
    v = _video(seed=5)
    prev = torch.from_numpy(v.masks[1] == 1).float()[None, None]
    flow = torch.from_numpy(v.flows[2]).permute(2, 0, 1)[None]
    warped = warp(prev, flow)
    box_bp, ok = mask_to_box(warped[:, 0])
    box_gt, ok2 = mask_to_box(torch.from_numpy(v.masks[2] == 1)[None].float())
    from torchvision.ops import box_iou
    if ok.item() and ok2.item():
        assert box_iou(box_bp, box_gt).item() > 0.8


def test_segmenter_policies_and_original_size():
    torch.manual_seed(0)
    m = DTN(DTNConfig())
    v = _video(T=7)
    # a larger "photo" video: the segmenter resizes inside and answers at the input size
    import cv2
    frames = [cv2.resize(f, (320, 192)) for f in v.frames]
    first = cv2.resize(v.masks[0] * 3, (320, 192), interpolation=cv2.INTER_NEAREST)  # ids 3, 6, ...
    for policy, kw in [("dm", {}), ("random", {"p_bp": 0.0}), ("periodic", {"period": 2}), ("bp", {})]:
        res = DTNSegmenter(m, policy=policy, **kw).segment(frames, first)
        assert res.masks.shape == (7, 192, 320)
        assert set(np.unique(res.masks)) <= set(np.unique(first))
        assert len(res.info["routes"]) == 6
        if policy == "random":
            assert res.info["br_fraction"] == 1.0
        if policy == "periodic":
            assert res.info["routes"][1] == "BR" and res.info["routes"][0] == "BP"   # t=2 is BR
    assert set(res.info["component_seconds"]) >= {"backbone", "DM", "BP", "MRN"}


def test_train_tiny_end_to_end_and_segment_cli(tiny_root, tmp_path):
    """Every stage runs, writes a checkpoint, and the checkpoint drives the segment command."""
    from vos_lib.dtn.train import load_dtn, train_dtn
    from vos_lib.segment import run_segment
    from vos_lib.io import write_frame, write_mask
    p = get_preset("cpu")
    p = replace(p, train=replace(p.train, batch_size=2))
    p = p.with_method("dtn", flow_iters=2, pretrain_iters=2, finetune_iters=2)
    path = train_dtn(p, data_root=tiny_root, out_dir=tmp_path / "ck", device="cpu", progress=False)
    assert path.is_file() and {f.name for f in (tmp_path / "ck").glob("*.pt")} >= {
        "dtn-cpu-flow.pt", "dtn-cpu-pretrain.pt", "dtn-cpu-full.pt"}
    model = load_dtn(path)
    assert model.cfg.input_size == (96, 160)
    v = _video(T=4)
    import cv2
    for t, f in enumerate(v.frames):
        write_frame(tmp_path / "frames" / f"{t:05d}.jpg", cv2.resize(f, (854, 480)))
    write_mask(tmp_path / "first.png", cv2.resize(v.masks[0], (854, 480), interpolation=cv2.INTER_NEAREST))
    rep = run_segment("dtn", tmp_path / "frames", tmp_path / "first.png", tmp_path / "out", checkpoint=path)
    assert rep["n_frames"] == 4 and rep["frame_size"] == [480, 854]
    assert len(list((tmp_path / "out").glob("*.png"))) == 4


def test_decide_is_what_step_routes_on():
    torch.manual_seed(0)
    m = DTN(DTNConfig()).eval()
    img0, img1 = torch.rand(1, 3, 96, 160), torch.rand(1, 3, 96, 160)
    masks = torch.zeros(2, 96, 160)
    masks[0, 10:30, 20:50] = 1
    masks[1, 50:80, 90:130] = 1
    state = m.first_frame(img0, masks)
    with torch.no_grad():
        dec = m.decide(img1, img0, masks)
    assert dec["confidence"].shape == (1,) and dec["extra"].shape == (1, 10)
    assert dec["warped"].shape == (2, 1, 96, 160)
    _, _, info = m.step(img1, state, theta_c=2.0)          # theta_c > 1: always BR
    assert abs(info["confidence"] - float(dec["confidence"])) < 1e-6 and info["route"] == "BR"
    _, _, info = m.step(img1, state, theta_c=-1.0)         # always BP (no object lost)
    assert info["route"] == "BP"
    # the paper's DM reads Conv6 only
    p = DTN(DTNConfig(dm_features="conv6")).eval()
    with torch.no_grad():
        assert p.decide(img1, img0, masks)["extra"] is None
