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


# ----------------------------------------------------------------------------- chapter 4 helpers
def plot_confidence(conf, target=None, meta=None, theta_c=0.83, t0=1, ax=None, title=None,
                    events=("occlusion", "full_occlusion", "out_of_frame", "jump", "reenter"),
                    legend=True):
    """Decision-module confidence over time (DTN Sec. 3.2, Fig. 4).

    ``conf[j]`` is the predicted ``C_i`` of frame ``i = t0 + j`` (frame 0 is given, so
    ``t0 = 1``); ``target`` the Eq. 1 target ``C^_i`` of the same frames.  Frames with
    ``C_i <= theta_c`` go to box re-identification and are drawn as red dots; the dotted
    line is ``theta_c``.  With a synthetic ``Meta/<seq>.json`` (``meta``), each object's
    events get a lane below the curves: spans (occlusion, out of frame) as bars, instants
    (jump, re-entry) as triangles, coloured as in :func:`plot_events`.  Returns the axes.
    """
    from matplotlib.lines import Line2D

    conf = np.asarray(conf, dtype=float)
    t = np.arange(t0, t0 + len(conf))
    K = int(meta["n_objects"]) if meta is not None else 0
    if ax is None:
        _, ax = plt.subplots(figsize=(10.5, 2.6 + 0.25 * K))
    if target is not None:
        ax.plot(t, target, "-", color="grey", lw=1.5, label="Eq. 1 target (BP box IoU)")
    br = conf <= theta_c
    ax.plot(t[~br], conf[~br], "o", ms=3.5, color="tab:blue", label=r"routed to BP ($C_i > \theta_c$)")
    ax.plot(t[br], conf[br], "o", ms=3.5, color="tab:red", label=r"routed to BR ($C_i \leq \theta_c$)")
    ax.plot(t, conf, "-", color="tab:blue", lw=1.5, label="predicted confidence $C_i$")
    ax.axhline(theta_c, color="black", ls=":", lw=1.2, label=fr"$\theta_c$ = {theta_c:.2f}")
    lane = 0.13
    for e in (meta["events"] if meta is not None else []):
        if e["event"] not in events:
            continue
        y = -lane * e["object"]
        c = EVENT_COLORS.get(e["event"], "grey")
        if "t_end" in e:
            ax.plot([e["t"] - 0.4, e["t_end"] + 0.4], [y, y], color=c, lw=5, alpha=0.6,
                    solid_capstyle="butt")
        else:
            ax.plot(e["t"], y, "v", color=c, ms=7)
    for k in range(1, K + 1):
        ax.text(t0 - 1.2, -lane * k, f"obj {k}", fontsize=7, ha="right", va="center")
    ax.set_ylim(-lane * K - 0.08, 1.05)
    ax.set_xlim(t0 - 1.5 - (1.5 if K else 0), t[-1] + 0.8)
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.axhline(0, color="lightgrey", lw=0.8)
    ax.set_xlabel("frame i")
    ax.grid(alpha=0.25)
    if title:
        ax.set_title(title, fontsize=10)
    if legend:
        handles, labels = ax.get_legend_handles_labels()
        for e in (events if K else ()):
            if e not in EVENT_COLORS:
                continue
            instant = e in ("jump", "reenter")
            handles.append(Line2D([], [], color=EVENT_COLORS[e], marker="v" if instant else None,
                                  ls="" if instant else "-", lw=5, alpha=1 if instant else 0.6, ms=7))
            labels.append(e)
        ax.legend(handles, labels, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  frameon=False)
    return ax


def confidence_strip(frames, flow_images, conf, ts, theta_c=0.83, target=None, size=1.9):
    """Frames (top row) and their flow colour images (bottom row) with the predicted
    confidence written above, like DTN Fig. 4.  ``frames``, ``flow_images``, ``conf`` (and
    ``target``) are aligned with the frame indices ``ts``; a title is red when the frame
    goes to box re-identification (``C_i <= theta_c``).  Returns the figure."""
    n = len(ts)
    h, w = np.asarray(frames[0]).shape[:2]
    fig, axes = plt.subplots(2, n, figsize=(n * size, 2 * size * h / w + 0.7), squeeze=False)
    for j, t in enumerate(ts):
        c = float(conf[j])
        label = f"#{t}  C={c:.2f}" + (f"\nIoU={float(target[j]):.2f}" if target is not None else "")
        axes[0, j].imshow(frames[j])
        axes[0, j].set_title(label, fontsize=8, color="tab:red" if c <= theta_c else "black")
        axes[1, j].imshow(flow_images[j])
        for ax in axes[:, j]:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel("frame", fontsize=8)
    axes[1, 0].set_ylabel("flow", fontsize=8)
    fig.tight_layout()
    return fig


