"""Atomic checkpoints, the cross-process cache, and resume in the training loop."""
import multiprocessing as mp

import pytest
import torch
from torch import nn

from vos_lib.engine import checkpoint
from vos_lib.engine.trainer import fit, seed_everything


def test_save_is_atomic_and_loadable(tmp_path):
    p = tmp_path / "a.pt"
    checkpoint.save(p, {"x": torch.arange(3)})
    assert torch.equal(checkpoint.load(p)["x"], torch.arange(3))
    assert [f.name for f in tmp_path.iterdir()] == ["a.pt"]  # no temp file left behind


def test_failed_save_keeps_previous(tmp_path):
    p = tmp_path / "a.pt"
    checkpoint.save(p, {"v": 1})

    class Bad:
        def __reduce__(self):
            raise RuntimeError("boom")

    with pytest.raises(Exception):
        checkpoint.save(p, {"v": Bad()})
    assert checkpoint.load(p)["v"] == 1
    assert len(list(tmp_path.iterdir())) == 1


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        checkpoint.load(tmp_path / "missing.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(RuntimeError, match="bad.pt"):
        checkpoint.load(bad)


def _build_slowly(args):
    directory, log = args
    import time

    def build(path):
        with open(log, "a") as f:
            f.write("built\n")
        time.sleep(0.5)
        checkpoint.save(path, {"ok": True})
    return str(checkpoint.cached("m", build, directory))


def test_cached_builds_once_across_processes(tmp_path):
    log = tmp_path / "log.txt"
    with mp.get_context("spawn").Pool(2) as pool:
        paths = pool.map(_build_slowly, [(str(tmp_path), str(log))] * 2)
    assert paths[0] == paths[1]
    assert log.read_text().count("built") == 1


class Quad(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.tensor([3.0, -2.0]))

    def training_step(self, batch):
        return {"l2": ((self.w - batch) ** 2).sum()}


def _run(ckpt, iters):
    seed_everything(0)
    m = Quad()
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    h = fit(m, [torch.zeros(2)], iters=iters, optimizer=opt, ckpt_path=ckpt, ckpt_every=5,
            progress=False, grad_clip=None)
    return m, h


def test_fit_converges_and_resume_matches_uninterrupted(tmp_path):
    m_full, h_full = _run(tmp_path / "full.pt", 20)
    assert h_full.losses["total"][-1] < 1e-3 * h_full.losses["total"][0]
    _run(tmp_path / "part.pt", 10)                    # "killed" after 10 steps
    m_res, h_res = _run(tmp_path / "part.pt", 20)     # resumed to 20
    assert torch.allclose(m_full.w, m_res.w)
    assert h_res.steps == list(range(1, 21))
    assert checkpoint.load(tmp_path / "part.pt")["done"] is True


def test_partial_saves_never_look_finished(tmp_path):
    """Mid-run saves go to <ckpt>.partial, so checkpoint.cached never returns a half-trained model."""
    seed_everything(0)
    m = Quad()
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    ck = tmp_path / "q.pt"
    seen = []

    def step(batch):
        seen.append((ck.is_file(), (tmp_path / "q.pt.partial").is_file()))
        return m.training_step(batch)

    fit(m, [torch.zeros(2)], iters=12, optimizer=opt, step_fn=step, ckpt_path=ck, ckpt_every=5,
        progress=False)
    assert seen[7] == (False, True)          # after the save at step 5: partial only
    assert ck.is_file() and not (tmp_path / "q.pt.partial").exists()


def test_resume_continues_with_the_batches_not_yet_seen(tmp_path):
    data = [torch.full((2,), float(i)) for i in range(7)]     # a 7-batch "loader"
    seen = []

    def go(iters):
        seed_everything(0)
        m = Quad()

        def step(batch):
            seen.append(int(batch[0]))
            return m.training_step(batch)

        fit(m, data, iters=iters, optimizer=torch.optim.SGD(m.parameters(), lr=0.1), step_fn=step,
            ckpt_path=tmp_path / "r.pt", progress=False)

    go(4)                 # stops after 4 batches
    go(10)                # resumed: batches 4, 5, 6, then the next epoch
    assert seen == [0, 1, 2, 3, 4, 5, 6, 0, 1, 2]
