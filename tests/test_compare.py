"""The book's comparisons (vos_lib.eval.compare): the gap of two cached results is the
difference of their global scores with the SE of the paired per-video differences, and
a paper's effect with a sign but no number only carries its sign into the verdict."""
import numpy as np
import pytest

from vos_lib.eval.compare import (DIRECTION, global_gap, paired_gap, per_video,
                                  verdict)

VIDEOS = ["v0", "v1", "v2", "v3"]


def result(per, glob=None, per_j=None, name="r"):
    """A cached-result look-alike; the global J&F defaults to the mean per video."""
    out = {"name": name, "per_sequence": dict(zip(VIDEOS, per)),
           "global": {"J&F-Mean": float(np.mean(per)) if glob is None else glob,
                      "J-Mean": 0.0}}
    if per_j is not None:
        out["per_sequence_J"] = dict(zip(VIDEOS, per_j))
        out["global"]["J-Mean"] = float(np.mean(per_j))
    return out


def test_global_gap_is_the_global_difference_with_the_paired_se():
    a = result([0.5, 0.6, 0.2, 0.9], glob=0.60)    # global: the mean over objects
    b = result([0.4, 0.6, 0.3, 0.5], glob=0.40)
    pair = paired_gap(a["per_sequence"], b["per_sequence"], 100)
    g = global_gap(a, b, scale=100)
    assert g.mean == pytest.approx(20.0) and g.mean != pytest.approx(pair.mean)
    assert (g.se, g.n, g.n_better) == (pair.se, 4, 2)
    # on a subset of the videos: the mean of their per-video differences
    s = global_gap(a, b, sequences=["v0", "v3"])
    assert s.n == 2 and s.mean == pytest.approx((0.1 + 0.4) / 2)


def test_global_gap_in_j_reads_the_per_video_j():
    a = result([0.5] * 4, per_j=[0.4, 0.5, 0.6, 0.7])
    b = result([0.5] * 4, per_j=[0.4, 0.4, 0.4, 0.5])
    assert per_video(a, "J") == dict(zip(VIDEOS, [0.4, 0.5, 0.6, 0.7]))
    g = global_gap(a, b, "J")
    assert g.mean == pytest.approx(0.55 - 0.425) and g.n_better == 3
    assert global_gap(a, b).mean == pytest.approx(0.0)      # J&F: no difference
    with pytest.raises(ValueError):
        per_video(a, "F")


def test_a_direction_only_carries_its_sign():
    tie = paired_gap({"v1": 1.0, "v2": 0.0}, {"v1": 0.0, "v2": 1.0})
    up = paired_gap({"v1": 0.3, "v2": 0.5}, {"v1": 0.0, "v2": 0.0})
    assert 0 < DIRECTION < 1e-6
    assert verdict(up, DIRECTION) == "reproduces"
    assert verdict(up, -DIRECTION) == "does not reproduce"
    assert verdict(tie, DIRECTION) in ("same sign, within noise", "not measurable here")
    below = paired_gap({"v1": -0.1, "v2": 0.05}, {"v1": 0.0, "v2": 0.0})
    assert verdict(below, DIRECTION) == "not measurable here"