def confidence_slider(conf, target=None, meta=None, theta_c=0.83, t0=1, sample=None,
                      title=None):
    """An ipywidgets ``FloatSlider`` for ``theta_c`` in [0.5, 1.0] that redraws
    :func:`plot_confidence` (which frames go to box re-identification) and prints the
    fraction of frames routed to BR, on this sequence and on ``sample`` (all the predicted
    confidences of a larger set) when given.  Needs a live kernel (Jupyter or Colab)."""
    import ipywidgets as widgets
    from IPython.display import display

    conf = np.asarray(conf, dtype=float)
    out = widgets.Output()

    def draw(theta):
        with out:
            out.clear_output(wait=True)
            txt = f"theta_c = {theta:.2f}: {np.mean(conf <= theta):.0%} of this sequence's frames to BR"
            if sample is not None:
                txt += f", {np.mean(np.asarray(sample) <= theta):.0%} of the sample"
            print(txt)
            plot_confidence(conf, target, meta, theta, t0=t0, title=title)
            plt.show()

    slider = widgets.FloatSlider(value=theta_c, min=0.5, max=1.0, step=0.01,
                                 description="theta_c", continuous_update=False)
    slider.observe(lambda ch: draw(ch["new"]), names="value")
    display(widgets.VBox([slider, out]))
    draw(theta_c)


# ----------------------------------------------------------------------------- chapter 6 helpers
def smooth_curve(values, window=25):
    """Moving average of a loss curve (``nan`` entries, e.g. losses that start late, are
    skipped); the first ``window - 1`` points average what is available so far."""
    v = np.asarray(values, dtype=float)
    ok = ~np.isnan(v)
    c = np.concatenate([[0.0], np.cumsum(np.where(ok, v, 0.0))])
    n = np.concatenate([[0], np.cumsum(ok)])
    i = np.arange(1, len(v) + 1)
    lo = np.maximum(i - window, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (c[i] - c[lo]) / (n[i] - n[lo])
    out[~ok] = np.nan
    return out


def plot_loss_history(history, keys=None, ax=None, window=25, title=None, logy=False,
                      colors=None, label_prefix=""):
    """Loss curves of a checkpoint's ``history`` (``{"steps", "losses"}`` as saved by
    :func:`vos_lib.trainer.fit`): each loss raw (faint) and smoothed by a ``window``-step
    moving average.  ``keys`` picks the losses (default: all but ``total``).  Returns the
    axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    steps = np.asarray(history["steps"])
    keys = keys or [k for k in history["losses"] if k != "total"]
    colors = colors or {}
    for i, k in enumerate(keys):
        v = np.asarray(history["losses"][k], dtype=float)
        c = colors.get(k, f"C{i}")
        ax.plot(steps, v, color=c, alpha=0.18, lw=0.8)
        ax.plot(steps, smooth_curve(v, window), color=c, lw=1.8, label=f"{label_prefix}{k}")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return ax


#: Colours of the two DTN streams in :func:`plot_routes`.
ROUTE_COLORS = {"BP": "tab:green", "BR": "tab:red", "full": "tab:grey"}


def plot_routes(confidence, routes, theta_c=None, ax=None, first_t=1):
    """Decision-module confidence per frame (frames ``first_t, first_t + 1, ...``), each
    point coloured by the stream the frame took (BP green, BR red), with the threshold
    ``theta_c`` as a dashed line.  Returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 2.4))
    t = np.arange(first_t, first_t + len(confidence))
    ax.plot(t, confidence, "-", color="0.6", lw=1, zorder=1)
    for r in dict.fromkeys(routes):
        sel = np.asarray(routes) == r
        ax.scatter(t[sel], np.asarray(confidence)[sel], s=22, color=ROUTE_COLORS.get(r, "k"),
                   label=f"{r} ({sel.sum()} frames)", zorder=2)
    if theta_c is not None:
        ax.axhline(theta_c, color="k", ls="--", lw=1, label=f"theta_c = {theta_c}")
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("frame t")
    ax.set_ylabel("DM confidence C_t")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left", ncol=3)
    return ax


