"""Figures and widgets for the book: overlays, galleries, frame sliders, code display."""
from __future__ import annotations

import inspect

import matplotlib.pyplot as plt
import numpy as np

from .io import overlay


def show(obj) -> None:
    """Display the source code of a library object (so the page shows the real code)."""
    from IPython.display import Code, display

    display(Code(inspect.getsource(obj), language="python"))


def gallery(frames, masks=None, titles=None, ncols=5, size=2.4, alpha=0.5, suptitle=None):
    """A grid of frames, with masks overlaid in the DAVIS palette when given."""
    n = len(frames)
    nrows = (n + ncols - 1) // ncols
    h, w = np.asarray(frames[0]).shape[:2]
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * size, nrows * size * h / w + 0.3),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        img = frames[i] if masks is None else overlay(frames[i], masks[i], alpha)
        ax.imshow(img)
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def frame_slider(frames, masks=None, titles=None, static_every=None):
    """An ipywidgets slider over the frames (interactive in Jupyter/Colab).

    The rendered book cannot run widgets, so a static strip of every
    ``static_every``-th frame is drawn below as a fallback.
    """
    import ipywidgets as widgets
    from IPython.display import display

    out = widgets.Output()

    def draw(t):
        with out:
            out.clear_output(wait=True)
            fig, ax = plt.subplots(figsize=(5, 5 * frames[0].shape[0] / frames[0].shape[1]))
            ax.imshow(frames[t] if masks is None else overlay(frames[t], masks[t]))
            ax.set_title(titles[t] if titles else f"frame {t}")
            ax.axis("off")
            plt.show()

    slider = widgets.IntSlider(min=0, max=len(frames) - 1, value=0, description="frame")
    slider.observe(lambda ch: draw(ch["new"]), names="value")
    display(widgets.VBox([slider, out]))
    draw(0)
    step = static_every or max(1, len(frames) // 8)
    idx = list(range(0, len(frames), step))[:10]
    return gallery([frames[i] for i in idx], None if masks is None else [masks[i] for i in idx],
                   [titles[i] if titles else f"t={i}" for i in idx], ncols=min(5, len(idx)))


# ----------------------------------------------------------------------------- chapter 1 helpers
def palette_swatches(ids=(0, 1, 2, 3, 4, 5, 255), size=1.1):
    """The DAVIS palette colour of each id, one labelled square per id."""
    from .io import PALETTE

    fig, axes = plt.subplots(1, len(ids), figsize=(len(ids) * size, size + 0.5), squeeze=False)
    for ax, i in zip(axes.flat, ids):
        ax.imshow(np.full((4, 4, 3), PALETTE[i], np.uint8))
        ax.set_title(f"id {i}\n{tuple(int(c) for c in PALETTE[i])}", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


#: Colours of :func:`mask_diff_image`: both (true positive), ground truth only (missed),
#: prediction only (false positive).
MASK_DIFF_COLORS = {"both": (235, 235, 235), "ground truth only": (60, 110, 255),
                    "prediction only": (255, 70, 50)}


def mask_diff_image(gt, pred):
    """RGB image of two binary masks: intersection light grey, ground truth only blue,
    prediction only red, neither black (the union is everything not black)."""
    gt, pred = np.asarray(gt) != 0, np.asarray(pred) != 0
    img = np.zeros(gt.shape + (3,), np.uint8)
    img[gt & pred] = MASK_DIFF_COLORS["both"]
    img[gt & ~pred] = MASK_DIFF_COLORS["ground truth only"]
    img[~gt & pred] = MASK_DIFF_COLORS["prediction only"]
    return img


def boundary_match_image(boundary, matched, band=None):
    """RGB image of one boundary map for the F measure: matched boundary pixels green,
    unmatched red, and (optionally) ``band`` -- the other boundary dilated by the tolerance
    disk, i.e. where a pixel counts as matched -- in light grey."""
    boundary, matched = np.asarray(boundary, bool), np.asarray(matched, bool)
    img = np.full(boundary.shape + (3,), 255, np.uint8)
    if band is not None:
        img[np.asarray(band, bool)] = (205, 205, 205)
    img[boundary & matched] = (20, 160, 60)
    img[boundary & ~matched] = (230, 30, 30)
    return img


#: Colours of the events drawn by :func:`plot_events`.
EVENT_COLORS = {"occlusion": "tab:orange", "full_occlusion": "tab:red",
                "out_of_frame": "tab:purple", "jump": "black", "reenter": "tab:green"}


def plot_events(meta, events=("occlusion", "full_occlusion", "out_of_frame", "jump", "reenter"),
                size=(9, 1.7)):
    """Visible fraction of each object over time (synthetic ``Meta/<seq>.json``), one row
    per object, with its events: spans (occlusion, out of frame) shaded, instants (jump,
    re-entry) as vertical lines.  Returns the figure."""
    from matplotlib.patches import Patch

    K, T = int(meta["n_objects"]), len(meta["frames"])
    fig, axes = plt.subplots(K, 1, figsize=(size[0], size[1] * K + 0.6), sharex=True,
                             squeeze=False)
    t = np.arange(T)
    for k, ax in enumerate(axes[:, 0], 1):
        vis = [f["objects"][str(k)]["visible_frac"] for f in meta["frames"]]
        ax.plot(t, vis, "-o", ms=2.5, color="tab:blue", label="visible fraction")
        for e in meta["events"]:
            if e["object"] != k or e["event"] not in events:
                continue
            c = EVENT_COLORS.get(e["event"], "grey")
            if "t_end" in e:
                ax.axvspan(e["t"] - 0.5, e["t_end"] + 0.5, color=c, alpha=0.25, lw=0)
            else:
                ax.axvline(e["t"], color=c, lw=2, ls="--")
        ax.set_ylim(-0.05, 1.1)
        ax.set_ylabel(f"object {k}\nvisible", fontsize=9)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("frame t")
    handles = [Patch(color=EVENT_COLORS[e], alpha=0.5 if e not in ("jump", "reenter") else 1,
                     label=e) for e in events if e in EVENT_COLORS]
    fig.legend(handles=handles, loc="upper center", ncol=len(handles), fontsize=8,
               frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()))
    return fig


def plot_decay_bins(values, ax=None, label="J", threshold=0.5):
    """Per-frame values of one object with the 4 temporal bins of the DAVIS decay
    (:func:`vos_lib.metrics.decay_bins`) shaded, each bin's mean drawn, and the recall
    threshold.  Returns the axes."""
    from .metrics import decay_bins

    v = np.asarray(values, dtype=float)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3))
    ax.plot(np.arange(len(v)), v, "-o", ms=3, color="tab:blue", label=f"{label} per frame")
    colors = ["tab:green", "tab:olive", "tab:cyan", "tab:red"]
    for i, (a, b) in enumerate(decay_bins(len(v))):
        ax.axvspan(a - 0.4, b - 0.6, color=colors[i], alpha=0.12 + 0.06 * (i % 2), lw=0)
        m = np.nanmean(v[a:b])
        ax.hlines(m, a - 0.4, b - 0.6, color=colors[i], lw=2.5)
        ax.text((a + b - 1) / 2, 1.08, f"bin {i + 1}: {m:.2f}", ha="center", fontsize=8,
                color=colors[i], bbox=dict(facecolor="white", alpha=0.85, lw=0, pad=1))
    ax.axhline(threshold, color="grey", ls=":", lw=1.5, label=f"recall threshold {threshold}")
    ax.set_xlabel("scored frame index")
    ax.set_ylabel(label)
    ax.set_ylim(-0.05, 1.15)
    ax.legend(fontsize=8, loc="lower left")
    return ax
