"""Tests for vos_lib.data.real: building a DAVIS-format split of real clips from frames +
per-frame masks (folders, a DAVIS-layout root, a git repository), and its input checks.
Everything runs on a few generated frames in tmp_path; nothing is downloaded."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vos_lib.baselines import RepeatFirstMask
from vos_lib.data import DAVIS, DataFormatError
from vos_lib.data import real as R
from vos_lib.eval.run import run_and_score, summarize
from vos_lib.io import PALETTE, VOID

H, W = 24, 40


def _frame(t: int) -> np.ndarray:
    rng = np.random.default_rng(t)
    return rng.integers(0, 255, (H, W, 3), dtype=np.uint8)


def _ids(t: int, n_obj: int = 1) -> np.ndarray:
    m = np.zeros((H, W), np.uint8)
    for k in range(1, n_obj + 1):
        y, x = 3 + 8 * (k - 1), 4 + t
        m[y:y + 6, x:x + 8] = k
    return m


def make_clip(root: Path, T: int = 5, *, fmt: str = "binary", n_obj: int = 1,
              frame_ext: str = ".jpg", names=None) -> tuple[Path, Path]:
    """A fake clip: ``root/frames/<name><ext>`` and ``root/masks/<name>.png``; masks are
    black-and-white 0/255 ``L`` PNGs (DAVIS 2016) or indexed ``P`` PNGs."""
    fdir, mdir = root / "frames", root / "masks"
    fdir.mkdir(parents=True)
    mdir.mkdir(parents=True)
    names = names or [f"{t:05d}" for t in range(T)]
    for t, n in enumerate(names):
        Image.fromarray(_frame(t)).save(fdir / f"{n}{frame_ext}", quality=95)
        ids = _ids(t, n_obj)
        if fmt == "binary":
            Image.fromarray((ids > 0).astype(np.uint8) * 255, mode="L").save(mdir / f"{n}.png")
        else:
            im = Image.fromarray(ids, mode="P")
            im.putpalette([0, 0, 0, 200, 10, 10, 10, 200, 10] + [0] * (256 * 3 - 9))
            im.save(mdir / f"{n}.png")
    return fdir, mdir


# -------------------------------------------------------------------------- building
def test_build_from_folders_binary_masks(tmp_path):
    fdir, mdir = make_clip(tmp_path / "src", T=5)
    dest = R.build_split([R.Clip("swan", fdir, mdir)], tmp_path / "real")
    d = DAVIS(dest, year="2017", split="val").validate()
    assert d.sequences == ["swan"]
    assert (dest / "ImageSets/2017/val.txt").read_text() == "swan\n"
    s = d.load_sequence("swan")
    assert s.frames.shape == (5, H, W, 3) and s.object_ids == (1,)
    for t in range(5):
        np.testing.assert_array_equal(s.masks[t], _ids(t))
        p = dest / "Annotations/480p/swan" / f"{t:05d}.png"
        with Image.open(p) as im:
            assert im.mode == "P"
            assert im.getpalette()[:768] == PALETTE.ravel().tolist()
        # JPEG frames are copied byte for byte (no second compression)
        assert (dest / "JPEGImages/480p/swan" / f"{t:05d}.jpg").read_bytes() == \
            (fdir / f"{t:05d}.jpg").read_bytes()
    m = json.loads((dest / R.MANIFEST).read_text())
    c = m["clips"]["swan"]
    assert (c["frames"], c["height"], c["width"], c["object_ids"]) == (5, H, W, [1])
    assert c["masks"].startswith("black-and-white")


def test_indexed_masks_keep_ids_natural_order_and_png_frames(tmp_path):
    names = ["1", "2", "10", "11"]          # natural order, renumbered 00000..00003
    fdir, mdir = make_clip(tmp_path / "src", fmt="indexed", n_obj=2, frame_ext=".png",
                           names=names)
    dest = R.build_split([R.Clip("two", fdir, mdir)], tmp_path / "real", split="test")
    s = DAVIS(dest, year="2017", split="test").load_sequence("two")
    assert s.object_ids == (1, 2)
    np.testing.assert_array_equal(s.masks[2], _ids(2, 2))        # "10" is the third frame
    np.testing.assert_array_equal(s.frames[2], _frame(2))        # PNG frames stay lossless
    assert sorted(p.name for p in (dest / "JPEGImages/480p/two").iterdir()) == \
        [f"{t:05d}.png" for t in range(4)]


def test_max_frames_and_repeat_build_is_kept(tmp_path):
    fdir, mdir = make_clip(tmp_path / "src", T=6)
    clips = [R.Clip("a", fdir, mdir)]
    dest = R.build_split(clips, tmp_path / "real", max_frames=3)
    assert DAVIS(dest, split="val").num_frames("a") == 3
    stamp = (dest / R.MANIFEST).stat().st_mtime_ns
    assert R.build_split(clips, tmp_path / "real", max_frames=3) == dest   # same: kept
    assert (dest / R.MANIFEST).stat().st_mtime_ns == stamp
    with pytest.raises(DataFormatError, match="exists and holds another split"):
        R.build_split(clips, tmp_path / "real")                          # different
    R.build_split(clips, tmp_path / "real", overwrite=True)
    assert DAVIS(dest, split="val").num_frames("a") == 6
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".real")]   # no leftovers


def test_build_from_davis_root(tmp_path):
    root = tmp_path / "DAVIS"
    for seq in ("s1", "s2"):
        f, m = make_clip(tmp_path / "tmp" / seq, T=4)
        shutil.copytree(f, root / "JPEGImages/480p" / seq)
        shutil.copytree(m, root / "Annotations/480p" / seq)
    dest = R.build_from_davis(root, ["s2", "s1"], tmp_path / "real")
    assert DAVIS(dest, split="val").sequences == ["s2", "s1"]


def test_build_from_git_repository(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    work = tmp_path / "repo"
    f, m = make_clip(tmp_path / "tmp", T=4)
    shutil.copytree(f, work / "DAVIS/JPEGImages/480p/clip")
    shutil.copytree(m, work / "DAVIS/Annotations/480p/clip")

    def git(*a, cwd=work):
        return subprocess.run(["git", *a], cwd=cwd, check=True, capture_output=True,
                              text=True).stdout.strip()
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "clip")
    commit = git("rev-parse", "HEAD")
    git("clone", "-q", "--bare", str(work), str(tmp_path / "mirror.git"), cwd=tmp_path)
    src = R.GitSource(repo="someone/clips", commit=commit, frames="DAVIS/JPEGImages/480p/{seq}",
                      masks="DAVIS/Annotations/480p/{seq}", licence="test data")
    for path in (work, tmp_path / "mirror.git"):           # a checkout and a bare mirror
        dest = R.build_from_git(path, ["clip"], tmp_path / f"real-{path.name}", source=src)
        s = DAVIS(dest, split="val").load_sequence("clip")
        np.testing.assert_array_equal(s.masks[3], _ids(3))
        m = json.loads((dest / R.MANIFEST).read_text())
        assert m["source"]["repo"] == "someone/clips" and m["source"]["commit"] == commit
        assert m["clips"]["clip"]["source"]["frames"] == "DAVIS/JPEGImages/480p/clip"
    with pytest.raises(DataFormatError, match="no such folder"):
        R.build_from_git(work, ["nope"], tmp_path / "x", source=src)
    with pytest.raises(DataFormatError, match="has no commit"):
        R.build_from_git(work, ["clip"], tmp_path / "x", source=src, rev="0" * 40)
    with pytest.raises(DataFormatError, match="not a git repository"):
        R.build_from_git(tmp_path / "tmp", ["clip"], tmp_path / "x", source=src)


def test_command_line(tmp_path, capsys):
    fdir, mdir = make_clip(tmp_path / "src", T=3)
    assert R.main(["--frames", str(fdir), "--masks", str(mdir), "--name", "cli",
                   "--dest", str(tmp_path / "real")]) == 0
    assert "cli" in capsys.readouterr().out
    (mdir / "00001.png").unlink()
    assert R.main(["--frames", str(fdir), "--masks", str(mdir), "--name", "cli",
                   "--dest", str(tmp_path / "real2")]) == 2
    assert "00001.png" in capsys.readouterr().err


def test_scored_with_run_and_score(tmp_path):
    """The built split goes through the library's own segment-and-score path."""
    fdir, mdir = make_clip(tmp_path / "src", T=6)
    dest = R.build_split([R.Clip("a", fdir, mdir), R.Clip("b", fdir, mdir)], tmp_path / "real")
    s = summarize(run_and_score(RepeatFirstMask(), dest, tmp_path / "res", progress=False))
    assert set(s["per_sequence"]) == {"a", "b"}
    assert 0 < s["global"]["J-Mean"] < 1            # the object moves: repeating it loses


