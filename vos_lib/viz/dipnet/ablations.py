"""Figures and small measurements of chapter 11 (DIPNet's ablations: Tables 6 and 7,
Fig. 5, Fig. 6, Sec. 4.2.2-4.2.3).

* :func:`jf_over_time` - per-frame J&F of a results folder binned over normalised time
  (0 = the first frame, 1 = the last), one row per video, as the paper's Fig. 5 draws
  it; :func:`plot_over_time` draws such profiles, mean over the videos with a band of
  +- 2 standard errors (videos are the unit);
* :func:`identity_skip_share` - the share of Eq. 2 updates the inference loop skipped
  because the object's previous mask was empty (the object was lost or hidden);
  :func:`lost_from` - the frame from which a method never outputs an object again;
* :func:`plot_omega_sweep` - J&F against omega (Fig. 6), one faint line per video, the
  global score with the paired per-video noise around a reference omega, and the share
  of skipped identity updates beside it.

The comparisons themselves (gaps, noise, verdicts) come from :mod:`vos_lib.ledger`
(``global_gap``, ``per_video``) and :mod:`vos_lib.eval.compare`, as in chapter 13.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .identity import OMEGA_COLORS

__all__ = ["jf_over_time", "plot_over_time", "identity_skip_share", "lost_from",
           "plot_omega_sweep"]


def jf_over_time(per_frame: dict, bins: int = 10):
    """Bin per-frame J&F over normalised time.

    ``per_frame`` is :func:`vos_lib.eval.evaluate.evaluate`'s ``["per_frame"]``:
    ``{video: {"J": (K, T-2), "F": (K, T-2)}}`` for the scored frames t = 1..T-2 of a
    T-frame video.  Frame t sits at normalised time ``t / (T - 1)``; its J&F is the mean
    over the video's K objects of ``(J + F) / 2``; each of ``bins`` equal bins of [0, 1]
    holds the mean of its frames.  Returns ``(centres (bins,), scores (n_videos, bins),
    videos)``, ``nan`` where a video has no frame in a bin (only for very short
    videos)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    videos = sorted(per_frame)
    out = np.full((len(videos), bins), np.nan)
    for i, v in enumerate(videos):
        jf = (np.asarray(per_frame[v]["J"], float) + np.asarray(per_frame[v]["F"], float))
        jf = jf.reshape(-1, jf.shape[-1]).mean(0) / 2          # (T-2,) over objects
        t = np.arange(1, len(jf) + 1)
        u = t / (len(jf) + 1)                                  # t / (T - 1)
        idx = np.clip(np.digitize(u, edges) - 1, 0, bins - 1)
        for b in range(bins):
            if (idx == b).any():
                out[i, b] = jf[idx == b].mean()
    return (edges[:-1] + edges[1:]) / 2, out, videos


