"""DIPNet (WACV 2020): Eq. 1, Eq. 2, the propagation head, the joint softmax, the
coarse-mask morphology, the SSN, one-shot fine-tuning, the per-frame loop, training
stages and the command line."""
import json
import subprocess
import sys
from dataclasses import asdict, replace

import numpy as np
import pytest
import torch

from vos_lib.baselines import DISPropagation
from vos_lib.config import get_preset
from vos_lib.core.backbone import Backbone
from vos_lib.dipnet import DIPNet, DIPNetSegmenter, train_dipnet
from vos_lib.dipnet.config import cpu, paper
from vos_lib.dipnet.finetune import one_shot_finetune
from vos_lib.dipnet.identity import IdentityEncoder, update_identity
from vos_lib.dipnet.model import morph_coarse, ssn_loss
from vos_lib.dipnet.propagation import InstancePropagation, joint_softmax
from vos_lib.engine.checkpoint import load_model
from vos_lib.io import write_frame, write_mask

SMALL = replace(cpu(), prop_size=(64, 64), ssn_size=(48, 80), ft_iters_full=2,
                ft_iters_crop=1)


def test_eq1_mask_attention_doubles_inside_and_keeps_outside():
    f = torch.rand(1, 4, 8, 8)
    m = torch.zeros(1, 1, 16, 16)
    m[..., :8, :] = 1                                   # top half of the frame
    out = IdentityEncoder.attend(f, m)
    assert torch.allclose(out[..., :4, :], 2 * f[..., :4, :])
    assert torch.allclose(out[..., 4:, :], f[..., 4:, :])


def test_identity_vector_is_a_sigmoid_per_channel_and_depends_on_the_mask():
    torch.manual_seed(0)
    enc = IdentityEncoder(Backbone("resnet18", (1, 1, 1, 1))).eval()
    img = torch.rand(1, 3, 64, 64)
    a = enc(img, torch.zeros(1, 64, 64))
    b = enc(img, torch.ones(1, 64, 64))
    assert a.shape == (1, 512) and bool(((a > 0) & (a < 1)).all())
    assert (a - b).abs().max() > 1e-3
    concat = IdentityEncoder(Backbone("resnet18", (1, 1, 1, 1)), mode="concat").eval()
    assert concat(img, torch.ones(1, 64, 64)).shape == (1, 512)
    with pytest.raises(ValueError, match="masked' or 'concat"):
        IdentityEncoder(Backbone("resnet18", (1, 1, 1, 1)), mode="sum")


def test_eq2_update_weights_the_last_frame_by_omega_and_skips_empty_outputs():
    alpha, beta = torch.zeros(2, 3), torch.ones(2, 3)
    assert torch.allclose(update_identity(alpha, beta, 0.95), torch.full((2, 3), 0.95))
    assert torch.equal(update_identity(alpha, beta, 0.0), alpha)      # first frame only
    assert torch.equal(update_identity(alpha, beta, 1.0), beta)       # last frame only
    out = update_identity(alpha, beta, 0.5, empty=torch.tensor([True, False]))
    assert torch.equal(out[0], alpha[0]) and torch.allclose(out[1], torch.full((3,), 0.5))


def test_propagation_head_outputs_4x_the_feature_grid_and_uses_the_attention():
    torch.manual_seed(0)
    ipn = InstancePropagation(16, width=8).eval()
    feats = torch.rand(2, 16, 8, 8)
    out = ipn(feats, torch.ones(2, 16))
    assert out.shape == (2, 1, 32, 32)                  # 8x8 Conv5 -> 32x32, as the paper
    assert not torch.allclose(out, ipn(feats, torch.zeros(2, 16)))


def test_joint_softmax_sums_to_one_with_background_minus_foreground():
    f = torch.randn(3, 1, 5, 5)
    fg = torch.randn(1, 1, 5, 5)
    p = joint_softmax(f, fg)
    assert p.shape == (4, 1, 5, 5) and torch.allclose(p.sum(0), torch.ones(1, 5, 5))
    one = joint_softmax(f[:1], fg)[1]                   # one object: sigmoid(f1 + f_fg)
    assert torch.allclose(one, torch.sigmoid(f[0] + fg[0]), atol=1e-6)