# ----------------------------------------------------------------------------- chapter 5 helpers
def show_lines(obj, start: str, end: str | None = None) -> None:
    """Display part of a library object's source: from the first line containing ``start``
    through the next line containing ``end`` (or to the end), with its original line
    indentation removed.  For long functions where the page is about a few lines."""
    import textwrap

    from IPython.display import Code, display

    lines = inspect.getsource(obj).splitlines()
    i = next(n for n, s in enumerate(lines) if start in s)
    j = len(lines) - 1 if end is None else next(n for n in range(i, len(lines)) if end in lines[n])
    display(Code(textwrap.dedent("\n".join(lines[i:j + 1])), language="python"))


def draw_boxes(ax, boxes, colors=None, ls="-", lw=1.5, labels=None, pixel_offset=-0.5):
    """Draw ``(K, 4)`` xyxy boxes on an ``imshow`` axes.

    ``pixel_offset`` maps box coordinates to ``imshow`` coordinates (where pixel ``j`` is
    drawn on ``[j - 0.5, j + 0.5]``): ``-0.5`` for boxes read with the ``aligned=True``
    RoIAlign convention of :mod:`vos_lib.mrn` (pixel ``j`` covers ``[j, j + 1]``), ``0`` for
    boxes whose corners are pixel centres.  Returns the axes."""
    from matplotlib.patches import Rectangle

    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
    for k, (x1, y1, x2, y2) in enumerate(boxes):
        c = colors[k % len(colors)] if colors is not None else f"C{k}"
        ax.add_patch(Rectangle((x1 + pixel_offset, y1 + pixel_offset), x2 - x1, y2 - y1,
                               fill=False, ec=c, ls=ls, lw=lw))
        if labels is not None:
            ax.text(x1 + pixel_offset, y1 + pixel_offset - 1, labels[k], color=c, fontsize=7,
                    va="bottom", ha="left")
    return ax


def image_grid(rows, col_titles=None, size=1.45, cmaps=None, shared=None, colorbar=False):
    """A grid of small 2-D maps: ``rows`` is ``{row label: [map per column]}``.

    Each map gets its own colour scale unless its row is in ``shared`` (one scale for the
    whole row, e.g. probabilities or masks in ``[0, 1]``: pass ``{label: (vmin, vmax)}``).
    ``cmaps`` maps a row label to a colormap (default ``"viridis"``).  Every map is drawn
    at its own resolution, with its size in the corner, so RoIs of 4x4 and 32x32 sit side
    by side.  Returns the figure."""
    cmaps, shared = cmaps or {}, shared or {}
    labels = list(rows)
    ncols = max(len(v) for v in rows.values())
    fig, axes = plt.subplots(len(labels), ncols, figsize=(ncols * size + 0.9, len(labels) * size),
                             squeeze=False)
    for r, lab in enumerate(labels):
        for c in range(ncols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= len(rows[lab]) or rows[lab][c] is None:
                ax.axis("off")
                continue
            a = np.asarray(rows[lab][c], dtype=float)
            vmin, vmax = shared.get(lab, (None, None))
            im = ax.imshow(a, cmap=cmaps.get(lab, "viridis"), vmin=vmin, vmax=vmax,
                           interpolation="nearest")
            ax.text(0.03, 0.97, f"{a.shape[0]}x{a.shape[1]}", transform=ax.transAxes, fontsize=6,
                    va="top", ha="left", color="white",
                    bbox=dict(facecolor="black", alpha=0.5, lw=0, pad=0.8))
            if colorbar:
                fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02).ax.tick_params(labelsize=6)
            if c == 0:
                ax.set_ylabel(lab, fontsize=8)
            if r == 0 and col_titles is not None:
                ax.set_title(col_titles[c], fontsize=9)
    fig.tight_layout()
    return fig


def contour(ax, mask, color="white", lw=1.2, ls="-"):
    """Outline of a binary (or ``> 0.5`` soft) mask on an ``imshow`` axes."""
    m = np.asarray(mask, dtype=float)
    if m.max() > 0.5 and m.min() < 0.5:
        ax.contour(m, levels=[0.5], colors=[color], linewidths=lw, linestyles=ls)
    return ax


