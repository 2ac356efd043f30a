"""``make demo`` prints the other trainable method's numbers when an earlier demo run left
its results, and says how to get them when not."""
import numpy as np

from vos_lib.data import DAVIS
from vos_lib.demo import earlier_runs
from vos_lib.io import write_frame, write_mask


def test_earlier_runs_scores_finished_results_and_flags_missing_ones(tmp_path):
    root = tmp_path / "root"
    m = np.zeros((8, 10), np.uint8)
    m[2:6, 2:6] = 1
    for t in range(3):
        write_frame(root / "JPEGImages" / "480p" / "s" / f"{t:05d}.jpg",
                    np.zeros((8, 10, 3), np.uint8))
        write_mask(root / "Annotations" / "480p" / "s" / f"{t:05d}.png", m)
        write_mask(tmp_path / "out" / "dipnet" / "s" / f"{t:05d}.png", m)
    (root / "ImageSets" / "2017").mkdir(parents=True)
    (root / "ImageSets" / "2017" / "val.txt").write_text("s\n")
    rows = dict(earlier_runs(root, tmp_path / "out", DAVIS(root, split="val"), "dtn"))
    assert rows["dipnet (CPU scale)"]["J-Mean"] == 1.0
    assert "dtn (CPU scale)" not in rows
    rows = dict(earlier_runs(root, tmp_path / "out", DAVIS(root, split="val"), "dipnet"))
    assert rows == {"dtn (CPU scale)": None}
