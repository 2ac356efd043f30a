"""Tests of the synthetic DAVIS-format generator (vos_lib.data.synthetic): determinism, exact
backward flow, masks, layout on disk, events, and ensure_dataset (incl. concurrency)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from vos_lib.data.synthetic import SyntheticConfig
from vos_lib.io import read_frame, read_mask
from vos_lib.data import load_flow as read_flow
from vos_lib.data.synthetic import (DIFFICULTY, SyntheticVideo, ensure_dataset, generate_dataset,
                               generate_sequence, is_complete, main, sequence_seed,
                               write_sequence)

SMALL = dict(n_frames=10, height=96, width=160)   # the default frame size, few frames
TINY = SyntheticConfig(height=48, width=80, n_train=2, n_val=1, n_frames=4,
                       difficulty="medium", seed=3)


def backward_warp(img: np.ndarray, flow: np.ndarray, mode: str = "bilinear") -> np.ndarray:
    """grid_sample(img_{t-1}, x + flow_t), pixel centres at integers (align_corners=True)."""
    H, W = flow.shape[:2]
    ys, xs = torch.meshgrid(torch.arange(H, dtype=torch.float32),
                            torch.arange(W, dtype=torch.float32), indexing="ij")
    f = torch.from_numpy(np.ascontiguousarray(flow, dtype=np.float32))
    gx = 2 * (xs + f[..., 0]) / (W - 1) - 1
    gy = 2 * (ys + f[..., 1]) / (H - 1) - 1
    grid = torch.stack([gx, gy], -1)[None]
    x = torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32))
    x = x.permute(2, 0, 1)[None] if x.ndim == 3 else x[None, None]
    out = F.grid_sample(x, grid, mode=mode, padding_mode="border", align_corners=True)[0]
    return out.permute(1, 2, 0).numpy() if img.ndim == 3 else out[0].numpy()


def photometric_errors(frames, flows, valid):
    """Mean |I_t - warp(I_{t-1}, flow_t)| over valid pixels (uint8 units), per frame, with
    the given flow and with zero flow."""
    e, z = [], []
    for t in range(1, len(frames)):
        m = valid[t]
        cur = frames[t].astype(np.float32)
        e.append(np.abs(backward_warp(frames[t - 1], flows[t]) - cur)[m].mean())
        z.append(np.abs(frames[t - 1].astype(np.float32) - cur)[m].mean())
    return np.array(e), np.array(z)


@pytest.fixture(scope="module")
def videos():
    return {(d, s): generate_sequence(s, difficulty=d, **SMALL)
            for d in ("medium", "hard") for s in (0, 1)}


# ----------------------------------------------------------------------------- basics
def test_shapes_and_types(videos):
    v = videos["medium", 0]
    assert isinstance(v, SyntheticVideo)
    T, H, W = SMALL["n_frames"], SMALL["height"], SMALL["width"]
    assert v.frames.shape == (T, H, W, 3) and v.frames.dtype == np.uint8
    assert v.masks.shape == (T, H, W) and v.masks.dtype == np.uint8
    assert v.flows.shape == (T, H, W, 2) and v.flows.dtype == np.float32
    assert v.valid.shape == (T, H, W) and v.valid.dtype == bool
    assert not v.flows[0].any() and not v.valid[0].any()
    assert np.isfinite(v.flows).all()
    assert v.meta["n_objects"] == int(v.masks[0].max()) >= 1
    assert v.valid[1:].mean() > 0.8                       # most pixels are trackable
    # the background moves too (camera pan / zoom)
    bg = (v.masks[1:] == 0) & v.valid[1:]
    assert np.abs(v.flows[1:][bg]).mean() > 0.05


def test_determinism():
    a = generate_sequence(7, difficulty="hard", **SMALL)
    b = generate_sequence(7, difficulty="hard", **SMALL)
    c = generate_sequence(8, difficulty="hard", **SMALL)
    for name in ("frames", "masks", "flows", "valid"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.meta == b.meta
    assert not np.array_equal(a.frames, c.frames)
    assert not np.array_equal(a.masks, c.masks)


@pytest.mark.parametrize("difficulty", sorted(DIFFICULTY))
def test_first_frame_objects_fully_visible(difficulty):
    for seed in range(4):
        v = generate_sequence(seed, difficulty=difficulty, n_frames=2, height=64, width=96)
        K = v.meta["n_objects"]
        assert 1 <= K <= 3
        assert set(np.unique(v.masks[0])) == set(range(K + 1))
        for k, rec in v.meta["frames"][0]["objects"].items():
            assert rec["visible_frac"] > 0.95, (difficulty, seed, k, rec)
            assert not rec["occluded"] and not rec["out_of_frame"]
            area = (v.masks[0] == int(k)).sum() / v.masks[0].size
            assert 0.01 < area < 0.35, (difficulty, seed, k, area)   # reasonably large


# ----------------------------------------------------------------------------- the flow
def test_flow_reproduces_next_frame(videos):
    for key, v in videos.items():
        err, zero = photometric_errors(v.frames, v.flows, v.valid)
        assert err.mean() < 3.0, (key, err)                  # < 3/255 on valid pixels
        assert err.max() < 4.0, (key, err)
        assert zero.mean() > 2.5 * err.mean(), (key, err.mean(), zero.mean())


def test_flow_test_can_fail(videos):
    """Wrong flows (negated, shifted by a pixel, the previous frame's) do much worse."""
    v = videos["hard", 1]
    good, _ = photometric_errors(v.frames, v.flows, v.valid)
    neg, _ = photometric_errors(v.frames, -v.flows, v.valid)
    shift, _ = photometric_errors(v.frames, v.flows + np.float32(1.5), v.valid)
    stale = np.concatenate([v.flows[:1], v.flows[:1], v.flows[1:-1]])
    old, _ = photometric_errors(v.frames, stale, v.valid)
    for bad in (neg, shift, old):
        assert bad.mean() > 2 * good.mean()


def test_valid_excludes_occlusions(videos):
    """Where the visible layer changes between frames the pixel must be invalid."""
    for v in videos.values():
        for t in range(1, len(v.frames)):
            src = np.rint(backward_warp(v.masks[t - 1].astype(np.float32), v.flows[t],
                                        mode="nearest")).astype(np.uint8)
            changed = src != v.masks[t]
            # valid pixels whose source id differs: only boundary quantisation, very few
            assert (changed & v.valid[t]).mean() < 0.01


def test_mask_warp_iou(videos):
    """Warping mask t-1 with flow_t gives mask t on valid pixels: IoU > 0.9 per object
    (intersections and unions summed over the frames; single frames of a mostly hidden
    object are dominated by the half-pixel boundary band of any binary-mask warp)."""
    for key, v in videos.items():
        for k in range(1, v.meta["n_objects"] + 1):
            inter = union = 0
            for t in range(1, len(v.frames)):
                m = v.valid[t]
                prev = (v.masks[t - 1] == k).astype(np.float32)
                warped = backward_warp(prev, v.flows[t]) > 0.5
                cur = v.masks[t] == k
                inter += ((warped & cur) & m).sum()
                union += ((warped | cur) & m).sum()
            assert union > 0 and inter / union > 0.9, (key, k, inter / max(union, 1))


def test_flow_from_written_files(tmp_path, videos):
    v = videos["medium", 1]
    write_sequence(tmp_path, "seq", v)
    T = len(v.frames)
    frames = np.stack([read_frame(tmp_path / "JPEGImages/480p/seq" / f"{t:05d}.jpg")
                       for t in range(T)])
    flows = np.zeros_like(v.flows)
    valid = np.zeros_like(v.valid)
    for t in range(1, T):
        flows[t], valid[t] = read_flow(tmp_path / "Flow/480p/seq" / f"{t:05d}.npz")
        with np.load(tmp_path / "Flow/480p/seq" / f"{t:05d}.npz") as z:
            assert z["flow"].dtype == np.float16 and z["flow"].shape == v.flows[t].shape
    assert np.array_equal(valid, v.valid)
    assert np.abs(flows - v.flows).max() < 0.05
    err, zero = photometric_errors(frames, flows, valid)
    assert err.mean() < 5.0, err                            # looser: JPEG quality 95
    assert zero.mean() > 2 * err.mean()


# ----------------------------------------------------------------------------- events
def test_hard_preset_has_events():
    seen: dict[str, int] = {}
    for seed in range(4):
        v = generate_sequence(seed, difficulty="hard", n_frames=24, height=64, width=96)
        T, K = len(v.frames), v.meta["n_objects"]
        assert len(v.meta["frames"]) == T
        for e in v.meta["events"]:
            seen[e["event"]] = seen.get(e["event"], 0) + 1
            assert 0 <= e["t"] < T and 1 <= e["object"] <= K
        # per-frame flags agree with the masks
        for t, fr in enumerate(v.meta["frames"]):
            assert fr["t"] == t and set(fr["objects"]) == {str(k) for k in range(1, K + 1)}
            for k, rec in fr["objects"].items():
                present = bool((v.masks[t] == int(k)).any())
                assert present == (rec["box"] is not None) == (not rec["absent"])
                if rec["jump"]:
                    assert any(e["event"] == "jump" and e["t"] == t and e["object"] == int(k)
                               for e in v.meta["events"])
    assert seen.get("jump", 0) >= 1
    assert seen.get("occlusion", 0) + seen.get("full_occlusion", 0) >= 1
    assert seen.get("out_of_frame", 0) >= 1 and seen.get("reenter", 0) >= 1


def test_ids_subset_of_first_frame(videos):
    for v in videos.values():
        first = set(np.unique(v.masks[0]))
        assert set(np.unique(v.masks)) <= first


def test_seeds_disjoint():
    train = {sequence_seed(s, "train", i) for s in range(3) for i in range(200)}
    val = {sequence_seed(s, "val", i) for s in range(3) for i in range(200)}
    assert not train & val and len(train) == len(val) == 600


# ----------------------------------------------------------------------------- on disk
def test_generate_dataset_layout(tmp_path):
    root = generate_dataset(tmp_path / "syn", TINY, workers=1, progress=False)
    T = TINY.n_frames
    train = (root / "ImageSets/2017/train.txt").read_text().split()
    val = (root / "ImageSets/2017/val.txt").read_text().split()
    assert train == ["train-000", "train-001"] and val == ["val-000"]
    meta = json.loads((root / "meta.json").read_text())
    assert meta["complete"] is True and meta["config"]["seed"] == 3
    assert set(meta["sequences"]) == set(train + val)
    for seq in train + val:
        jpgs = sorted((root / "JPEGImages/480p" / seq).glob("*.jpg"))
        pngs = sorted((root / "Annotations/480p" / seq).glob("*.png"))
        npzs = sorted((root / "Flow/480p" / seq).glob("*.npz"))
        assert [p.name for p in jpgs] == [f"{t:05d}.jpg" for t in range(T)]
        assert [p.name for p in pngs] == [f"{t:05d}.png" for t in range(T)]
        assert [p.name for p in npzs] == [f"{t:05d}.npz" for t in range(1, T)]
        with Image.open(pngs[0]) as im:
            assert im.mode == "P" and im.size == (TINY.width, TINY.height)
        first = set(np.unique(read_mask(pngs[0])))
        assert 0 in first and len(first) >= 2
        for p in pngs:
            assert set(np.unique(read_mask(p))) <= first
        assert read_frame(jpgs[0]).shape == (TINY.height, TINY.width, 3)
        flow, valid = read_flow(npzs[0])
        assert flow.shape == (TINY.height, TINY.width, 2) and valid.dtype == bool
        m = json.loads((root / "Meta" / f"{seq}.json").read_text())
        assert m["n_objects"] == len(first) - 1 and m["difficulty"] == "medium"
        assert len(m["frames"]) == T and isinstance(m["events"], list)
        assert set(m["frames"][0]["objects"]["1"]) >= {
            "visible_frac", "occluded", "jump", "out_of_frame", "box"}
    # regenerating (same config) gives the same bytes for masks and flows
    again = generate_sequence(meta["sequences"]["val-000"]["seed"], n_frames=T,
                              height=TINY.height, width=TINY.width, difficulty="medium")
    assert np.array_equal(again.masks[2], read_mask(root / "Annotations/480p/val-000/00002.png"))
    # no temp dirs left next to the root
    assert sorted(p.name for p in tmp_path.iterdir()) == ["syn"]


def test_crash_leaves_nothing(tmp_path, monkeypatch):
    import vos_lib.data.synthetic as syn
    calls = []

    def boom(root, name, video):
        calls.append(name)
        if len(calls) == 2:
            raise RuntimeError("simulated crash")
        return write_sequence(root, name, video)

    monkeypatch.setattr(syn, "write_sequence", boom)
    with pytest.raises(RuntimeError, match="simulated crash"):
        syn.ensure_dataset(tmp_path / "syn", TINY, workers=1, progress=False)
    assert not (tmp_path / "syn").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".syn")]