def test_morphology_dilates_or_erodes_then_resizes():
    m = torch.zeros(1, 1, 64, 64)
    m[..., 20:44, 20:44] = 1
    torch.manual_seed(0)
    areas = [morph_coarse(m, (64, 64), 9).sum().item() for _ in range(30)]
    assert min(areas) < 576 < max(areas)                # some eroded, some dilated
    assert morph_coarse(m, (16, 16), 0).shape == (1, 1, 16, 16)
    assert morph_coarse(m, (64, 64), 0).sum().item() == 576   # kernel 0: unchanged


def test_ssn_returns_every_cascade_stage_and_the_full_size_last():
    torch.manual_seed(0)
    model = DIPNet(SMALL).eval()
    logits = model.ssn(torch.rand(2, 3, 48, 80), torch.rand(2, 1, 16, 16))
    assert len(logits) == 4 and logits[-1].shape == (2, 1, 48, 80)
    assert logits[0].shape[-2:] == (2, 3)               # Conv5 grid of a 48x80 frame
    assert model.coarse_size == (16, 16)          # 64x64 input, Conv4 (stride 16) x 4


def test_one_shot_finetuning_fits_the_first_frame_and_leaves_the_model_alone():
    torch.manual_seed(0)
    model = DIPNet(SMALL).eval()
    img = torch.rand(1, 3, 48, 80)
    mask = torch.zeros(1, 1, 48, 80)
    mask[..., 10:30, 20:50] = 1
    before = {k: v.clone() for k, v in model.ssn.state_dict().items()}

    def loss(net):
        with torch.no_grad():
            return ssn_loss(net(img, morph_coarse(mask, (8, 8), 0)), mask)["ssn_bce"].item()
    tuned, secs = one_shot_finetune(model.ssn, img, mask, (8, 8), iters=15, lr=1e-2)
    assert loss(tuned) < 0.7 * loss(model.ssn) and secs > 0
    assert all(torch.equal(before[k], v) for k, v in model.ssn.state_dict().items())


def _video(n=4, h=48, w=80):
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for _ in range(n)]
    mask = np.zeros((h, w), np.uint8)
    mask[5:20, 5:30] = 3
    mask[25:40, 40:70] = 8
    return frames, mask


@pytest.mark.parametrize("options", [{}, {"crop": False}, {"joint": False},
                                     {"use_ipn": False}, {"use_ssn": False},
                                     {"finetune": False}])
def test_segmenter_keeps_the_first_mask_ids_and_reports_its_work(options):
    torch.manual_seed(0)
    frames, mask = _video()
    r = DIPNetSegmenter(DIPNet(SMALL), **options).segment(frames, mask)
    assert r.masks.shape == (4, 48, 80) and set(np.unique(r.masks)) <= {0, 3, 8}
    assert np.array_equal(r.masks[0], mask)
    assert len(r.info["frame_seconds"]) == 3 and len(r.info["identity_skips"]) == 2
    ft = options.get("finetune", True) and options.get("use_ssn", True)
    assert (r.info["finetune_seconds"] > 0) == ft


def test_segmenter_works_on_frames_of_another_size_than_its_own():
    torch.manual_seed(0)
    frames, mask = _video(n=3, h=120, w=213)
    r = DIPNetSegmenter(DIPNet(SMALL), finetune=False).segment(frames, mask)
    assert r.masks.shape == (3, 120, 213) and set(np.unique(r.masks)) <= {0, 3, 8}