# ---------------------------------------------------------------------------- errors
def _err(tmp_path, **kw) -> str:
    with pytest.raises(DataFormatError) as e:
        R.build_split([R.Clip(kw.pop("name", "s"), kw.pop("frames"), kw.pop("masks"))],
                      tmp_path / "real", **kw)
    assert not (tmp_path / "real").exists()          # nothing written on failure
    return str(e.value)


def test_mismatched_counts(tmp_path):
    fdir, mdir = make_clip(tmp_path / "src", T=5)
    (mdir / "00003.png").unlink()
    msg = _err(tmp_path, frames=fdir, masks=mdir)
    assert str(mdir) in msg and "4 masks for 5 frames" in msg and "00003.png" in msg


def test_first_frame_only_masks_are_refused(tmp_path):
    fdir, mdir = make_clip(tmp_path / "src", T=4)
    for t in (1, 2, 3):
        (mdir / f"{t:05d}.png").unlink()
    assert "only the first frame is annotated" in _err(tmp_path, frames=fdir, masks=mdir)


def test_mask_without_frame(tmp_path):
    fdir, mdir = make_clip(tmp_path / "src", T=3)
    shutil.copy(mdir / "00000.png", mdir / "00007.png")
    msg = _err(tmp_path, frames=fdir, masks=mdir)
    assert "00007.png" in msg and "has no frame" in msg