# ----------------------------------------------------------------------------- chapter 3 helpers
#: Colours of the three CRPN scale multipliers (x0.5, x1, x1.5 of the previous scale) and
#: line styles of the three ratio multipliers, used by :func:`plot_conditional_anchors`.
ANCHOR_SCALE_COLORS = ("magenta", "gold", "deepskyblue")
ANCHOR_RATIO_STYLES = (":", "-", "--")


def frame_panel(ax, frame, pad=0, title=None):
    """Show ``frame`` in the CRPN box convention (pixel ``x`` covers ``[x, x + 1)``, see
    :mod:`vos_lib.crpn`) with ``pad`` pixels of margin, so boxes leaving the frame show."""
    frame = np.asarray(frame)
    H, W = frame.shape[:2]
    ax.imshow(frame, extent=(0, W, H, 0), interpolation="nearest")
    ax.set_xlim(-pad, W + pad)
    ax.set_ylim(H + pad, -pad)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_facecolor("0.85")
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def draw_xyxy(ax, boxes, color="yellow", lw=1.5, ls="-", alpha=1.0, labels=None, fontsize=7,
               zorder=3):
    """Draw ``(N, 4)`` xyxy boxes as rectangles; ``color`` is one colour or one per box,
    ``labels`` (optional) one string per box, written above its top-left corner."""
    from matplotlib.colors import is_color_like
    from matplotlib.patches import Rectangle

    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
    colors = [color] * len(boxes) if is_color_like(color) else list(color)
    for i, (x1, y1, x2, y2) in enumerate(boxes):
        ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, ec=colors[i], lw=lw, ls=ls,
                               alpha=alpha, zorder=zorder))
        if labels is not None:
            ax.text(x1, y1 - 1.5, labels[i], color="white", fontsize=fontsize, va="bottom",
                    zorder=zorder + 1, bbox=dict(facecolor=colors[i], alpha=0.75, lw=0, pad=1))
    return ax


def plot_feature_grid(ax, feature_hw, stride, color="white", lw=0.5, alpha=0.5, centres=True):
    """Lines between the cells of a stride-``stride`` feature map and (optionally) a dot at
    each cell centre ``((u + .5) stride, (v + .5) stride)``: where the original RPN puts
    its anchors (DTN Fig. 5 (c))."""
    h, w = feature_hw
    for u in range(w + 1):
        ax.axvline(u * stride, color=color, lw=lw, alpha=alpha, zorder=2)
    for v in range(h + 1):
        ax.axhline(v * stride, color=color, lw=lw, alpha=alpha, zorder=2)
    if centres:
        yy, xx = np.mgrid[0:h, 0:w]
        ax.scatter((xx.ravel() + 0.5) * stride, (yy.ravel() + 0.5) * stride, s=6, c=color,
                   zorder=4, linewidths=0)
    return ax


