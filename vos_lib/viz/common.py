"""Figures and widgets every chapter uses: galleries, frame sliders, image grids, box
drawing, loss curves, grouped bars, and showing library code on the page."""
from __future__ import annotations

import inspect

import matplotlib.pyplot as plt
import numpy as np

from ..io import overlay


def show(obj) -> None:
    """Display the source code of a library object (so the page shows the real code)."""
    from IPython.display import Code, display

    display(Code(inspect.getsource(obj), language="python"))


def gallery(frames, masks=None, titles=None, ncols=5, size=1.9, alpha=0.5, suptitle=None):
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
            ax.set_title(titles[i], fontsize=10)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def live_slider(slider, draw) -> None:
    """Show the ipywidgets ``slider`` above an output area that ``draw(value)`` fills
    (matplotlib figures, printed text) again at every change.  Needs a live kernel
    (Jupyter or Colab); the sliders of the chapters return a static figure besides."""
    import ipywidgets as widgets
    from IPython.display import display

    out = widgets.Output()

    def redraw(value):
        with out:
            out.clear_output(wait=True)
            draw(value)
            plt.show()

    slider.observe(lambda ch: redraw(ch["new"]), names="value")
    display(widgets.VBox([slider, out]))
    redraw(slider.value)


def frame_slider(frames, masks=None, titles=None, static_every=None):
    """An ipywidgets slider over the frames (interactive in Jupyter/Colab).

    The rendered book cannot run widgets, so a static strip of every
    ``static_every``-th frame is drawn below as a fallback.
    """
    import ipywidgets as widgets

    def draw(t):
        fig, ax = plt.subplots(figsize=(5, 5 * frames[0].shape[0] / frames[0].shape[1]))
        ax.imshow(frames[t] if masks is None else overlay(frames[t], masks[t]))
        ax.set_title(titles[t] if titles else f"frame {t}")
        ax.axis("off")

    live_slider(widgets.IntSlider(min=0, max=len(frames) - 1, value=0,
                                  description="frame"), draw)
    step = static_every or max(1, len(frames) // 8)
    idx = list(range(0, len(frames), step))[:10]
    return gallery([frames[i] for i in idx], None if masks is None else [masks[i] for i in idx],
                   [titles[i] if titles else f"t={i}" for i in idx], ncols=min(5, len(idx)))


# ----------------------------------------------------------------------------- chapter 1 helpers


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
    :func:`vos_lib.engine.trainer.fit`): each loss raw (faint) and smoothed by a ``window``-step
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
    ax.legend(fontsize=10)
    if title:
        ax.set_title(title, fontsize=12)
    return ax


#: Colours of the two DTN streams in :func:`plot_routes`.


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


def draw_boxes(ax, boxes, color=None, ls="-", lw=1.5, alpha=1.0, labels=None, fontsize=11,
               pixel_offset=0.0, zorder=3):
    """Draw ``(K, 4)`` xyxy boxes on an ``imshow`` axes; the one box drawer of the book.

    ``color``: one colour, one per box, or None (``C0, C1, ...``).  ``labels``: one string
    per box, written on a tag of the box's colour above its top-left corner.
    ``pixel_offset`` maps box coordinates to ``imshow`` coordinates (where pixel ``j`` is
    drawn on ``[j - 0.5, j + 0.5]``): ``0`` for boxes whose corners are pixel centres (the
    convention of :mod:`vos_lib.core.boxes`), ``-0.5`` for RoIs in the continuous
    ``aligned=True`` RoIAlign convention (pixel ``j`` covers ``[j, j + 1]``).  Returns ax."""
    from matplotlib.colors import is_color_like
    from matplotlib.patches import Rectangle

    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
    if color is None:
        colors = [f"C{k}" for k in range(len(boxes))]
    elif is_color_like(color):
        colors = [color] * len(boxes)
    else:
        colors = [list(color)[k % len(color)] for k in range(len(boxes))]
    for k, (x1, y1, x2, y2) in enumerate(boxes + pixel_offset):
        ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, ec=colors[k], lw=lw,
                               ls=ls, alpha=alpha, zorder=zorder))
        if labels is not None:
            ax.text(x1, y1 - 1.5, labels[k], color="white", fontsize=fontsize, va="bottom",
                    zorder=zorder + 1, bbox=dict(facecolor=colors[k], alpha=0.75, lw=0, pad=1))
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
            ax.text(0.03, 0.97, f"{a.shape[0]}x{a.shape[1]}", transform=ax.transAxes, fontsize=11,
                    va="top", ha="left", color="white",
                    bbox=dict(facecolor="black", alpha=0.5, lw=0, pad=0.8))
            if colorbar:
                fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02).ax.tick_params(labelsize=9)
            if c == 0:
                ax.set_ylabel(lab, fontsize=10)
            if r == 0 and col_titles is not None:
                ax.set_title(col_titles[c], fontsize=11)
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


def frame_panel(ax, frame, pad=0, title=None):
    """Show ``frame`` in the CRPN box convention (pixel ``x`` covers ``[x, x + 1)``, see
    :mod:`vos_lib.dtn.crpn`) with ``pad`` pixels of margin, so boxes leaving the frame show."""
    frame = np.asarray(frame)
    H, W = frame.shape[:2]
    ax.imshow(frame, extent=(0, W, H, 0), interpolation="nearest")
    ax.set_xlim(-pad, W + pad)
    ax.set_ylim(H + pad, -pad)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_facecolor("0.85")
    if title:
        ax.set_title(title, fontsize=11)
    return ax


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
                        ha="center", va="bottom", fontsize=10)
    ax.set_xticks(x, groups)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=10)
    return ax
