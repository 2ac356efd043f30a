"""The method registry, presets with one config per method, the shared frame/mask adapter,
loading any method from a checkpoint alone, the result cache, and no silent training."""
import os
import subprocess
import sys
from dataclasses import asdict

import numpy as np
import pytest
import torch

from vos_lib.config import cpu, get_preset, paper
from vos_lib.core.segmenter import (REGISTRY, first_masks, frame_tensor, get_method,
                                    object_masks, paste_ids, registered)
from vos_lib.dtn import DTN, DTNConfig
from vos_lib.engine import cache, checkpoint
from vos_lib.io import UsageError, write_frame, write_mask


def test_registry_names_every_method_and_its_parts():
    assert registered() == list(REGISTRY) and {"dtn", "flow", "first"} <= set(registered())
    for name in registered():
        spec = get_method(name)
        assert spec.name == name and callable(spec.segmenter) and spec.summary
    dtn = get_method("dtn")
    assert dtn.train is not None and dtn.from_checkpoint is not None
    assert set(dtn.variants) == {"full", "no_pretrain", "no_finetune", "no_guidance"}
    assert get_method("first").train is None
    with pytest.raises(UsageError, match="unknown method 'nope'"):
        get_method("nope")


def test_presets_hold_shared_settings_and_one_config_per_method():
    c, p = cpu(), paper()
    assert isinstance(c.dtn, DTNConfig) and c.dtn is c.methods["dtn"]
    assert c.dtn.flow_iters == 2000 and c.dtn.input_size == (96, 160)
    assert p.dtn.backbone == "resnet50" and p.dtn.mrn_M == 112 and p.dtn.flow_iters == 0
    assert p.train.optimizer == "sgd" and c.train.optimizer == "adam"
    assert not hasattr(c.train, "flow_iters")          # DTN's knobs live in its config
    q = c.with_method("dtn", flow_iters=3)
    assert q.dtn.flow_iters == 3 and c.dtn.flow_iters == 2000
    assert get_preset("cpu").to_dict()["methods"]["dtn"]["theta_c"] == 0.83
    with pytest.raises(AttributeError):
        c.nosuchmethod


def test_cli_choices_come_from_the_registry():
    r = subprocess.run([sys.executable, "-m", "vos_lib", "segment", "--help"],
                       capture_output=True, text=True)
    assert r.returncode == 0
    assert "{" + ",".join(registered()) + "}" in r.stdout
    r = subprocess.run([sys.executable, "-m", "vos_lib", "train", "--help"],
                       capture_output=True, text=True)
    assert "no_guidance" in r.stdout and "pretrain_only" in r.stdout
    assert "{dtn,dipnet}" in r.stdout


def test_frame_adapter_resizes_and_keeps_small_objects():
    frame = np.full((48, 80, 3), 255, np.uint8)
    t = frame_tensor(frame, (24, 40))
    assert t.shape == (1, 3, 24, 40) and torch.allclose(t, torch.ones_like(t))
    assert frame_tensor(np.stack([frame] * 3)).shape == (3, 3, 48, 80)
    mask = np.zeros((48, 80), np.uint8)
    mask[10:30, 10:30] = 7
    mask[40, 70] = 9                       # one pixel: lost by a 2x nearest downscale
    masks, ids = first_masks(mask, (24, 40))
    assert ids == [7, 9] and masks.shape == (2, 24, 40)
    assert masks[0].sum() == 100 and masks[1].sum() == 1 and masks[1, 20, 35] == 1
    ids_small = torch.zeros(24, 40, dtype=torch.long)
    ids_small[5:15, 5:15] = 1
    back = paste_ids(ids_small, (48, 80), ids)
    assert back.shape == (48, 80) and set(np.unique(back)) == {0, 7} and (back == 7).sum() == 400
    om = object_masks(mask, [9, 7])
    assert om.shape == (2, 48, 80) and om[0].sum() == 1 and om[1].sum() == 400
    assert torch.equal(object_masks(torch.tensor([[0, 1], [2, 1]]), 2),
                       torch.tensor([[[0., 1.], [0., 1.]], [[0., 0.], [1., 0.]]]))


def test_load_model_rebuilds_any_method_from_a_checkpoint_alone(tmp_path):
    cfg = DTNConfig(mrn_M=16, mrn_channels=8, dm_hidden=8, theta_c=0.5)
    torch.manual_seed(0)
    model = DTN(cfg)
    path = checkpoint.save(tmp_path / "m.pt", {"method": "dtn", "config": asdict(cfg),
                                               "model": model.state_dict()})
    back = checkpoint.load_model(path)
    assert isinstance(back, DTN) and back.cfg == cfg and not back.training
    for (k, a), (_, b) in zip(model.state_dict().items(), back.state_dict().items()):
        assert torch.equal(a, b), k
    foreign = checkpoint.save(tmp_path / "f.pt", {"model": model.state_dict()})
    with pytest.raises(UsageError, match="not a vos_lib model checkpoint"):
        checkpoint.load_model(foreign)
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    with pytest.raises(UsageError, match="junk.pt: not a readable vos_lib checkpoint"):
        checkpoint.load_model(tmp_path / "junk.pt")


def test_cached_json_recomputes_only_when_the_key_changes(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"value": len(calls)}
    a = cache.cached_json("r", {"ck": "a:1:2"}, compute, directory=tmp_path)
    b = cache.cached_json("r", {"ck": "a:1:2"}, compute, directory=tmp_path)
    assert a == b == {"name": "r", "key": {"ck": "a:1:2"}, "value": 1} and len(calls) == 1
    c = cache.cached_json("r", {"ck": "a:9:2"}, compute, directory=tmp_path)
    assert c["value"] == 2 and not list(tmp_path.glob("*.tmp*"))


def test_segment_never_trains_silently(tmp_path):
    """No checkpoint and no cached model: a clear message naming --train-if-missing."""
    frames = tmp_path / "frames"
    for t in range(2):
        write_frame(frames / f"{t:05d}.jpg", np.zeros((32, 48, 3), np.uint8))
    mask = np.zeros((32, 48), np.uint8)
    mask[5:15, 5:15] = 1
    write_mask(tmp_path / "first.png", mask)
    env = {**os.environ, "VOS_DATA": str(tmp_path / "empty_data")}
    r = subprocess.run([sys.executable, "-m", "vos_lib", "segment", "--method", "dtn",
                        "--frames", str(frames), "--mask", str(tmp_path / "first.png"),
                        "--out", str(tmp_path / "out")], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "--train-if-missing" in r.stderr and "--checkpoint" in r.stderr
    assert not (tmp_path / "empty_data" / "checkpoints").exists()
