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


# ------------------------------------------------ Fig. 6: the routing comparisons
def fig6_point(per, br, **key):
    """A point of experiments.fig6 (global J&F: here the mean over the videos)."""
    per = dict(zip(("v0", "v1", "v2"), per))
    jf = sum(per.values()) / len(per)
    return {**key, "J&F": jf, "br": br, "global": {"J&F-Mean": jf},
            "per_sequence": per, "routes": {}}


def test_theta_gap_compares_the_ends_of_the_papers_range():
    dm = [fig6_point([0.5, 0.6, 0.7], 1.0, theta_c=1.01),   # outside 0.5 .. 1.0
          fig6_point([0.4, 0.6, 0.5], 1.0, theta_c=0.95),
          fig6_point([0.3, 0.2, 0.4], 0.1, theta_c=0.5),
          fig6_point([0.3, 0.5, 0.4], 0.4, theta_c=0.83)]
    lo, hi = experiments.theta_ends(dm)
    assert (lo["theta_c"], hi["theta_c"]) == (0.5, 0.95)
    g = experiments.theta_gap(dm, scale=100)
    assert g.mean == pytest.approx(20.0) and (g.n, g.n_better) == (3, 3)
    with pytest.raises(ValueError):
        experiments.theta_ends(dm[:1])


def test_policy_gap_interpolates_the_policy_at_the_dms_br_fraction():
    curve = [fig6_point([0.6, 0.6, 0.6], 1.0), fig6_point([0.2, 0.2, 0.4], 0.0)]
    at = experiments.curve_at(curve, 0.25)
    assert at["per_sequence"] == {"v0": pytest.approx(0.3), "v1": pytest.approx(0.3),
                                  "v2": pytest.approx(0.45)}
    assert at["J&F"] == pytest.approx(0.75 * (0.8 / 3) + 0.25 * 0.6)
    dm = fig6_point([0.5, 0.3, 0.45], 0.25)
    g = experiments.policy_gap(dm, curve)
    assert g.mean == pytest.approx(dm["J&F"] - at["J&F"])
    assert (g.n, g.n_better) == (3, 1)
    with pytest.raises(ValueError):                 # no extrapolation past the sweep
        experiments.policy_gap(fig6_point([0.5] * 3, 0.0), curve[:1])


def test_random_assignment_point_is_the_mean_of_its_seeds():
    seeds = [fig6_point([0.2, 0.4, 0.6], 0.5, seed=0),
             fig6_point([0.4, 0.4, 0.2], 0.7, seed=1)]
    p = experiments._mean_point(seeds)
    assert p["br"] == pytest.approx(0.6) and p["J&F"] == pytest.approx(0.3667, abs=1e-4)
    assert p["per_sequence"] == {"v0": pytest.approx(0.3), "v1": pytest.approx(0.4),
                                 "v2": pytest.approx(0.4)}
    assert p["global"]["J&F-Mean"] == pytest.approx(p["J&F"])
