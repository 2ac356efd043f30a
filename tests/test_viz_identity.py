"""Tests of the chapter 7 helpers (vos_lib/viz/dipnet/identity.py): real numbers, fast."""
import numpy as np
import torch

from vos_lib import viz
from vos_lib.dipnet import DIPNet
from vos_lib.dipnet.config import cpu
from vos_lib.dipnet.identity import update_identity


def test_activation_shares_counts_covered_cells():
    f = np.zeros((2, 2, 2))
    f[0, 0, 0] = 3.0            # channel 0: all its activation in the top-left cell
    f[1] = 1.0                  # channel 1: spread evenly
    region = np.zeros((4, 4), bool)
    region[:2, :2] = True       # exactly the top-left cell of the 2x2 grid
    s0 = viz.activation_shares(f, {"r": region}, [0])
    s1 = viz.activation_shares(f, {"r": region}, [1])
    both = viz.activation_shares(f, {"r": region})
    assert s0["r"] == 1.0 and s1["r"] == 0.25 and s0["area: r"] == 0.25
    assert np.isclose(both["r"], (3 + 1) / (3 + 4))
    half = np.zeros((4, 4), bool)
    half[:1, :2] = True         # half of the top-left cell
    assert np.isclose(viz.activation_shares(f, {"h": half}, [0])["h"], 0.5)


def test_dynamic_identity_is_eq2_with_the_skip():
    rng = np.random.default_rng(0)
    b = rng.uniform(size=(6, 5)).astype(np.float32)
    b[3] = np.nan               # frame 3: empty output
    w = 0.7
    a = viz.dynamic_identity(b, w)
    want = [b[0], b[0]]
    for t in range(2, 6):
        prev = want[-1] if np.isnan(b[t - 1]).any() else w * b[t - 1] + (1 - w) * want[-1]
        want.append(prev)
    assert np.allclose(a, np.stack(want), atol=1e-6)
    assert np.allclose(viz.dynamic_identity(b, 0.0), b[0])
    lib = update_identity(torch.from_numpy(b[:1]), torch.from_numpy(b[1:2]), w)
    assert np.allclose(a[2], lib[0].numpy(), atol=1e-6)


def test_centred_cosine_is_pearson():
    rng = np.random.default_rng(1)
    x, y = rng.uniform(size=32), rng.uniform(size=32)
    assert np.isclose(viz.centred_cosine(x, y), np.corrcoef(x, y)[0, 1])
    assert np.isclose(viz.centred_cosine(x, 2 * x + 5), 1.0)


def test_record_mask_attention_and_identity_series():
    torch.manual_seed(0)
    model = DIPNet(cpu()).eval()
    enc = model.identity
    img = torch.rand(1, 3, 128, 128)
    m = torch.zeros(1, 1, 128, 128)
    m[..., 40:90, 50:100] = 1
    with torch.no_grad():
        ref = enc(img, m)
        with viz.record_mask_attention(enc) as rec:
            out = enc(img, m)
    assert torch.equal(ref, out) and "attend" not in vars(enc)   # restored
    sites = [r for r in rec if "f" in r]
    assert len(sites) == 3 and sum("last" in r for r in rec) == 1
    for r in sites:
        assert torch.allclose(r["out"], r["f"] * (1 + r["m"]))
    frames = (np.random.default_rng(2).uniform(size=(3, 96, 160, 3)) * 255).astype(np.uint8)
    masks = np.zeros((3, 96, 160), bool)
    masks[0, 20:50, 30:80] = masks[2, 10:40, 10:60] = True
    b = viz.identity_series(model, frames, masks)
    assert b.shape == (3, 256) and np.isnan(b[1]).all() and np.isfinite(b[[0, 2]]).all()
