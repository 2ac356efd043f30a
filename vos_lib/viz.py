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