def plot_conditional_anchors(ax, frame, prev_box, anchors, stride=16, grid=3,
                             scales=(0.5, 1.0, 1.5), ratios=(0.5, 1.0, 1.5), pad=28,
                             cells="all", zoom=True, title=None):
    """DTN Fig. 5 (b): the ``grid^2 x S x R`` conditional anchors of one object.

    ``anchors`` is that object's ``(grid^2 * S * R, 4)`` slice of
    :func:`vos_lib.crpn.conditional_anchors` (its documented order: cell-major, then scale,
    then ratio).  The ``grid x grid`` anchor cells are shaded grey (the paper's grey grid),
    colour = scale multiplier (:data:`ANCHOR_SCALE_COLORS`), line style = ratio multiplier
    (:data:`ANCHOR_RATIO_STYLES`), the previous box ``T_{i-1}`` white.  ``cells="centre"``
    draws only the centre cell's ``S x R`` anchors (readable), ``"all"`` every anchor.
    ``zoom`` limits the view to the drawn anchors (plus 4 px).  Returns legend handles.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    frame_panel(ax, frame, pad, title)
    a = np.asarray(anchors, dtype=float).reshape(grid * grid, len(scales), len(ratios), 4)
    pb = np.asarray(prev_box, dtype=float).reshape(4)
    cx, cy = (pb[0] + pb[2]) / 2, (pb[1] + pb[3]) / 2
    u0, v0 = int(np.floor(cx / stride)), int(np.floor(cy / stride))
    off = np.arange(grid) - (grid - 1) // 2
    for dv in off:
        for du in off:
            ax.add_patch(Rectangle(((u0 + du) * stride, (v0 + dv) * stride), stride, stride,
                                   fc="0.55", ec="white", lw=0.8, alpha=0.45, zorder=2))
    centre = (grid * grid) // 2
    which = [centre] if cells == "centre" else range(grid * grid)
    for c in which:
        for si in range(len(scales)):
            for ri in range(len(ratios)):
                x1, y1, x2, y2 = a[c, si, ri]
                ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False,
                                       ec=ANCHOR_SCALE_COLORS[si % len(ANCHOR_SCALE_COLORS)],
                                       ls=ANCHOR_RATIO_STYLES[ri % len(ANCHOR_RATIO_STYLES)],
                                       lw=1.2 if cells == "centre" else 0.6,
                                       alpha=0.95 if cells == "centre" else 0.55, zorder=3))
    ccx, ccy = a[:, 0, 0, [0, 2]].mean(1), a[:, 0, 0, [1, 3]].mean(1)   # the cell centres
    ax.scatter(ccx, ccy, s=12, c="white", zorder=5, linewidths=0)
    draw_xyxy(ax, pb[None], color="white", lw=2, zorder=6)
    if zoom:
        shown = a[list(which)].reshape(-1, 4)
        ax.set_xlim(shown[:, 0].min() - 4, shown[:, 2].max() + 4)
        ax.set_ylim(shown[:, 3].max() + 4, shown[:, 1].min() - 4)
    handles = [Line2D([], [], color=c, lw=1.5, label=f"scale x{s:g}")
               for c, s in zip(ANCHOR_SCALE_COLORS, scales)]
    handles += [Line2D([], [], color="k", ls=l, lw=1.2, label=f"ratio x{r:g}")
                for l, r in zip(ANCHOR_RATIO_STYLES, ratios)]
    handles.append(Line2D([], [], color="white", lw=2, label="previous box"))
    return handles


def plot_full_anchors(ax, frame, anchors, feature_hw, stride, n_shapes=9, at=None, pad=28,
                      title=None, color="tab:orange"):
    """DTN Fig. 5 (c): the original RPN's ``h x w x A`` anchors.

    Every cell centre is a dot (each dot carries ``n_shapes`` anchors); the ``n_shapes``
    anchors of the cells listed in ``at`` (``(row, col)`` pairs; default: the middle
    cell) are drawn in full.  ``anchors`` is :func:`vos_lib.crpn.full_anchors`' output
    (location-major, the ``A`` shapes inner).
    """
    frame_panel(ax, frame, pad, title)
    h, w = feature_hw
    a = np.asarray(anchors, dtype=float).reshape(h, w, n_shapes, 4)
    plot_feature_grid(ax, feature_hw, stride, color="white", lw=0.4, alpha=0.6)
    at = [(h // 2, w // 2)] if at is None else at
    for (v, u) in at:
        draw_xyxy(ax, a[v, u], color=color, lw=0.9, alpha=0.9)
        ax.scatter([(u + 0.5) * stride], [(v + 0.5) * stride], s=25, c=color, zorder=6)
    return ax


def plot_candidates(ax, frame, boxes, values, cmap="viridis", vmin=None, vmax=None,
                    chosen=None, other=None, gt=None, prev=None, pad=28, title=None,
                    order="ascending", lw=0.9):
    """Candidate boxes coloured by a per-box value (objectness, Eq. 2 distance, ...).

    ``chosen`` (an index) is drawn thick red, ``other`` (an index, e.g. the
    largest-distance choice) thick magenta dashed, ``gt`` green dashed and ``prev`` (the
    previous box) white dotted.  ``order="ascending"`` draws high values last (on top),
    ``"descending"`` low values last.  Returns the ``ScalarMappable`` for a colorbar.
    """
    import matplotlib as mpl

    frame_panel(ax, frame, pad, title)
    b = np.asarray(boxes, dtype=float).reshape(-1, 4)
    v = np.asarray(values, dtype=float).reshape(-1)
    norm = mpl.colors.Normalize(vmin=v.min() if vmin is None else vmin,
                                vmax=v.max() if vmax is None else vmax)
    cm = mpl.colormaps[cmap] if isinstance(cmap, str) else cmap
    idx = np.argsort(v)
    if order == "descending":
        idx = idx[::-1]
    for i in idx:
        draw_xyxy(ax, b[i][None], color=cm(norm(v[i])), lw=lw, alpha=0.85)
    if prev is not None:
        draw_xyxy(ax, np.asarray(prev, float)[None], color="white", lw=1.8, ls=":", zorder=7)
    if gt is not None:
        draw_xyxy(ax, np.asarray(gt, float)[None], color="lime", lw=1.8, ls="--", zorder=7)
    if other is not None:
        draw_xyxy(ax, b[int(other)][None], color="magenta", lw=2.2, ls="--", zorder=8)
    if chosen is not None:
        draw_xyxy(ax, b[int(chosen)][None], color="red", lw=2.4, zorder=9)
    sm = mpl.cm.ScalarMappable(norm=norm, cmap=cm)
    sm.set_array([])
    return sm


# ----------------------------------------------------------------------------- chapter 2 helpers
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
    predicted flow in the colour coding of :func:`vos_lib.flow.flow_to_color` with one
    shared scale (``max_flow`` pixels, default the largest ground-truth vector), the colour
    wheel as legend, and the end-point-error map ``||pred - gt||`` in pixels (pixels where
    ``valid`` is false, which have no ground truth, in grey).  Returns the figure."""
    from .flow import color_wheel, flow_to_color

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
        ax.set_title(title, fontsize=8)
        ax.axis("off")
    cmap = plt.get_cmap("magma").copy()
    cmap.set_bad("0.6")
    im = axes[5].imshow(err, cmap=cmap, vmin=0, vmax=epe_max or max(float(np.nanmax(err)), 1e-3))
    axes[5].set_title(f"end-point error (px)\nmean {np.nanmean(err):.2f}", fontsize=8)
    axes[5].axis("off")
    fig.colorbar(im, ax=axes[5], fraction=0.046, pad=0.03).ax.tick_params(labelsize=7)
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
        ax.set_ylabel(f"object {k}\n{ylabel}", fontsize=9)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("frame t")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    present = {e["event"] for e in meta["events"]}
    handles += [Patch(color=EVENT_COLORS[e], alpha=0.5 if e not in ("jump", "reenter") else 1)
                for e in events if e in EVENT_COLORS and e in present]
    labels += [e for e in events if e in EVENT_COLORS and e in present]
    top = 1 - (0.3 if title else 0.0) / fig.get_figheight()
    if title:
        fig.suptitle(title, fontsize=10, y=0.995, va="top")
    ncol = min(len(labels), 4)
    rows = -(-len(labels) // ncol)
    fig.legend(handles, labels, loc="upper center", ncol=ncol, fontsize=8, frameon=False,
               bbox_to_anchor=(0.5, top))
    fig.tight_layout(rect=(0, 0, 1, top - (0.06 + 0.2 * rows) / fig.get_figheight()))
    return fig


def grouped_bars(table, ax=None, colors=None, ylabel="", fmt="{:.2f}", width=0.8):
    """Grouped bar chart of ``{group: {series: value}}`` (groups on the x axis, one bar per
    series, the value written on each bar).  Returns the axes."""
    groups = list(table)
    names = list(dict.fromkeys(s for g in groups for s in table[g]))
    if ax is None:
        _, ax = plt.subplots(figsize=(1.4 * len(groups) + 2, 3))
    colors = colors or {}
    bw = width / max(len(names), 1)
    x = np.arange(len(groups))
    for i, s in enumerate(names):
        vals = [table[g].get(s, np.nan) for g in groups]
        bars = ax.bar(x + (i - (len(names) - 1) / 2) * bw, vals, bw, label=s,
                      color=colors.get(s, f"C{i}"))
        for b, v in zip(bars, vals):
            if np.isfinite(v):
                ax.text(b.get_x() + b.get_width() / 2, b.get_height(), fmt.format(v),
                        ha="center", va="bottom", fontsize=7)
    ax.set_xticks(x, groups)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    return ax