def test_size_mismatches(tmp_path):
    fdir, mdir = make_clip(tmp_path / "src", T=3)
    Image.fromarray(np.zeros((H, W + 2), np.uint8), mode="L").save(mdir / "00002.png")
    msg = _err(tmp_path, frames=fdir, masks=mdir)
    assert "00002.png" in msg and f"{W + 2}x{H}" in msg and "does not match" in msg
    fdir, mdir = make_clip(tmp_path / "src2", T=3)
    Image.fromarray(np.zeros((H + 4, W, 3), np.uint8)).save(fdir / "00001.jpg")
    msg = _err(tmp_path, frames=fdir, masks=mdir)
    assert "00001.jpg" in msg and "differs from the first frame" in msg


def test_non_indexed_masks_are_refused(tmp_path):
    fdir, mdir = make_clip(tmp_path / "src", T=3)
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[2:6, 2:6] = (128, 0, 0)
    Image.fromarray(rgb).save(mdir / "00001.png")
    msg = _err(tmp_path, frames=fdir, masks=mdir)
    assert "00001.png" in msg and "not indexed" in msg and "'RGB'" in msg


def test_grey_levels_and_lossy_masks_are_refused(tmp_path):
    fdir, mdir = make_clip(tmp_path / "src", T=3)
    g = np.zeros((H, W), np.uint8)
    g[2:6, 2:6], g[6, 2:6] = 255, 128               # an antialiased edge
    Image.fromarray(g, mode="L").save(mdir / "00002.png")
    msg = _err(tmp_path, frames=fdir, masks=mdir)
    assert "00002.png" in msg and "[128]" in msg
    # grey-level ids (0/1) are refused as binary masks, read with gray="ids"
    for t in range(3):
        Image.fromarray(_ids(t), mode="L").save(mdir / f"{t:05d}.png")
    assert "values [1] besides 0 and 255" in _err(tmp_path, frames=fdir, masks=mdir)
    dest = R.build_split([R.Clip("s", fdir, mdir)], tmp_path / "ok", gray="ids")
    np.testing.assert_array_equal(DAVIS(dest, split="val").read_mask("s", 2), _ids(2))
    fdir, mdir = make_clip(tmp_path / "src2", T=3)
    (mdir / "00001.png").unlink()
    Image.fromarray(np.zeros((H, W), np.uint8)).save(mdir / "00001.jpg", format="JPEG")
    msg = _err(tmp_path, frames=fdir, masks=mdir)
    assert "00001.jpg" in msg and "must be a PNG" in msg


def test_empty_first_mask_bad_names_and_missing_folders(tmp_path):
    fdir, mdir = make_clip(tmp_path / "src", T=3)
    Image.fromarray(np.zeros((H, W), np.uint8), mode="L").save(mdir / "00000.png")
    assert "holds no object" in _err(tmp_path, frames=fdir, masks=mdir)
    assert "not a usable sequence name" in _err(tmp_path, name="a/b", frames=fdir, masks=mdir)
    assert "does not exist" in _err(tmp_path, frames=tmp_path / "nope", masks=mdir)
    assert "masks folder" in _err(tmp_path, frames=fdir, masks=tmp_path / "nope")
    with pytest.raises(DataFormatError, match="given twice"):
        R.build_split([R.Clip("x", fdir, mdir), R.Clip("x", fdir, mdir)], tmp_path / "r")


def test_read_gt_mask_rules(tmp_path):
    p = tmp_path / "m.png"
    Image.fromarray(np.array([[0, 255]], np.uint8), mode="L").save(p)
    ids, rule = R.read_gt_mask(p)
    assert ids.tolist() == [[0, 1]] and "black-and-white" in rule
    im = Image.fromarray(np.array([[0, 3, VOID]], np.uint8), mode="P")
    im.putpalette(PALETTE.ravel().tolist())
    im.save(p)
    assert R.read_gt_mask(p)[0].tolist() == [[0, 3, VOID]]      # ids and void kept
    with pytest.raises(DataFormatError, match="does not exist"):
        R.read_gt_mask(tmp_path / "none.png")


def test_default_source_is_recorded():
    assert R.EOR_VOS.repo == "MathLee/EOR-VOS" and len(R.EOR_VOS.commit) == 40
    assert "CC BY-NC 4.0" in R.EOR_VOS.licence
    assert set(R.DEFAULT_SEQUENCES) <= {"blackswan", "car-shadow", "libby", "camel", "cows",
                                        "dog", "goat", "horsejump-high", "kite-surf",
                                        "scooter-black", "soapbox", "bmx-trees",
                                        "car-roundabout", "dance-twirl",
                                        "paragliding-launch"}   # no YouTube clip
    assert R.real_root().name == "real"
