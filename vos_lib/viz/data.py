"""Figures for Part I (data and metrics): palette, events, mask differences, boundary
matching, decay bins, flow panels, per-object series."""
from __future__ import annotations


import matplotlib.pyplot as plt
import numpy as np



def palette_swatches(ids=(0, 1, 2, 3, 4, 5, 255), size=1.1):
    """The DAVIS palette colour of each id, one labelled square per id."""
    from ..io import PALETTE

    fig, axes = plt.subplots(1, len(ids), figsize=(len(ids) * size, size + 0.5), squeeze=False)
    for ax, i in zip(axes.flat, ids):
        ax.imshow(np.full((4, 4, 3), PALETTE[i], np.uint8))
        ax.set_title(f"id {i}\n{tuple(int(c) for c in PALETTE[i])}", fontsize=10)
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


def shade_events(ax, meta, obj, events, alpha=0.25, lw=2.0):
    """Mark object ``obj``'s generator events on a time axis: spans shaded, instants dashed."""
    for e in meta["events"]:
        if e["object"] != obj or e["event"] not in events:
            continue
        c = EVENT_COLORS.get(e["event"], "grey")
        if "t_end" in e:
            ax.axvspan(e["t"] - 0.5, e["t_end"] + 0.5, color=c, alpha=alpha, lw=0)
        else:
            ax.axvline(e["t"], color=c, lw=lw, ls="--")


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
        shade_events(ax, meta, k, events, alpha=0.25, lw=2)
        ax.set_ylim(-0.05, 1.1)
        ax.set_ylabel(f"object {k}\nvisible", fontsize=11)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("frame t")
    handles = [Patch(color=EVENT_COLORS[e], alpha=0.5 if e not in ("jump", "reenter") else 1,
                     label=e) for e in events if e in EVENT_COLORS]
    fig.legend(handles=handles, loc="upper center", ncol=len(handles), fontsize=10,
               frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()))
    return fig


def plot_decay_bins(values, ax=None, label="J", threshold=0.5):
    """Per-frame values of one object with the 4 temporal bins of the DAVIS decay
    (:func:`vos_lib.eval.metrics.decay_bins`) shaded, each bin's mean drawn, and the recall
    threshold.  Returns the axes."""
    from ..eval.metrics import decay_bins

    v = np.asarray(values, dtype=float)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3))
    ax.plot(np.arange(len(v)), v, "-o", ms=3, color="tab:blue", label=f"{label} per frame")
    colors = ["tab:green", "tab:olive", "tab:cyan", "tab:red"]
    for i, (a, b) in enumerate(decay_bins(len(v))):
        ax.axvspan(a - 0.4, b - 0.6, color=colors[i], alpha=0.12 + 0.06 * (i % 2), lw=0)
        m = np.nanmean(v[a:b])
        ax.hlines(m, a - 0.4, b - 0.6, color=colors[i], lw=2.5)
        ax.text((a + b - 1) / 2, 1.08, f"bin {i + 1}: {m:.2f}", ha="center", fontsize=10,
                color=colors[i], bbox=dict(facecolor="white", alpha=0.85, lw=0, pad=1))
    ax.axhline(threshold, color="grey", ls=":", lw=1.5, label=f"recall threshold {threshold}")
    ax.set_xlabel("scored frame index")
    ax.set_ylabel(label)
    ax.set_ylim(-0.05, 1.15)
    ax.legend(fontsize=10, loc="lower left")
    return ax


# ----------------------------------------------------------------------------- chapter 4 helpers


def _hw2(flow):
    """A flow field as an ``(H, W, 2)`` float numpy array (from torch or numpy, ``(2, H, W)``,
    ``(1, 2, H, W)`` or ``(H, W, 2)``)."""
    f = flow.detach().cpu().numpy() if hasattr(flow, "detach") else np.asarray(flow)
    f = np.asarray(f, dtype=np.float32)
    if f.ndim == 4:
        f = f[0]
    if f.shape[0] == 2 and f.shape[-1] != 2:
        f = np.moveaxis(f, 0, -1)
    return f


