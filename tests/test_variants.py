"""The derived copies of Table 6's settings (vos_lib.data.variants) and the prepare job
list that computes them."""
import numpy as np
import pytest

from vos_lib.data import DAVIS
from vos_lib.data.variants import derived_split, relabel
from vos_lib.io import VOID, read_mask, write_frame, write_mask


def test_relabel_merges_or_keeps_one_object_and_keeps_void():
    m = np.array([[0, 1, 2], [3, VOID, 2]], np.uint8)
    assert relabel(m, "foreground").tolist() == [[0, 1, 1], [1, VOID, 1]]
    assert relabel(m, "single").tolist() == [[0, 1, 0], [0, VOID, 0]]
    with pytest.raises(ValueError, match="unknown kind"):
        relabel(m, "instances")


def _fake_root(root, seqs=("a", "b"), T=3):
    for s in seqs:
        for t in range(T):
            write_frame(root / "JPEGImages" / "480p" / s / f"{t:05d}.jpg",
                        np.full((8, 10, 3), 10 * t, np.uint8))
            m = np.zeros((8, 10), np.uint8)
            m[1:3, 1:3], m[4:6, 5:8] = 1, 2
            write_mask(root / "Annotations" / "480p" / s / f"{t:05d}.png", m)
    (root / "ImageSets" / "2017").mkdir(parents=True)
    (root / "ImageSets" / "2017" / "val.txt").write_text("\n".join(seqs) + "\n")
    return root


def test_derived_split_is_a_readable_davis_root_with_relabelled_masks(tmp_path):
    src = _fake_root(tmp_path / "src")
    dst = derived_split(src, tmp_path / "fg", "foreground", ["b"])
    d = DAVIS(dst, split="val")
    assert d.sequences == ["b"]
    s = d.load_sequence("b", load_flows=False)
    assert s.frames.shape == (3, 8, 10, 3)
    assert sorted(np.unique(s.masks).tolist()) == [0, 1]
    assert (s.masks[0] == 1).sum() == 4 + 6            # both objects now one
    one = derived_split(src, tmp_path / "one", "single", ["a", "b"])
    m = read_mask(one / "Annotations" / "480p" / "a" / "00002.png")
    assert (m == 1).sum() == 4 and m.max() == 1
    # asked again: the same folder, not rewritten
    stamp = (one / "ImageSets" / "2017" / "val.txt").stat().st_mtime_ns
    assert derived_split(src, tmp_path / "one", "single", ["a", "b"]) == one
    assert (one / "ImageSets" / "2017" / "val.txt").stat().st_mtime_ns == stamp


def test_derived_split_names_a_missing_sequence(tmp_path):
    src = _fake_root(tmp_path / "src")
    with pytest.raises(FileNotFoundError, match="'zz'"):
        derived_split(src, tmp_path / "x", "single", ["zz"])


def test_prepare_runs_every_job_of_both_methods_and_the_comparison():
    from vos_lib import experiments as both
    from vos_lib.dipnet import experiments as dip
    from vos_lib.dtn import experiments as dtn
    from vos_lib.prepare import _jobs
    jobs = _jobs()
    assert len(jobs) == len(dtn.PREPARE_JOBS) + len(dip.PREPARE_JOBS) + 1
    assert (both.prepare_job, 0) in jobs and jobs[-1] == (dip.prepare_job, 5)
    assert {j for f, j in jobs if f is dip.prepare_job} == set(range(len(dip.PREPARE_JOBS)))


def test_replace_dir_swaps_a_finished_folder_into_place(tmp_path):
    from vos_lib.io import replace_dir
    dest = tmp_path / "out"
    for k in range(2):                      # first into an empty place, then over it
        tmp = tmp_path / f".tmp{k}"
        tmp.mkdir()
        (tmp / f"{k}.txt").write_text(str(k))
        replace_dir(tmp, dest)
        assert sorted(p.name for p in dest.iterdir()) == [f"{k}.txt"]
        assert not tmp.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]   # no .old-* left
