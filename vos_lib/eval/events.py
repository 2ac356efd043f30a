"""Scores by event type: *where* a method fails on the synthetic videos.

The synthetic generator (:mod:`vos_lib.data.synthetic`) measures, for every val video,
when each object is occluded, jumps, leaves the frame, comes back, moves fast or drifts
in colour, and lists these events in ``<root>/Meta/<seq>.json``.  This module scores a
results folder frame by frame and object by object (the DAVIS J and F of
:mod:`vos_lib.eval.metrics`, as :func:`vos_lib.eval.evaluate.evaluate` computes them) and
groups the scores by event type:

* a **span** event (``occlusion``, ``full_occlusion``, ``out_of_frame``,
  ``fast_motion``, ``appearance_drift``) covers its frames ``t .. t_end``;
* an **instant** event (``jump``, ``reenter``) covers the event frame and the
  ``after - 1`` frames that follow it (``t .. t + after - 1``): the frames where a method
  must find the object again;
* ``no event``: the frames of an object inside no event window, where
  ``appearance_drift`` is left out of the test (the generator marks drift over the whole
  video, so with it almost no frame would be "quiet").

One object-frame can belong to several event types (an object may be occluded while it
moves fast).  Only the frames the semi-supervised protocol scores count (not the first,
given to the method, nor the last).

Visible and hidden frames are kept apart as well.  While an object has no visible pixel
(``absent`` in the meta data: fully occluded, or outside the frame) its ground truth is
empty, and DAVIS scores J = F = 1 for an empty prediction and 0 for any pixel given to
it.  On those frames the mean J is the share of frames on which a method *let go* of the
hidden object, whatever it did before; a method that has lost an object long ago scores
1 there.  So each event type also gets its mean J on the frames where the object is
visible (``J_visible``) and on the frames where it is hidden (``J_hidden``).

:func:`event_scores` gives, per event type, the mean J and F over its object-frames with
the counts (object-frames, objects, videos), and the mean per video, so that two methods
can be compared with :func:`vos_lib.eval.compare.paired_gap` (videos are the unit).
:func:`event_table` does it for several methods at once.

The same windows, pooled over the objects, give the **event frames** of a video
(:func:`frames_with_events`: frames where some object is occluded, out of the frame,
jumps or re-enters), and :func:`event_split` the per-video means of any per-frame value
(e.g. DTN's decision confidence) on the event frames and on the others (chapter 4, the
ledger of chapter 13).
"""
from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Mapping, Optional, Sequence

import numpy as np

#: The generator's event types (``Meta/<seq>.json`` ``events[*]["event"]``).
EVENT_TYPES = ("occlusion", "full_occlusion", "jump", "out_of_frame", "reenter",
               "appearance_drift", "fast_motion")
#: Events that happen at one frame; they cover the frame and the next ``after - 1``.
INSTANT_EVENTS = ("jump", "reenter")
#: The frames of an object inside no event window (``appearance_drift`` aside).
NO_EVENT = "no event"
#: Event types that do not stop a frame from counting as ``no event``.
QUIET_IGNORES = ("appearance_drift",)
#: The event types that make an **event frame** (:func:`frames_with_events`): an object
#: is occluded (partly or fully), out of the frame, jumps or re-enters; fast motion and
#: appearance drift do not count.
HARD_EVENTS = ("occlusion", "full_occlusion", "out_of_frame", "jump", "reenter")


def load_meta(root, seq: str) -> dict:
    """The generator's ``<root>/Meta/<seq>.json`` of one video."""
    return json.loads((Path(root) / "Meta" / f"{seq}.json").read_text())


def event_frames(meta: Mapping, after: int = 3, n_frames: Optional[int] = None,
                 quiet_ignores: Sequence[str] = QUIET_IGNORES) -> dict:
    """``{object id: {event type: (T,) bool array}}``: which frames of each object lie in
    a window of each event type (span events: ``t .. t_end``; instants: ``t .. t +
    after - 1``), plus :data:`NO_EVENT` (no window of any type but ``quiet_ignores``).

    ``meta`` is a ``Meta/<seq>.json`` dict (``n_objects``, ``n_frames``, ``events``);
    ``n_frames`` overrides its length.  Every object gets every type of
    :data:`EVENT_TYPES` (all False where it has none); an unknown type in ``meta`` gets
    its own entry.
    """
    if after < 1:
        raise ValueError(f"after must be >= 1 (the event frame itself), got {after}")
    T = int(n_frames if n_frames is not None else meta["n_frames"])
    K = int(meta["n_objects"])
    out = {k: {e: np.zeros(T, bool) for e in EVENT_TYPES} for k in range(1, K + 1)}
    for ev in meta.get("events", []):
        k, kind, t0 = int(ev["object"]), ev["event"], int(ev["t"])
        if k not in out:
            continue
        if kind in INSTANT_EVENTS:
            t1 = t0 + after - 1
        else:
            t1 = int(ev.get("t_end", t0))
        sel = out[k].setdefault(kind, np.zeros(T, bool))
        sel[max(t0, 0):min(t1, T - 1) + 1] = True
    for k, d in out.items():
        busy = np.zeros(T, bool)
        for kind, sel in d.items():
            if kind not in quiet_ignores:
                busy |= sel
        d[NO_EVENT] = ~busy
    return out


