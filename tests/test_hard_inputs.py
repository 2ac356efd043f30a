"""Awkward inputs of the command-line tools, the way real users make them.

Every test builds its input in a temporary folder and runs the real entry point
(``vos_lib.__main__.main`` or ``vos_lib.eval.evaluate.main``): either the output is what
the user meant, or the command stops with one line naming the file and the problem.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from vos_lib.__main__ import main
from vos_lib.io import read_mask, write_frame, write_mask

H, W = 60, 96


def frame(t, h=H, w=W):
    """A frame whose content encodes its index t (a bright square moving right)."""
    f = np.full((h, w, 3), 40, np.uint8)
    f[20:40, 4 + 8 * t:24 + 8 * t] = 220
    return f


def first_ids(h=H, w=W):
    m = np.zeros((h, w), np.uint8)
    m[10:30, 10:40] = 1
    m[35:55, 50:90] = 2
    return m


def segment(tmp_path, frames, mask, out=None, *extra):
    out = out or tmp_path / "out"
    main(["segment", "--method", "first", "--frames", str(frames), "--mask", str(mask),
          "--out", str(out), *extra])
    return out, json.loads((out / "report.json").read_text())


def fails(argv, capsys=None) -> str:
    with pytest.raises(SystemExit) as e:
        main(argv)
    msg = str(e.value.code)
    assert msg.startswith("error: ") and "Traceback" not in msg
    return msg


def make_frames(root, names, ext=".jpg"):
    root.mkdir(parents=True, exist_ok=True)
    for t, n in enumerate(names):
        write_frame(root / f"{n}{ext}", frame(t))
    return root


# ------------------------------------------------------------------------- frame order
def test_frames_in_natural_order_and_recorded(tmp_path):
    frames = make_frames(tmp_path / "f", ["1", "2", "10", "11", "3"])
    write_mask(tmp_path / "m.png", first_ids())
    out, rep = segment(tmp_path, frames, tmp_path / "m.png")
    assert rep["frames"] == ["1", "2", "3", "10", "11"]
    assert rep["frame_order"].startswith("natural")
    assert sorted(p.name for p in out.glob("*.png")) == ["1.png", "10.png", "11.png", "2.png",
                                                         "3.png"]


# ------------------------------------------------------------------------ first masks
def test_binary_0_255_mask_is_object_1(tmp_path, capsys):
    frames = make_frames(tmp_path / "f", ["00000", "00001"])
    Image.fromarray((first_ids() > 0).astype(np.uint8) * 255, mode="L").save(tmp_path / "m.png")
    out, rep = segment(tmp_path, frames, tmp_path / "m.png")
    assert rep["object_ids"] == [1]
    assert set(np.unique(read_mask(out / "00001.png"))) == {0, 1}
    said = capsys.readouterr().out
    assert "black-and-white" in said and "object 1" in said


def test_jpeg_mask_is_not_dozens_of_objects(tmp_path, capsys):
    frames = make_frames(tmp_path / "f", ["00000", "00001"])
    bw = (first_ids() > 0).astype(np.uint8) * 255
    Image.fromarray(bw, mode="L").save(tmp_path / "m.jpg", quality=60)
    out, rep = segment(tmp_path, frames, tmp_path / "m.jpg")
    assert rep["object_ids"] == [1]
    got = read_mask(out / "00001.png") == 1
    assert abs(int(got.sum()) - int((bw > 0).sum())) < 0.05 * (bw > 0).sum()
    # a colour JPEG in DAVIS colours: ids 1 and 2 come back, compression noise does not
    from vos_lib.io import colorize
    Image.fromarray(colorize(first_ids())).save(tmp_path / "c.jpg", quality=70)
    out, rep = segment(tmp_path, frames, tmp_path / "c.jpg", tmp_path / "out2")
    assert rep["object_ids"] == [1, 2]
    assert set(np.unique(read_mask(out / "00000.png"))) == {0, 1, 2}


def test_antialiased_mask_edges_are_not_objects(tmp_path, capsys):
    frames = make_frames(tmp_path / "f", ["00000", "00001"], ext=".png")
    big = first_ids() * 3                                             # ids 3 and 6
    soft = Image.fromarray(big, mode="L").resize((W // 2, H // 2), Image.BILINEAR)
    soft = soft.resize((W, H), Image.BILINEAR)       # 1, 2, 4, 5 appear on the edges
    assert len(np.unique(np.array(soft))) > 3
    soft.save(tmp_path / "m.png")
    out, rep = segment(tmp_path, frames, tmp_path / "m.png")
    assert rep["object_ids"] == [3, 6]
    assert rep["first_mask"]["dropped"]            # what was dropped is reported ...
    said = capsys.readouterr().out
    assert "ignored ids" in said and "antialiasing" in said   # ... and said


def test_empty_or_tiny_mask_is_refused_with_what_was_seen(tmp_path):
    frames = make_frames(tmp_path / "f", ["00000", "00001"])
    m = np.zeros((H, W), np.uint8)
    m[5, 5] = 3
    Image.fromarray(m, mode="L").save(tmp_path / "tiny.png")
    msg = fails(["segment", "--method", "first", "--frames", str(frames),
                 "--mask", str(tmp_path / "tiny.png"), "--out", str(tmp_path / "o")])
    assert "tiny.png" in msg and "no object" in msg and "[3]" in msg


# ---------------------------------------------------------------------- output folder
def test_output_holds_exactly_one_run(tmp_path):
    write_mask(tmp_path / "m.png", first_ids())
    out, _ = segment(tmp_path, make_frames(tmp_path / "a", ["a0", "a1", "a2"]), tmp_path / "m.png")
    out, rep = segment(tmp_path, make_frames(tmp_path / "b", ["b0", "b1"]), tmp_path / "m.png")
    assert sorted(p.name for p in out.iterdir()) == ["b0.png", "b1.png", "overlay.gif",
                                                     "report.json"]
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name or ".old-" in p.name]


def test_out_inside_frames_or_foreign_or_a_file_is_refused_before_computing(tmp_path):
    frames = make_frames(tmp_path / "f", ["00000", "00001"])
    write_mask(tmp_path / "m.png", first_ids())
    base = ["segment", "--method", "first", "--frames", str(frames), "--mask",
            str(tmp_path / "m.png"), "--out"]
    assert "inside the frames folder" in fails(base + [str(frames)])
    assert "inside the frames folder" in fails(base + [str(frames / "masks")])
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    assert "no segment run wrote" in fails(base + [str(tmp_path / "mine")])
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    (tmp_path / "file.txt").write_text("x")
    assert "is a file" in fails(base + [str(tmp_path / "file.txt")])


def test_unwritable_out_is_refused_before_computing(tmp_path, monkeypatch):
    frames = make_frames(tmp_path / "f", ["00000", "00001"])
    write_mask(tmp_path / "m.png", first_ids())
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, m: False if m == os.W_OK else real(p, m))
    msg = fails(["segment", "--method", "first", "--frames", str(frames), "--mask",
                 str(tmp_path / "m.png"), "--out", str(tmp_path / "o")])
    assert "not writable" in msg


def test_interrupted_run_leaves_nothing_that_looks_complete(tmp_path, monkeypatch):
    frames = make_frames(tmp_path / "f", ["00000", "00001", "00002"])
    write_mask(tmp_path / "m.png", first_ids())
    out, _ = segment(tmp_path, frames, tmp_path / "m.png")          # a finished run
    before = sorted(p.name for p in out.iterdir())
    import vos_lib.segment as seg

    def ctrl_c(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(seg, "save_gif", ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        segment(tmp_path, frames, tmp_path / "m.png")
    assert sorted(p.name for p in out.iterdir()) == before           # the old run, whole
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    with pytest.raises(KeyboardInterrupt):
        segment(tmp_path, frames, tmp_path / "m.png", tmp_path / "new")
    assert not (tmp_path / "new").exists()


# ----------------------------------------------------------------- frames folder mess
def test_hidden_files_and_two_formats_do_not_stop_a_run(tmp_path, capsys):
    frames = make_frames(tmp_path / "f", ["00000", "00001", "00002"])
    (frames / ".DS_Store").write_bytes(b"\x00\x01junk")
    (frames / "._00001.jpg").write_bytes(b"AppleDouble junk, not a JPEG")
    write_frame(frames / "00001.png", frame(1))                       # same stem, 2nd format
    write_mask(tmp_path / "m.png", first_ids())
    out, rep = segment(tmp_path, frames, tmp_path / "m.png")
    assert rep["frames"] == ["00000", "00001", "00002"]
    notes = " ".join(rep["input_notes"])
    assert "hidden" in notes and "two formats" in notes


def test_long_frame_names(tmp_path):
    stem = "f" * 240
    frames = make_frames(tmp_path / "f", [stem + "0", stem + "1"])
    write_mask(tmp_path / "m.png", first_ids())
    out, rep = segment(tmp_path, frames, tmp_path / "m.png")
    assert (out / f"{stem}1.png").is_file()


def test_video_files_are_read_frame_by_frame(tmp_path):
    write_mask(tmp_path / "m.png", first_ids())
    imgs = [Image.fromarray(frame(t)) for t in range(4)]
    imgs[0].save(tmp_path / "v.gif", save_all=True, append_images=imgs[1:], duration=100)
    out, rep = segment(tmp_path, tmp_path / "v.gif", tmp_path / "m.png")
    assert rep["n_frames"] == 4 and rep["frames"][:2] == ["00000", "00001"]
    import cv2
    vw = cv2.VideoWriter(str(tmp_path / "v.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10, (W, H))
    if not vw.isOpened():
        pytest.skip("this OpenCV build cannot write mp4")
    for t in range(5):
        vw.write(frame(t)[:, :, ::-1])
    vw.release()
    out, rep = segment(tmp_path, tmp_path / "v.mp4", tmp_path / "m.png", tmp_path / "o2")
    assert rep["n_frames"] == 5 and rep["frame_size"] == [H, W]
    (tmp_path / "bad.mp4").write_bytes(b"not a video")
    assert "ffmpeg" in fails(["segment", "--method", "first", "--frames",
                              str(tmp_path / "bad.mp4"), "--mask", str(tmp_path / "m.png"),
                              "--out", str(tmp_path / "o3")])


# ------------------------------------------------------------ devices and checkpoints
@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_gpu_is_one_line(tmp_path):
    frames = make_frames(tmp_path / "f", ["00000", "00001"])
    write_mask(tmp_path / "m.png", first_ids())
    msg = fails(["segment", "--method", "first", "--device", "cuda", "--frames", str(frames),
                 "--mask", str(tmp_path / "m.png"), "--out", str(tmp_path / "o")])
    assert "CUDA is not available" in msg and not (tmp_path / "o").exists()
    msg = fails(["train", "--method", "dtn", "--device", "cuda", "--data", str(tmp_path)])
    assert "CUDA is not available" in msg


@pytest.mark.parametrize("content", [b"", b"\x93random bytes" * 20, "foreign"])
def test_corrupt_or_foreign_checkpoint(tmp_path, content):
    frames = make_frames(tmp_path / "f", ["00000", "00001"])
    write_mask(tmp_path / "m.png", first_ids())
    ck = tmp_path / "model.pt"
    if content == "foreign":
        torch.save({"state_dict": {"w": torch.zeros(2)}}, ck)
    else:
        ck.write_bytes(content)
    msg = fails(["segment", "--method", "dtn", "--checkpoint", str(ck), "--frames", str(frames),
                 "--mask", str(tmp_path / "m.png"), "--out", str(tmp_path / "o")])
    assert "model.pt" in msg and "checkpoint" in msg


# ----------------------------------------------------------------------------- train
def _davis_without_flow(root):
    for split, names in (("train", ["a", "b"]), ("val", ["c"])):
        for n in names:
            for t in range(3):
                write_frame(root / "JPEGImages/480p" / n / f"{t:05d}.jpg", frame(t))
                write_mask(root / "Annotations/480p" / n / f"{t:05d}.png", first_ids())
        (root / "ImageSets/2017").mkdir(parents=True, exist_ok=True)
        (root / "ImageSets/2017" / f"{split}.txt").write_text("\n".join(names) + "\n")
    return root


def test_train_refuses_a_flow_stage_that_cannot_learn(tmp_path):
    root = _davis_without_flow(tmp_path / "davis")
    msg = fails(["train", "--method", "dtn", "--preset", "cpu", "--data", str(root),
                 "--out", str(tmp_path / "ck"), "--device", "cpu"])
    assert "no ground-truth optical flow" in msg and "--preset paper" in msg
    assert not list((tmp_path / "ck").glob("*.pt")) if (tmp_path / "ck").exists() else True


def test_train_paper_without_data(tmp_path):
    msg = fails(["train", "--method", "dtn", "--preset", "paper", "--device", "cpu"])
    assert "--data is required" in msg


# -------------------------------------------------------------------------- evaluate
def test_evaluate_into_unwritable_results_suggests_no_write(tmp_path, monkeypatch, capsys):
    root = _davis_without_flow(tmp_path / "davis")
    res = tmp_path / "res"
    for t in range(3):
        write_mask(res / "c" / f"{t:05d}.png", first_ids())
    import vos_lib.eval.evaluate as ev

    def denied(path, data):
        raise PermissionError(13, "Permission denied", str(path))
    monkeypatch.setattr(ev, "atomic_write_bytes", denied)
    rc = ev.main(["--davis-root", str(root), "--results", str(res), "--set", "val"])
    err = capsys.readouterr().err
    assert rc != 0 and "--no-write" in err and "res" in err
    assert ev.main(["--davis-root", str(root), "--results", str(res), "--set", "val",
                    "--no-write"]) == 0


def test_cli_errors_are_one_line_in_a_real_process(tmp_path):
    (tmp_path / "x.mp4").write_bytes(b"")
    write_mask(tmp_path / "m.png", first_ids())
    r = subprocess.run([sys.executable, "-m", "vos_lib", "segment", "--method", "first",
                        "--frames", str(tmp_path / "x.mp4"), "--mask", str(tmp_path / "m.png"),
                        "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert r.stderr.strip().count("\n") == 0 and "x.mp4" in r.stderr
