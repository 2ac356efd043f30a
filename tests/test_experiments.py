"""The speed model of Fig. 6 and the experiment cache."""
import json

import pytest

from vos_lib.dtn import experiments


def test_fps_model_is_monotone_and_exact():
    comp = {"backbone": 0.010, "DM": 0.004, "BP": 0.001, "MRN": 0.005, "BR": 0.020}
    assert experiments.fps_at(0.0, comp) == pytest.approx(1 / 0.020)
    assert experiments.fps_at(1.0, comp) == pytest.approx(1 / 0.040)
    assert experiments.fps_at(0.2, comp) > experiments.fps_at(0.8, comp)


def test_run_is_cached_and_invalidated_by_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("VOS_DATA", str(tmp_path))
    calls = []

    def fake_run_and_score(seg, root, out, split, sequences, progress):
        calls.append(1)
        return {"scores": {"global": {"J&F-Mean": 0.5}, "per_object": {"s_1": {"J-Mean": 0.4, "F-Mean": 0.6}}},
                "infos": {"s": {"routes": ["BP", "BR"], "confidence": [0.9, 0.1]}}, "br_fraction": 0.5}

    from vos_lib.eval import run as run_mod
    monkeypatch.setattr(run_mod, "run_and_score", fake_run_and_score)
    ck = tmp_path / "m.pt"
    ck.write_bytes(b"x")
    a = experiments.run("x", lambda: None, ck, root=tmp_path)
    b = experiments.run("x", lambda: None, ck, root=tmp_path)
    assert len(calls) == 1 and a == b
    assert a["per_sequence"] == {"s": pytest.approx(0.5)} and a["br_fraction"] == 0.5
    ck.write_bytes(b"retrained, another size")
    experiments.run("x", lambda: None, ck, root=tmp_path)
    assert len(calls) == 2
    assert json.loads((tmp_path / "results" / "x.json").read_text())["global"]["J&F-Mean"] == 0.5