def frames_with_events(meta: Mapping, events: Sequence[str] = HARD_EVENTS,
                       after: int = 1, n_frames: Optional[int] = None) -> np.ndarray:
    """``(T,)`` bool: the frames of a video inside a window (:func:`event_frames`) of one
    of ``events`` for some object.

    With the defaults (an instant event marks its own frame only) these are the frames
    where some object is occluded, out of the frame or absent (an absent object is fully
    occluded or out of the frame), or jumps or re-enters.
    """
    win = event_frames(meta, after=after, n_frames=n_frames)
    T = int(n_frames if n_frames is not None else meta["n_frames"])
    out = np.zeros(T, bool)
    for per_type in win.values():
        for e in events:
            if e in per_type:
                out |= per_type[e]
    return out


def event_split(values: Mapping, metas: Mapping,
                sequences: Optional[Sequence[str]] = None,
                events: Sequence[str] = HARD_EVENTS) -> tuple:
    """Per video, the mean of ``values[video]`` on its event frames and on its other
    frames (:func:`frames_with_events`): ``({video: mean on events}, {video: mean on
    the others})``, ready for :func:`vos_lib.eval.compare.paired_gap` (events minus
    others).

    ``values[video]`` holds one number per frame ``1 .. T-1`` (one per frame pair
    ``(i-1, i)``, as DTN's decision confidence); ``metas`` the ``Meta/<seq>.json``
    dicts.  Videos without both kinds of frames are left out; ``sequences`` picks the
    videos and their order (default: all of ``values``, sorted).
    """
    on_ev, on_other = {}, {}
    for v in (sequences if sequences is not None else sorted(values)):
        x = np.asarray(values[v])
        e = frames_with_events(metas[v], events)[1:]
        if len(x) != len(e):
            raise ValueError(f"{v}: {len(x)} values for {len(e)} frames 1 .. T-1")
        if e.any() and (~e).any():
            on_ev[v], on_other[v] = x[e].mean(), x[~e].mean()
    return on_ev, on_other


@functools.lru_cache(maxsize=64)
def _scores_cached(root: str, results: str, split: str, sequences: tuple) -> dict:
    from .evaluate import evaluate
    res = evaluate(root, results, split=split, write=False,
                   sequences=list(sequences) if sequences else None)
    out = {}
    for seq, pf in res["per_frame"].items():
        J, F = (np.asarray(pf[m], dtype=float) for m in ("J", "F"))
        K, n = J.shape
        pad = np.full((K, 1), np.nan)
        # the protocol scores frames 1 .. T-2: put them back at their frame index
        out[seq] = {"J": np.hstack([pad, J, pad]), "F": np.hstack([pad, F, pad])}
        for a in out[seq].values():
            a.flags.writeable = False
    return out


def per_frame_scores(root, results_dir, split: str = "val",
                     sequences: Optional[Sequence[str]] = None) -> dict:
    """``{seq: {"J": (K, T), "F": (K, T)}}``: the DAVIS J and F of each object
    (row ``k - 1`` is object ``k``) at each frame of a results folder, ``nan`` at the
    frames the protocol does not score (the first and the last).

    Computed with :func:`vos_lib.eval.evaluate.evaluate` and kept in memory for the rest
    of the process (the same folder is scored once per notebook); the arrays are
    read-only.  Call ``per_frame_scores.cache_clear()`` after a folder is rewritten.
    """
    seqs = tuple(sorted(sequences)) if sequences else ()
    return _scores_cached(str(Path(root)), str(Path(results_dir)), split, seqs)


per_frame_scores.cache_clear = _scores_cached.cache_clear


def hidden_frames(meta: Mapping, n_frames: Optional[int] = None) -> dict:
    """``{object id: (T,) bool array}``: the frames where the object has no visible
    pixel (``absent`` in ``meta["frames"]``; its ground truth is empty there)."""
    T = int(n_frames if n_frames is not None else meta["n_frames"])
    out = {k: np.zeros(T, bool) for k in range(1, int(meta["n_objects"]) + 1)}
    for fr in meta.get("frames", []):
        t = int(fr["t"])
        if t < T:
            for k, rec in fr["objects"].items():
                if int(k) in out:
                    out[int(k)][t] = bool(rec.get("absent", False))
    return out