def test_training_stages_are_cached_and_rebuild_from_the_checkpoint(tmp_path):
    preset = get_preset("cpu").with_method(
        "dipnet", ipn_pretrain_iters=2, ipn_offline_iters=2, ssn_pretrain_iters=2,
        ssn_offline_iters=2, prop_size=(64, 64), ssn_size=(48, 80))
    root = tmp_path / "data"
    from vos_lib.data.synthetic import SyntheticConfig, generate_dataset
    generate_dataset(root, SyntheticConfig(height=48, width=80, n_train=2, n_val=1,
                                           n_frames=6))
    path = train_dipnet(preset, root, out_dir=tmp_path / "ck", progress=False, device="cpu")
    names = sorted(p.name for p in (tmp_path / "ck").glob("*.pt"))
    assert names == ["dipnet-cpu-full.pt", "dipnet-cpu-ipn-offline.pt",
                     "dipnet-cpu-ipn-pretrain.pt", "dipnet-cpu-ssn-offline.pt",
                     "dipnet-cpu-ssn-pretrain.pt"]
    model = load_model(path)
    assert isinstance(model, DIPNet) and model.cfg.prop_size == (64, 64)
    state = torch.load(path, weights_only=False)
    ipn = torch.load(tmp_path / "ck" / "dipnet-cpu-ipn-offline.pt", weights_only=False)
    ssn = torch.load(tmp_path / "ck" / "dipnet-cpu-ssn-offline.pt", weights_only=False)
    k_ipn, k_ssn = "ipn.head.4.weight", "ssn.predict.res2.weight"
    assert torch.equal(state["model"][k_ipn], ipn["model"][k_ipn])   # joined phases
    assert torch.equal(state["model"][k_ssn], ssn["model"][k_ssn])
    again = train_dipnet(preset, root, out_dir=tmp_path / "ck", progress=False, device="cpu")
    assert again == path and path.stat().st_mtime == again.stat().st_mtime


def test_paper_preset_follows_the_paper():
    p = paper()
    assert p.prop_size == (256, 256) and p.ssn_size == (512, 512) and p.omega == 0.95
    assert p.backbone == "resnet50" and p.ft_iters_full == 200 and p.lr == 1e-4
    model = DIPNet(replace(p, pretrained=False))
    assert model.coarse_size == (32, 32) and model.identity.channels == 2048
    # SGD with batch-size 4 (Sec. 3.4), whatever the preset's shared (DTN's) batch is
    from vos_lib.config import paper as paper_preset
    from vos_lib.engine.trainer import make_loader
    pp = paper_preset()
    assert pp.train.batch_size == 2 and p.batch_size == 4
    loader = make_loader(list(range(16)), replace(pp, train=replace(pp.train, num_workers=0)),
                         batch_size=p.batch_size)
    assert [len(b) for b in loader] == [4] * 4


def test_dis_baseline_follows_a_moving_square():
    h, w = 64, 96
    frames, truth = [], []
    rng = np.random.default_rng(0)
    bg = (rng.random((h, w, 3)) * 80).astype(np.uint8)
    for t in range(6):
        f = bg.copy()
        m = np.zeros((h, w), np.uint8)
        m[20:40, 10 + 3 * t:30 + 3 * t] = 1
        f[m == 1] = (220, 180, 40)
        f[22:26, 12 + 3 * t:16 + 3 * t] = (30, 30, 200)   # texture for the flow
        frames.append(f)
        truth.append(m)
    r = DISPropagation().segment(frames, truth[0])
    iou = [((r.masks[t] == 1) & (truth[t] == 1)).sum() / ((r.masks[t] == 1) |
                                                         (truth[t] == 1)).sum()
           for t in range(6)]
    assert min(iou) > 0.8, iou


def test_segment_cli_runs_dipnet_with_and_without_finetuning(tmp_path):
    torch.manual_seed(0)
    ck = tmp_path / "m.pt"
    torch.save({"method": "dipnet", "config": asdict(SMALL),
                "model": DIPNet(SMALL).state_dict()}, ck)
    frames, mask = _video(n=3, h=60, w=90)
    for t, f in enumerate(frames):
        write_frame(tmp_path / "f" / f"{t:05d}.jpg", f)
    write_mask(tmp_path / "first.png", mask)
    base = [sys.executable, "-m", "vos_lib", "segment", "--method", "dipnet", "--frames",
            str(tmp_path / "f"), "--mask", str(tmp_path / "first.png"), "--checkpoint",
            str(ck), "--device", "cpu"]
    r = subprocess.run(base + ["--out", str(tmp_path / "a"), "--no-finetune"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rep = json.loads((tmp_path / "a" / "report.json").read_text())
    assert rep["finetune_seconds"] == 0 and rep["frame_size"] == [60, 90]
    assert len(rep["identity_skips"]) == 1 and "one-shot fine-tuning" in r.stdout
    r = subprocess.run(base + ["--out", str(tmp_path / "b")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "b" / "report.json").read_text())["finetune_seconds"] > 0
    first = base[:5] + ["first"] + base[6:10]
    r = subprocess.run(first + ["--out", str(tmp_path / "c"), "--no-finetune"],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "has no option 'finetune'" in r.stderr
