"""Scores grouped by the synthetic generator's event types (vos_lib.eval.events), on a
tiny hand-made video whose windows and scores are worked out by hand."""
import json

import numpy as np
import pytest

from vos_lib.eval.compare import paired_gap
from vos_lib.eval.events import (EVENT_TYPES, HARD_EVENTS, NO_EVENT, event_frames,
                                 event_scores, event_split, event_table,
                                 frames_with_events, hidden_frames, per_frame_scores)
from vos_lib.io import write_mask

T = 8
NAN = np.nan


def tiny_meta():
    """Two objects, 8 frames.  Object 1: appearance drift over the whole video and an
    occlusion at frames 2-3.  Object 2: a jump at frame 2, out of the frame at 5-6
    (absent there) and back at frame 7."""
    frames = [{"t": t, "objects": {"1": {"absent": False},
                                   "2": {"absent": t in (5, 6)}}} for t in range(T)]
    return {"n_objects": 2, "n_frames": T, "frames": frames, "events": [
        {"t": 0, "t_end": 7, "object": 1, "event": "appearance_drift", "strength": 0.2},
        {"t": 2, "t_end": 3, "object": 1, "event": "occlusion", "by": "distractor-1"},
        {"t": 2, "object": 2, "event": "jump"},
        {"t": 5, "t_end": 6, "object": 2, "event": "out_of_frame"},
        {"t": 7, "object": 2, "event": "reenter"}]}


def frames_of(sel):
    return np.flatnonzero(sel).tolist()


def test_event_windows_by_hand():
    w = event_frames(tiny_meta(), after=2)
    assert set(w) == {1, 2}
    assert set(w[1]) == set(EVENT_TYPES) | {NO_EVENT}
    assert frames_of(w[1]["occlusion"]) == [2, 3]
    assert frames_of(w[1]["appearance_drift"]) == list(range(T))
    # drift does not stop a frame from being quiet
    assert frames_of(w[1][NO_EVENT]) == [0, 1, 4, 5, 6, 7]
    assert frames_of(w[2]["jump"]) == [2, 3]          # the jump frame and the next
    assert frames_of(w[2]["out_of_frame"]) == [5, 6]
    assert frames_of(w[2]["reenter"]) == [7]          # clipped at the last frame
    assert frames_of(w[2][NO_EVENT]) == [0, 1, 4]
    assert not w[1]["jump"].any() and not w[2]["occlusion"].any()
    # a longer window after instants; after=1 is the event frame alone
    assert frames_of(event_frames(tiny_meta(), after=3)[2]["jump"]) == [2, 3, 4]
    assert frames_of(event_frames(tiny_meta(), after=1)[2]["jump"]) == [2]
    with pytest.raises(ValueError):
        event_frames(tiny_meta(), after=0)


def test_hidden_frames():
    h = hidden_frames(tiny_meta())
    assert frames_of(h[1]) == [] and frames_of(h[2]) == [5, 6]


def test_frames_with_events_by_hand():
    # occlusion of object 1 at 2-3; object 2 jumps at 2, is out at 5-6, back at 7; the
    # drift of object 1 over the whole video does not count
    assert frames_of(frames_with_events(tiny_meta())) == [2, 3, 5, 6, 7]
    assert frames_of(frames_with_events(tiny_meta(), ("jump", "reenter"))) == [2, 7]
    assert frames_of(frames_with_events(tiny_meta(), ("jump",), after=3)) == [2, 3, 4]
    assert "appearance_drift" not in HARD_EVENTS and "fast_motion" not in HARD_EVENTS


def test_event_frames_are_the_frames_the_generator_flags():
    """With instants on their own frame, the event frames are those where some object
    is occluded, out of the frame or absent in the per-frame records, or jumps or
    re-enters (chapter 4's definition): the generator's events are built from the
    records, and an absent object is fully occluded or out of the frame."""
    from vos_lib.data.synthetic import generate_sequence
    for seed in range(4):
        meta = generate_sequence(seed, difficulty="hard", n_frames=24, height=64,
                                 width=96).meta
        reenter = {e["t"] for e in meta["events"] if e["event"] == "reenter"}
        flagged = [t in reenter or any(o["occluded"] or o["out_of_frame"] or o["absent"]
                                       or o["jump"] for o in f["objects"].values())
                   for t, f in enumerate(meta["frames"])]
        ours = frames_with_events(meta, n_frames=len(meta["frames"]))
        assert ours.tolist() == flagged, seed


def test_event_split_by_hand():
    # values for frames 1..7 of tiny_meta (events at 2, 3, 5, 6, 7)
    a = [0.9, 0.2, 0.4, 0.8, 0.1, 0.3, 0.2]
    b = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    quiet = {**tiny_meta(), "events": []}
    on_ev, on_other = event_split({"b": b, "a": a, "q": a},
                                  {"a": tiny_meta(), "b": tiny_meta(), "q": quiet})
    assert list(on_ev) == ["a", "b"]                  # sorted; no event frame: left out
    assert on_ev["a"] == pytest.approx(0.24) and on_other["a"] == pytest.approx(0.85)
    assert on_ev["b"] == on_other["b"] == pytest.approx(0.5)
    g = paired_gap(on_ev, on_other)                   # events - others, per video
    assert g.n == 2 and g.mean == pytest.approx((0.24 - 0.85) / 2)
    assert list(event_split({"a": a, "b": b}, {"a": tiny_meta(), "b": tiny_meta()},
                            sequences=["b"])[0]) == ["b"]
    with pytest.raises(ValueError):
        event_split({"a": a[:-1]}, {"a": tiny_meta()})