def _mean(chunks) -> tuple:
    v = np.concatenate(chunks) if chunks else np.zeros(0)
    return (float(v.mean()) if v.size else float("nan")), int(v.size)


def event_scores(scores: Mapping, metas: Mapping, after: int = 3,
                 events: Sequence[str] = EVENT_TYPES + (NO_EVENT,)) -> dict:
    """Scores of one method grouped by event type.

    ``scores``: :func:`per_frame_scores` (``{seq: {"J": (K, T), "F": (K, T)}}``, nan where
    not scored); ``metas``: ``{seq: Meta/<seq>.json dict}``.  Returns ``{event: stats}``
    where ``stats`` holds

    * ``"J"``, ``"F"``: the means over the scored object-frames in the event's windows,
      ``"frames"`` their number, ``"objects"`` and ``"videos"`` how many objects and
      videos have at least one;
    * ``"J_visible"``, ``"F_visible"``, ``"frames_visible"``: the same on the frames
      where the object is visible; ``"J_hidden"``, ``"frames_hidden"`` on those where
      it is not (:func:`hidden_frames`; there J is 1 for an empty prediction, else 0);
    * ``"per_video"`` / ``"per_video_visible"``: ``{seq: mean J}`` over all / visible
      frames, and ``"per_video_F"``: ``{seq: mean F}`` (for paired comparisons).

    Means are ``nan`` where an event type has no such frame.
    """
    names = ("all", "visible", "hidden")
    acc = {e: {"objects": 0, **{f"{m}_{n}": [] for m in "JF" for n in names},
               "per_video": {}, "per_video_visible": {}, "per_video_F": {}}
           for e in events}
    for seq, sc in scores.items():
        J, F = np.asarray(sc["J"], float), np.asarray(sc["F"], float)
        T = J.shape[1]
        win = event_frames(metas[seq], after=after, n_frames=T)
        hid = hidden_frames(metas[seq], n_frames=T)
        for e in events:
            got = {f"{m}_{n}": [] for m in "JF" for n in names}
            for k in range(1, J.shape[0] + 1):
                sel = win.get(k, {}).get(e)
                if sel is None:
                    continue
                sel = sel & np.isfinite(J[k - 1])
                if not sel.any():
                    continue
                acc[e]["objects"] += 1
                h = hid.get(k, np.zeros(T, bool))
                for n, s in zip(names, (sel, sel & ~h, sel & h)):
                    got[f"J_{n}"].append(J[k - 1][s])
                    got[f"F_{n}"].append(F[k - 1][s])
            for key, chunks in got.items():
                acc[e][key] += chunks
            for key, name in (("J_all", "per_video"), ("J_visible", "per_video_visible"),
                              ("F_all", "per_video_F")):
                m, n = _mean(got[key])
                if n:
                    acc[e][name][seq] = m
    out = {}
    for e, a in acc.items():
        (j, n), (f, _) = _mean(a["J_all"]), _mean(a["F_all"])
        (jv, nv), (fv, _) = _mean(a["J_visible"]), _mean(a["F_visible"])
        jh, nh = _mean(a["J_hidden"])
        out[e] = {"J": j, "F": f, "frames": n, "objects": a["objects"],
                  "videos": len(a["per_video"]),
                  "J_visible": jv, "F_visible": fv, "frames_visible": nv,
                  "J_hidden": jh, "frames_hidden": nh,
                  "per_video": a["per_video"], "per_video_visible": a["per_video_visible"],
                  "per_video_F": a["per_video_F"]}
    return out


def event_table(root, results: Mapping[str, object], split: str = "val",
                sequences: Optional[Sequence[str]] = None, after: int = 3,
                events: Sequence[str] = EVENT_TYPES + (NO_EVENT,)) -> dict:
    """Mean J (and F) per event type per method: ``{event: {method: stats}}`` with the
    ``stats`` of :func:`event_scores`, for ``results = {method: results folder}``, on the
    videos of ``split`` (or ``sequences``) of the synthetic dataset at ``root``."""
    metas, out = {}, {e: {} for e in events}
    for method, folder in results.items():
        sc = per_frame_scores(root, folder, split=split, sequences=sequences)
        for seq in sc:
            if seq not in metas:
                metas[seq] = load_meta(root, seq)
        for e, st in event_scores(sc, metas, after=after, events=events).items():
            out[e][method] = st
    return out
