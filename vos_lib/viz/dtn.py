"""Figures for Part II (DTN): decision-module confidence and routes, conditional and full
anchors, re-identification candidates."""
from __future__ import annotations


import matplotlib.pyplot as plt
import numpy as np

from .common import draw_boxes, frame_panel, live_slider
from .data import EVENT_COLORS


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
        ax.text(t0 - 1.2, -lane * k, f"obj {k}", fontsize=10, ha="right", va="center")
    ax.set_ylim(-lane * K - 0.08, 1.05)
    ax.set_xlim(t0 - 1.5 - (1.5 if K else 0), t[-1] + 0.8)
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.axhline(0, color="lightgrey", lw=0.8)
    ax.set_xlabel("frame i")
    ax.grid(alpha=0.25)
    if title:
        ax.set_title(title, fontsize=12)
    if legend:
        handles, labels = ax.get_legend_handles_labels()
        for e in (events if K else ()):
            if e not in EVENT_COLORS:
                continue
            instant = e in ("jump", "reenter")
            handles.append(Line2D([], [], color=EVENT_COLORS[e], marker="v" if instant else None,
                                  ls="" if instant else "-", lw=5, alpha=1 if instant else 0.6, ms=7))
            labels.append(e)
        ax.legend(handles, labels, fontsize=10, loc="upper left", bbox_to_anchor=(1.01, 1.0),
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
        axes[0, j].set_title(label, fontsize=10, color="tab:red" if c <= theta_c else "black")
        axes[1, j].imshow(flow_images[j])
        for ax in axes[:, j]:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel("frame", fontsize=10)
    axes[1, 0].set_ylabel("flow", fontsize=10)
    fig.tight_layout()
    return fig


def confidence_slider(conf, target=None, meta=None, theta_c=0.83, t0=1, sample=None,
                      title=None):
    """An ipywidgets ``FloatSlider`` for ``theta_c`` in [0.5, 1.0] that redraws
    :func:`plot_confidence` (which frames go to box re-identification) and prints the
    fraction of frames routed to BR, on this sequence and on ``sample`` (all the predicted
    confidences of a larger set) when given.  Needs a live kernel (Jupyter or Colab).

    Returns the static figure at ``theta_c`` for the rendered page, which cannot run the
    widget (glue it with ``viz.glue_figure(name, fig, show=False)``)."""
    import ipywidgets as widgets

    conf = np.asarray(conf, dtype=float)

    def draw(theta):
        txt = f"theta_c = {theta:.2f}: {np.mean(conf <= theta):.0%} of this sequence's frames to BR"
        if sample is not None:
            txt += f", {np.mean(np.asarray(sample) <= theta):.0%} of the sample"
        print(txt)
        plot_confidence(conf, target, meta, theta, t0=t0, title=title)

    live_slider(widgets.FloatSlider(value=theta_c, min=0.5, max=1.0, step=0.01,
                                    description="theta_c", continuous_update=False), draw)
    ax = plot_confidence(conf, target, meta, theta_c, t0=t0, title=title)
    plt.close(ax.figure)
    return ax.figure


# ----------------------------------------------------------------------------- chapter 6 helpers


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
    ax.legend(fontsize=10, loc="lower left", ncol=3)
    return ax


# ----------------------------------------------------------------------------- chapter 5 helpers


ANCHOR_SCALE_COLORS = ("magenta", "gold", "deepskyblue")


ANCHOR_RATIO_STYLES = (":", "-", "--")


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
    :func:`vos_lib.dtn.crpn.conditional_anchors` (its documented order: cell-major, then scale,
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
    draw_boxes(ax, pb[None], color="white", lw=2, zorder=6)
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
    cell) are drawn in full.  ``anchors`` is :func:`vos_lib.dtn.crpn.full_anchors`' output
    (location-major, the ``A`` shapes inner).
    """
    frame_panel(ax, frame, pad, title)
    h, w = feature_hw
    a = np.asarray(anchors, dtype=float).reshape(h, w, n_shapes, 4)
    plot_feature_grid(ax, feature_hw, stride, color="white", lw=0.4, alpha=0.6)
    at = [(h // 2, w // 2)] if at is None else at
    for (v, u) in at:
        draw_boxes(ax, a[v, u], color=color, lw=0.9, alpha=0.9)
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
        draw_boxes(ax, b[i][None], color=cm(norm(v[i])), lw=lw, alpha=0.85)
    if prev is not None:
        draw_boxes(ax, np.asarray(prev, float)[None], color="white", lw=1.8, ls=":", zorder=7)
    if gt is not None:
        draw_boxes(ax, np.asarray(gt, float)[None], color="lime", lw=1.8, ls="--", zorder=7)
    if other is not None:
        draw_boxes(ax, b[int(other)][None], color="magenta", lw=2.2, ls="--", zorder=8)
    if chosen is not None:
        draw_boxes(ax, b[int(chosen)][None], color="red", lw=2.4, zorder=9)
    sm = mpl.cm.ScalarMappable(norm=norm, cmap=cm)
    sm.set_array([])
    return sm


# ----------------------------------------------------------------------------- chapter 2 helpers