def test_event_scores_by_hand():
    # J of each object at frames 0..7; nan where the protocol does not score (0 and 7)
    J = np.array([[NAN, 1.0, 0.2, 0.4, 0.8, 1.0, 0.6, NAN],
                  [NAN, 0.9, 0.0, 0.5, 0.7, 1.0, 0.0, NAN]])
    F = J / 2
    s = event_scores({"v": {"J": J, "F": F}}, {"v": tiny_meta()}, after=2)
    occ = s["occlusion"]
    assert occ["J"] == pytest.approx(0.3) and occ["F"] == pytest.approx(0.15)
    assert (occ["frames"], occ["objects"], occ["videos"]) == (2, 1, 1)
    assert s["jump"]["J"] == pytest.approx(0.25) and s["jump"]["frames"] == 2
    # out of frame: both frames hidden; J = 1 (let go) at 5, 0 (kept a mask) at 6
    oof = s["out_of_frame"]
    assert oof["J"] == pytest.approx(0.5) and oof["J_hidden"] == pytest.approx(0.5)
    assert (oof["frames_visible"], oof["frames_hidden"]) == (0, 2)
    assert np.isnan(oof["J_visible"])
    # the re-entry frame is the last one, not scored: no frame at all
    assert s["reenter"]["frames"] == 0 and np.isnan(s["reenter"]["J"])
    assert s["reenter"]["videos"] == 0 and s["reenter"]["per_video"] == {}
    # drift: all six scored frames of object 1
    assert s["appearance_drift"]["J"] == pytest.approx(4.0 / 6)
    # no event: object 1 at 1, 4, 5, 6 and object 2 at 1, 4
    ne = s[NO_EVENT]
    assert ne["frames"] == 6 and ne["objects"] == 2
    assert ne["J"] == pytest.approx((1.0 + 0.8 + 1.0 + 0.6 + 0.9 + 0.7) / 6)
    assert ne["J_visible"] == pytest.approx(ne["J"]) and ne["frames_hidden"] == 0
    assert s["full_occlusion"]["frames"] == 0
    assert ne["per_video"] == {"v": pytest.approx(ne["J"])}


def test_per_video_means_pool_frames_within_a_video():
    J = np.array([[NAN, 1.0, 0.2, 0.4, 0.8, 1.0, 0.6, NAN],
                  [NAN, 0.9, 0.0, 0.5, 0.7, 1.0, 0.0, NAN]])
    other = np.where(np.isnan(J), NAN, 0.0)
    s = event_scores({"a": {"J": J, "F": J}, "b": {"J": other, "F": other}},
                     {"a": tiny_meta(), "b": tiny_meta()}, after=2)
    occ = s["occlusion"]
    assert occ["per_video"] == {"a": pytest.approx(0.3), "b": 0.0}
    assert occ["J"] == pytest.approx(0.15) and occ["videos"] == 2 and occ["objects"] == 2


def box(h, w, y0, y1, x0, x1, k=1):
    m = np.zeros((h, w), np.uint8)
    m[y0:y1, x0:x1] = k
    return m


def test_per_frame_scores_and_event_table_on_a_folder(tmp_path):
    """A 5-frame video of one object, hidden at frame 2; one method follows it and lets
    go while it is hidden, the other keeps its first mask."""
    H, W = 20, 30
    gt = [box(H, W, 2, 10, 2, 10), box(H, W, 2, 10, 6, 14), np.zeros((H, W), np.uint8),
          box(H, W, 2, 10, 14, 22), box(H, W, 2, 10, 18, 26)]
    root, res = tmp_path / "davis", tmp_path / "res"
    for t, m in enumerate(gt):
        write_mask(root / "Annotations" / "480p" / "s" / f"{t:05d}.png", m)
        write_mask(res / "follow" / "s" / f"{t:05d}.png", m)
        write_mask(res / "keep" / "s" / f"{t:05d}.png", gt[0])
    (root / "ImageSets" / "2017").mkdir(parents=True)
    (root / "ImageSets" / "2017" / "val.txt").write_text("s\n")
    meta = {"n_objects": 1, "n_frames": 5,
            "frames": [{"t": t, "objects": {"1": {"absent": t == 2}}} for t in range(5)],
            "events": [{"t": 2, "t_end": 2, "object": 1, "event": "full_occlusion"}]}
    (root / "Meta").mkdir()
    (root / "Meta" / "s.json").write_text(json.dumps(meta))

    sc = per_frame_scores(root, res / "keep")
    J = sc["s"]["J"]
    assert J.shape == (1, 5) and np.isnan(J[0, [0, 4]]).all()
    # keep: 8x8 box against the box moved by 4 px (IoU 32/96), empty truth, moved by 12
    assert J[0, 1:4] == pytest.approx([32 / 96, 0.0, 0.0])
    assert per_frame_scores(root, res / "keep") is sc          # scored once, kept
    assert not J.flags.writeable

    tab = event_table(root, {"follow": res / "follow", "keep": res / "keep"}, after=2)
    fo = tab["full_occlusion"]
    assert fo["follow"]["J"] == 1.0 and fo["keep"]["J"] == 0.0
    assert fo["follow"]["frames_hidden"] == 1 and fo["follow"]["J_hidden"] == 1.0
    assert tab[NO_EVENT]["follow"]["J"] == 1.0 and tab[NO_EVENT]["follow"]["frames"] == 2
    assert tab[NO_EVENT]["keep"]["J"] == pytest.approx(32 / 96 / 2)
    assert set(tab) == set(EVENT_TYPES) | {NO_EVENT}