def flow_panels(prev, cur, flow_gt, flow_pred, valid=None, max_flow=None, size=2.2,
                pred_label="predicted flow", epe_max=None):
    """One row of panels for a frame pair: frame t-1, frame t, the ground-truth flow and a
    predicted flow in the colour coding of :func:`vos_lib.core.flow.flow_to_color` with one
    shared scale (``max_flow`` pixels, default the largest ground-truth vector), the colour
    wheel as legend, and the end-point-error map ``||pred - gt||`` in pixels (pixels where
    ``valid`` is false, which have no ground truth, in grey).  Returns the figure."""
    from ..core.flow import color_wheel, flow_to_color

    gt, pr = _hw2(flow_gt), _hw2(flow_pred)
    if max_flow is None:
        max_flow = max(float(np.linalg.norm(gt, axis=-1).max()), 1.0)
    err = np.linalg.norm(pr - gt, axis=-1)
    if valid is not None:
        err = np.where(np.asarray(valid, bool), err, np.nan)
    h, w = gt.shape[:2]
    ratios = [1, 1, 1, 1, 0.55, 1.15]
    fig, axes = plt.subplots(1, 6, figsize=(sum(ratios) * size, size * h / w + 0.55),
                             gridspec_kw={"width_ratios": ratios})
    panels = [(prev, "frame t-1"), (cur, "frame t"),
              (flow_to_color(gt, max_flow=max_flow), "ground-truth flow"),
              (flow_to_color(pr, max_flow=max_flow), pred_label),
              (color_wheel(), f"legend: radius\n{max_flow:.1f} px")]
    for ax, (img, title) in zip(axes, panels):
        ax.imshow(img)
        ax.set_title(title, fontsize=10)
        ax.axis("off")
    cmap = plt.get_cmap("magma").copy()
    cmap.set_bad("0.6")
    im = axes[5].imshow(err, cmap=cmap, vmin=0, vmax=epe_max or max(float(np.nanmax(err)), 1e-3))
    axes[5].set_title(f"end-point error (px)\nmean {np.nanmean(err):.2f}", fontsize=10)
    axes[5].axis("off")
    fig.colorbar(im, ax=axes[5], fraction=0.046, pad=0.03).ax.tick_params(labelsize=10)
    fig.tight_layout()
    return fig


def plot_object_series(meta, series, ts=None, ylabel="IoU", ylim=(-0.05, 1.05),
                       events=("occlusion", "full_occlusion", "out_of_frame", "jump", "reenter"),
                       styles=None, size=(9, 1.6), title=None):
    """Per-object curves over time on the events of a synthetic ``Meta/<seq>.json``.

    ``series`` maps a label to a ``(K, N)`` array (one row per object, ``nan`` where there
    is no value) plotted against the frame indices ``ts`` (default ``0..N-1``).  One row of
    axes per object; event spans (occlusion, out of frame) are shaded and instants (jump,
    re-entry) drawn as dashed lines, in the colours of :data:`EVENT_COLORS` as in
    :func:`plot_events`.  ``styles`` maps a label to ``plot`` keyword arguments; ``title``
    goes above the legend.  Returns the figure."""
    from matplotlib.patches import Patch

    K = int(meta["n_objects"])
    styles = styles or {}
    fig, axes = plt.subplots(K, 1, figsize=(size[0], size[1] * K + 0.7), sharex=True,
                             squeeze=False)
    for k, ax in enumerate(axes[:, 0], 1):
        shade_events(ax, meta, k, events, alpha=0.2, lw=1.8)
        for i, (label, v) in enumerate(series.items()):
            v = np.asarray(v, dtype=float)[k - 1]
            t = np.arange(len(v)) if ts is None else np.asarray(ts)
            kw = {"marker": "o", "ms": 2.5, "lw": 1.4, "color": f"C{i}", **styles.get(label, {})}
            ax.plot(t, v, label=label if k == 1 else None, **kw)
        ax.set_ylim(*ylim)
        ax.set_ylabel(f"object {k}\n{ylabel}", fontsize=11)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("frame t")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    present = {e["event"] for e in meta["events"]}
    handles += [Patch(color=EVENT_COLORS[e], alpha=0.5 if e not in ("jump", "reenter") else 1)
                for e in events if e in EVENT_COLORS and e in present]
    labels += [e for e in events if e in EVENT_COLORS and e in present]
    top = 1 - (0.3 if title else 0.0) / fig.get_figheight()
    if title:
        fig.suptitle(title, fontsize=12, y=0.995, va="top")
    ncol = min(len(labels), 4)
    rows = -(-len(labels) // ncol)
    fig.legend(handles, labels, loc="upper center", ncol=ncol, fontsize=10, frameon=False,
               bbox_to_anchor=(0.5, top))
    fig.tight_layout(rect=(0, 0, 1, top - (0.06 + 0.2 * rows) / fig.get_figheight()))
    return fig
