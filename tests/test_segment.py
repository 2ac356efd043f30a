"""The `segment` command: outputs at the input size, ids only from the first mask, errors."""
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from vos_lib.io import PALETTE, DataFormatError, write_frame, write_mask
from vos_lib.core.segmenter import from_consecutive, to_consecutive
from vos_lib.segment import load_inputs, run_segment


def make_video(root, n=4, h=480, w=854, ids=(2, 5)):
    frames = root / "frames"
    rng = np.random.default_rng(0)
    for t in range(n):
        write_frame(frames / f"{t:05d}.jpg", rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
    mask = np.zeros((h, w), np.uint8)
    mask[h // 5:h * 2 // 5, w // 8:w * 3 // 8] = ids[0]
    mask[h // 2:h * 4 // 5, w * 5 // 8:w * 7 // 8] = ids[1]
    mask[0:5, 0:5] = 255
    write_mask(root / "first.png", mask)
    return frames, root / "first.png", mask


def test_consecutive_ids_roundtrip():
    m = np.array([[0, 3, 7], [255, 7, 0]], np.uint8)
    c, ids = to_consecutive(m)
    assert ids == [3, 7]
    assert c.tolist() == [[0, 1, 2], [0, 2, 0]]
    assert from_consecutive(c, ids).tolist() == [[0, 3, 7], [0, 7, 0]]
    with pytest.raises(ValueError, match="unknown object ids"):
        from_consecutive(np.array([[3]], np.uint8), ids)


def test_segment_cli_writes_every_frame_at_input_size(tmp_path):
    frames, mask_path, mask = make_video(tmp_path)
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "vos_lib", "segment", "--method", "first",
                        "--frames", str(frames), "--mask", str(mask_path), "--out", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    for t in range(4):
        im = Image.open(out / f"{t:05d}.png")
        assert im.mode == "P" and im.size == (854, 480)
        assert np.array_equal(np.array(im.getpalette()[:768], np.uint8).reshape(-1, 3)[:8], PALETTE[:8])
        assert set(np.unique(np.array(im))) <= {0, 2, 5}
    assert (out / "overlay.gif").is_file()
    rep = json.loads((out / "report.json").read_text())
    assert rep["n_frames"] == 4 and rep["frame_size"] == [480, 854] and rep["object_ids"] == [2, 5]


def test_bad_inputs_give_clear_errors(tmp_path):
    frames, mask_path, mask = make_video(tmp_path, n=2, h=40, w=60)
    rgb = tmp_path / "rgb.png"
    Image.fromarray(np.zeros((40, 60, 3), np.uint8)).save(rgb)
    with pytest.raises(DataFormatError, match="rgb.png.*empty"):
        load_inputs(frames, rgb)
    small = tmp_path / "small.png"
    write_mask(small, np.ones((20, 30), np.uint8))
    with pytest.raises(DataFormatError, match="small.png.*does not match"):
        load_inputs(frames, small)
    empty = tmp_path / "empty.png"
    write_mask(empty, np.zeros((40, 60), np.uint8))
    with pytest.raises(DataFormatError, match="empty.png.*empty"):
        load_inputs(frames, empty)
    with pytest.raises(DataFormatError, match="does not exist"):
        load_inputs(tmp_path / "nope", mask_path)
    (tmp_path / "none").mkdir()
    with pytest.raises(DataFormatError, match="no frames"):
        load_inputs(tmp_path / "none", mask_path)
    from vos_lib.io import UsageError
    with pytest.raises(UsageError, match="unknown method 'nosuch'; choose one of"):
        run_segment("nosuch", frames, mask_path, tmp_path / "o")


def test_cli_reports_errors_without_traceback(tmp_path):
    frames, _, _ = make_video(tmp_path, n=2, h=40, w=60)
    empty = tmp_path / "empty.png"
    write_mask(empty, np.zeros((40, 60), np.uint8))
    r = subprocess.run([sys.executable, "-m", "vos_lib", "segment", "--method", "first",
                        "--frames", str(frames), "--mask", str(empty), "--out", str(tmp_path / "o")],
                       capture_output=True, text=True)
    assert r.returncode != 0
    assert "empty.png" in r.stderr and "Traceback" not in r.stderr