def test_refuses_foreign_directory(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "precious.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        generate_dataset(tmp_path / "mine", TINY, workers=1, progress=False)
    assert (tmp_path / "mine" / "precious.txt").read_text() == "keep me"


def test_ensure_dataset_is_noop_second_time(tmp_path):
    root = tmp_path / "syn"
    ensure_dataset(root, TINY, workers=1, progress=False)
    assert is_complete(root, TINY)
    stamp = json.loads((root / "meta.json").read_text())["created_unix"]
    t0 = time.perf_counter()
    assert ensure_dataset(root, TINY, workers=1, progress=False) == root
    assert time.perf_counter() - t0 < 0.5
    assert json.loads((root / "meta.json").read_text())["created_unix"] == stamp
    # another config at the same root is regenerated
    other = SyntheticConfig(**{**TINY.__dict__, "seed": 4})
    ensure_dataset(root, other, workers=1, progress=False)
    assert is_complete(root, other) and not is_complete(root, TINY)


def test_concurrent_ensure_dataset(tmp_path):
    root = tmp_path / "syn"
    script = textwrap.dedent(f"""
        import json, sys
        from vos_lib.data.synthetic import SyntheticConfig
        from vos_lib.data.synthetic import ensure_dataset
        cfg = SyntheticConfig(**{TINY.__dict__!r})
        r = ensure_dataset(sys.argv[1], cfg, workers=1, progress=False)
        print(json.loads((r / "meta.json").read_text())["created_unix"])
    """)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    procs = [subprocess.Popen([sys.executable, "-c", script, str(root)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
    stamps = {out.strip() for out, _ in outs}
    assert len(stamps) == 1                         # generated once, found by the other
    assert is_complete(root, TINY)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["syn", "syn.lock"]


def test_cli(tmp_path, capsys):
    assert main(["--root", str(tmp_path / "cli"), "--n-train", "1", "--n-val", "1",
                 "--n-frames", "3", "--height", "48", "--width", "64",
                 "--difficulty", "easy", "--seed", "5", "--workers", "1"]) == 0
    meta = json.loads((tmp_path / "cli" / "meta.json").read_text())
    assert meta["complete"] and meta["config"]["difficulty"] == "easy"
    assert meta["config"]["width"] == 64
    assert "MiB" in capsys.readouterr().out


def test_pool_matches_single_process(tmp_path):
    """Two worker processes write exactly what one process writes."""
    cfg = SyntheticConfig(**{**TINY.__dict__, "n_train": 3, "n_val": 1})
    a = generate_dataset(tmp_path / "a", cfg, workers=1, progress=False)
    b = generate_dataset(tmp_path / "b", cfg, workers=2, progress=False)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for rel in files:
        if rel.suffix == ".npz":      # zip headers carry timestamps: compare the arrays
            fa, va = read_flow(a / rel)
            fb, vb = read_flow(b / rel)
            assert np.array_equal(fa, fb) and np.array_equal(va, vb)
        elif rel.name != "meta.json":
            assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    ma, mb = (json.loads((r / "meta.json").read_text()) for r in (a, b))
    for k in ("config", "sequences", "event_counts", "version"):
        assert ma[k] == mb[k]