def plot_over_time(profiles: dict, ax=None, colors: dict | None = None,
                   styles: dict | None = None, title=None, band: bool = True):
    """Draw ``{label: (centres, scores (n_videos, bins))}`` (:func:`jf_over_time`): the
    mean over the videos of each bin, with a shaded band of +- 2 standard errors over
    the videos (``band=False``: the line only).  Returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.8))
    colors, styles = colors or {}, styles or {}
    for i, (label, (x, s)) in enumerate(profiles.items()):
        s = np.asarray(s, float)
        n = np.sum(np.isfinite(s), 0)
        m = np.nanmean(s, 0)
        se = np.nanstd(s, 0, ddof=1) / np.sqrt(np.maximum(n, 1))
        c = colors.get(label, f"C{i}")
        style = dict(styles.get(label, {}))
        ls = style.pop("ls", style.pop("linestyle", "-"))
        ax.plot(x * 100, m, color=c, ms=4, lw=2, label=label, linestyle=ls,
                marker=style.pop("marker", "o"), **style)
        if band:
            ax.fill_between(x * 100, m - 2 * se, m + 2 * se, color=c, alpha=0.15, lw=0)
    ax.set_xlabel("normalised time (% of the video)")
    ax.set_ylabel("J&F")
    ax.set_xlim(0, 100)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title, fontsize=12)
    return ax


def identity_skip_share(summary: dict, n_objects: dict) -> float:
    """The share of Eq. 2 updates skipped over a cached DIPNet result's videos: the
    inference loop updates each of a video's K objects at frames t = 2..T-1 (T - 2
    updates) and skips an object whose previous mask is empty
    (``info[video]["identity_skips_sum"]``).  ``n_objects``: ``{video: (K, T)}``."""
    skips = sum(summary["info"][v]["identity_skips_sum"] for v in summary["info"])
    total = sum(k * (t - 2) for v, (k, t) in n_objects.items() if v in summary["info"])
    return float(skips / total)


def lost_from(masks, n_objects: int) -> list:
    """For each object id 1..``n_objects`` of an id-mask video ``masks`` ``(T, H, W)``
    (a method's output), the first frame from which the object never appears again:
    ``T`` if it is in the last frame, 1 if it appears in no frame after the first (the
    given one)."""
    m = np.asarray(masks)
    T = len(m)
    out = []
    for k in range(1, n_objects + 1):
        present = np.nonzero((m[1:] == k).reshape(T - 1, -1).any(1))[0]
        out.append(int(present.max()) + 2 if len(present) else 1)
    return out


def plot_omega_sweep(per_video: dict, scores: dict, skips: dict | None = None,
                     ref: float = 0.95, noise: dict | None = None, axes=None):
    """Fig. 6 as measured: left, the J&F of each omega (``scores``: ``{omega: global
    J&F}``) as a thick line, each video's J&F (``per_video``: ``{omega: {video: J&F}}``)
    as a faint line, and error bars of +- 2 SE of the paired per-video differences to
    omega = ``ref`` (``noise``: ``{omega: 2 SE}``, 0 at ``ref``); right (when ``skips``
    ``{omega: share}`` is given), the share of skipped identity updates
    (:func:`identity_skip_share`).  Returns the figure."""
    ws = sorted(scores)
    if axes is None:
        ncols = 2 if skips is not None else 1
        fig, axes = plt.subplots(1, ncols, figsize=(9.6, 3.8), squeeze=False,
                                 gridspec_kw={"width_ratios": [1.6, 1][:ncols]})
        axes = axes[0]
    fig = axes[0].figure
    ax = axes[0]
    videos = sorted(set.intersection(*(set(per_video[w]) for w in ws)))
    for v in videos:
        ax.plot(ws, [per_video[w][v] for w in ws], "-", color="0.65", lw=0.9, alpha=0.8)
    ax.plot([], [], "-", color="0.65", lw=0.9, label=f"each video ({len(videos)})")
    err = [noise.get(w, 0.0) for w in ws] if noise else None
    ax.errorbar(ws, [scores[w] for w in ws], yerr=err, fmt="-", color="k", lw=2.2,
                capsize=4, label="all videos (± 2 paired SE to ω = %g)" % ref, zorder=3)
    for w in ws:
        ax.plot(w, scores[w], "o", ms=8, color=OMEGA_COLORS.get(round(w, 3), "0.4"),
                zorder=4)
    ax.set_xlabel("ω (weight of the newest identity vector, Eq. 2)")
    ax.set_ylabel("J&F")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=10, loc="upper right")
    if skips is not None:
        bx = axes[1]
        bx.bar([f"{w:g}" for w in ws], [skips[w] for w in ws],
               color=[OMEGA_COLORS.get(round(w, 3), "0.4") for w in ws])
        bx.set_xlabel("ω")
        bx.set_ylabel("identity updates skipped")
        bx.yaxis.set_major_formatter(plt.FuncFormatter(lambda y, _: f"{y:.0%}"))
        bx.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig
