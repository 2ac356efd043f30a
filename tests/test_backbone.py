"""Backbone (DTN Sec. 3.1): Res2..Res5 features at strides 4..32, offline-safe ImageNet loading."""
import warnings

import pytest
import torch
from torchvision.models import resnet as tv_resnet

import vos_lib.core.backbone as bb
from vos_lib.core.backbone import Backbone, build_backbone
from vos_lib.dtn.config import DTNConfig


@pytest.mark.parametrize("name,blocks,chans", [
    ("resnet18", (1, 1, 1, 1), (64, 128, 256, 512)),
    ("resnet50", (1, 1, 1, 1), (256, 512, 1024, 2048)),
])
def test_levels_shapes_and_strides(name, blocks, chans):
    net = Backbone(name, blocks=blocks).eval()
    x = torch.rand(2, 3, 64, 96)
    with torch.no_grad():
        feats = net(x)
    assert list(feats) == ["res2", "res3", "res4", "res5"]
    for (level, f), c in zip(feats.items(), chans):
        s = net.strides[level]
        assert f.shape == (2, c, 64 // s, 96 // s)
        assert net.channels[level] == c


def test_default_depth_and_config_factory():
    net = Backbone("resnet34", blocks=None)
    assert net.blocks == (3, 4, 6, 3) and len(net.layer3) == 6
    net = build_backbone(DTNConfig())
    assert net.blocks == (1, 1, 1, 1) and net.name == "resnet18"


def test_normalisation_inside():
    net = Backbone("resnet18")
    assert torch.allclose(net.mean.flatten(), torch.tensor([0.485, 0.456, 0.406]))
    assert "mean" not in net.state_dict()           # not persistent: checkpoints stay clean


def test_offline_weights_warn_and_random_init(monkeypatch):
    def fail(weights):
        raise OSError("network is unreachable")
    monkeypatch.setattr(bb, "_download_state_dict", fail)
    with pytest.warns(UserWarning, match="could not download ImageNet weights.*using random init"):
        net = Backbone("resnet18", blocks=None, pretrained=True)
    assert net.eval()(torch.rand(1, 3, 64, 64))["res5"].shape == (1, 512, 2, 2)


def test_pretrained_partial_load_into_fewer_blocks(monkeypatch):
    ref = tv_resnet.resnet18()
    monkeypatch.setattr(bb, "_download_state_dict", lambda weights: ref.state_dict())
    with warnings.catch_warnings():
        warnings.simplefilter("error")              # every tensor has a counterpart
        net = Backbone("resnet18", blocks=(1, 1, 1, 1), pretrained=True)
    assert torch.equal(net.stem[0].weight, ref.conv1.weight)
    assert torch.equal(net.layer3[0].conv1.weight, ref.layer3[0].conv1.weight)
