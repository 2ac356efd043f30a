"""Chapter 11's helpers (vos_lib/viz/dipnet/ablations.py), on small hand-made inputs."""
import matplotlib
matplotlib.use("Agg")
import numpy as np
import pytest

from vos_lib import viz


def test_jf_over_time_bins_frames_by_normalised_time():
    # a 12-frame video (10 scored frames, t = 1..10 at t / 11), two objects
    J = np.array([np.arange(1, 11) / 10, np.zeros(10)])
    F = J.copy()
    x, s, videos = viz.jf_over_time({"v": {"J": J, "F": F}}, bins=2)
    assert videos == ["v"] and np.allclose(x, [0.25, 0.75])
    # frames 1..5 (u <= 5/11 < 0.5) in bin 0, 6..10 in bin 1; mean over the 2 objects
    assert np.allclose(s[0], [np.mean(np.arange(1, 6) / 10) / 2,
                              np.mean(np.arange(6, 11) / 10) / 2])


def test_jf_over_time_leaves_empty_bins_nan():
    x, s, _ = viz.jf_over_time({"v": {"J": np.ones((1, 2)), "F": np.ones((1, 2))}},
                               bins=10)
    assert np.isfinite(s).sum() == 2 and np.nanmax(s) == 1.0


def test_identity_skip_share_counts_updates_per_object():
    summary = {"info": {"a": {"identity_skips_sum": 19.0},
                        "b": {"identity_skips_sum": 0.0}}}
    # a: 2 objects x (12 - 2) updates, b: 1 x (12 - 2)
    assert viz.identity_skip_share(summary, {"a": (2, 12), "b": (1, 12)}) == \
        pytest.approx(19 / 30)


def test_lost_from_gives_the_frame_after_the_last_appearance():
    m = np.zeros((6, 2, 2), np.uint8)
    m[0] = [[1, 2], [0, 0]]          # the given frame has both objects
    m[1:3, 0, 0] = 1                 # object 1 until frame 2
    m[1:, 0, 1] = 2                  # object 2 to the end
    assert viz.lost_from(m, 3) == [3, 6, 1]     # object 3 never appears


def test_plot_omega_sweep_and_over_time_return_figures():
    per = {w: {"a": 0.5 - w / 4, "b": 0.3} for w in (0.0, 0.5, 1.0)}
    fig = viz.plot_omega_sweep(per, {w: np.mean(list(v.values())) for w, v in per.items()},
                               {0.0: 0.1, 0.5: 0.5, 1.0: 0.6}, ref=1.0,
                               noise={0.0: 0.05, 0.5: 0.01, 1.0: 0.0})
    assert len(fig.axes) == 2
    ax = viz.plot_over_time({"m": (np.array([0.25, 0.75]), np.array([[1, .5], [.8, .4]]))})
    assert ax.get_ylabel() == "J&F"
