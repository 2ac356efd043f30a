"""Figures of chapter 12 (DTN vs DIPNet): scores by event type
(:mod:`vos_lib.eval.events`) as grouped bars, and strips of frames that show where a
method failed."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["CMP_COLORS", "event_bars", "failure_strips"]

#: One colour per method of chapter 12, the same in every figure.
CMP_COLORS = {"DTN": "C0", "DIPNet": "C3", "DIPNet w/o one-shot": "#f0a0a0",
              "DIPNet*": "C4", "DIS flow": "C2", "flow-only propagation": "C1",
              "repeat first mask": "0.55"}


def event_bars(table, methods, events=None, key="J_visible", count_key="frames_visible",
               ax=None, colors=None, ylabel="mean J", min_frames=1):
    """Grouped bars of one statistic by event type: ``table`` is
    :func:`vos_lib.eval.events.event_table`'s ``{event: {method: stats}}``; one group
    per event type (its tick label gives the number of object-frames, ``count_key``),
    one bar per method (``stats[key]``).  Event types with fewer than ``min_frames``
    such frames are left out.  Returns the axes."""
    events = [e for e in (events or list(table))
              if table[e][methods[0]][count_key] >= min_frames]
    colors = {**CMP_COLORS, **(colors or {})}
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.4))
    bw = 0.84 / len(methods)
    x = np.arange(len(events))
    for i, m in enumerate(methods):
        vals = [table[e][m][key] for e in events]
        ax.bar(x + (i - (len(methods) - 1) / 2) * bw, vals, bw, label=m,
               color=colors.get(m, f"C{i}"), edgecolor="white", linewidth=0.4)
    labels = [f"{e.replace('_', ' ')}\n({table[e][methods[0]][count_key]})" for e in events]
    ax.set_xticks(x, labels, fontsize=10)
    ax.set_xlim(-0.5, len(events) - 0.5)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, axis="y")
    return ax


def failure_strips(rows, size=2.15, fill=(255, 215, 0), alpha=0.55, dim=0.35):
    """One row of frames per failure example, focused on one object.

    Each row is a dict with ``label`` (the method, written left of the row), ``frames``
    (RGB frames), ``pred`` and ``gt`` (the method's and the ground-truth id masks at
    those frames), ``obj`` (the id in focus), ``titles`` (one per panel) and optionally
    ``note`` (a line under the label).  The frames are dimmed by ``dim`` (towards grey)
    so the masks stand out; the method's mask of the object is filled in ``fill``
    (RGB) with a solid outline, its other objects are outlined thin in grey, and the
    ground truth of the object is a white dashed outline.  Returns the figure."""
    from ..common import contour

    ncols = max(len(r["frames"]) for r in rows)
    h, w = np.asarray(rows[0]["frames"][0]).shape[:2]
    fig, axes = plt.subplots(len(rows), ncols, squeeze=False,
                             figsize=(ncols * size + 1.1,
                                      len(rows) * (size * h / w + 0.42)))
    col = np.asarray(fill, np.float32)
    for r, ax_row in zip(rows, axes):
        k = r["obj"]
        for i, ax in enumerate(ax_row):
            ax.set_xticks([])
            ax.set_yticks([])
            if i >= len(r["frames"]):
                ax.axis("off")
                continue
            img = np.asarray(r["frames"][i], np.float32)
            img = (1 - dim) * img + dim * 128.0
            pred, gt = np.asarray(r["pred"][i]), np.asarray(r["gt"][i])
            sel = pred == k
            img[sel] = (1 - alpha) * img[sel] + alpha * col
            ax.imshow(img.clip(0, 255).astype(np.uint8))
            for j in np.unique(pred):
                if j not in (0, k, 255):
                    contour(ax, pred == j, color="0.8", lw=0.7)
            contour(ax, sel, color=col / 255, lw=1.1)
            contour(ax, gt == k, color="white", lw=1.4, ls="--")
            ax.set_title(r["titles"][i], fontsize=10)
        label = r["label"] + (f"\n{r['note']}" if r.get("note") else "")
        ax_row[0].set_ylabel(label, fontsize=10.5, rotation=0, ha="right", va="center",
                             labelpad=6)
    fig.tight_layout(w_pad=0.3, h_pad=0.6)
    return fig
