"""Figures and small measurements of chapter 7 (DIPNet Sec. 3.1, Eq. 1 and Eq. 2, Fig. 3
and Fig. 6): what the identity attention vector beta selects in the feature maps, the
mask attention inside the identity encoder, and the dynamic identity alpha of Eq. 2.

* :func:`activation_shares` - the share of the activation of a set of feature channels
  that falls inside each of a few image regions (object, distractors, ...);
  :func:`attention_sample` measures it for the most and the least attended channels
  over a sample of object-frames, with how close beta is to other identities;
* :func:`plot_attention_channels` - the feature maps of the channels with the largest
  and the smallest attention, over the frame;
* :func:`record_mask_attention` - a context manager that records every Eq. 1 step
  (``f' = f + m * f``) of an :class:`~vos_lib.dipnet.identity.IdentityEncoder`, and the
  encoder's last feature map; :func:`plot_mask_attention` draws them;
* :func:`identity_series` (beta of one object in every frame), :func:`dynamic_identity`
  (Eq. 2 over such a series, with the skip on empty masks) and :func:`centred_cosine`;
* :func:`plot_identity_drift` and :func:`omega_slider` - alpha_t against the first and
  the current frame's identity, for several omega values (a slider in Jupyter).
"""
from __future__ import annotations

from contextlib import contextmanager

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

from ...io import VOID
from ..common import contour, live_slider

__all__ = ["activation_shares", "attention_sample", "plot_attention_channels",
           "record_mask_attention", "plot_mask_attention", "identity_series",
           "dynamic_identity", "centred_cosine", "plot_identity_drift", "omega_slider",
           "OMEGA_COLORS"]

#: Line colours of the omega values of the paper's Fig. 6 sweep (0 = first frame only,
#: 1 = last frame only); other values are drawn in grey.
OMEGA_COLORS = {0.0: "#1b9e77", 0.5: "#7570b3", 0.8: "#e7298a", 0.95: "#d95f02",
                1.0: "#444444"}


def _pool(region, hw) -> np.ndarray:
    """A ``(H, W)`` mask averaged over the cells of an ``hw`` grid: the fraction of each
    cell it covers."""
    r = torch.as_tensor(np.asarray(region, dtype=np.float32))[None, None]
    return F.adaptive_avg_pool2d(r, tuple(hw))[0, 0].numpy()


def activation_shares(features, regions: dict, channels=None) -> dict:
    """Where the activation of some feature channels lies.

    ``features``: ``(C, h, w)`` non-negative maps (a ReLU output); ``regions``:
    ``{name: (H, W) mask}`` at the frame's resolution (averaged onto the ``h x w`` grid,
    so a cell half covered by the object counts half); ``channels``: indices, or None
    for every channel.  Returns ``{name: share}``: the fraction of the summed activation
    of those channels that falls inside each region, and ``"area: <name>"``, the
    region's own share of the grid (what a map spread evenly over the frame would give).
    """
    f = np.asarray(features, dtype=np.float64)
    f = f if channels is None else f[np.asarray(channels)]
    total = f.sum(0)                                   # (h, w) summed activation
    out = {}
    for name, r in regions.items():
        cells = _pool(r, f.shape[-2:])
        mass = float((total * cells).sum())
        out[name] = mass / float(total.sum()) if total.sum() > 0 else np.nan
        out[f"area: {name}"] = float(cells.mean())
    return out


@torch.no_grad()
def attention_sample(model, davis, sequences, times=(5, 15, 25, 35), k: int = 16,
                     min_pixels: int = 20) -> list:
    """What the identity vector selects, on a sample of object-frames of synthetic
    videos: for each video in ``sequences`` (of the :class:`~vos_lib.data.DAVIS` split
    ``davis``), each frame t in ``times`` and each object with at least ``min_pixels``
    pixels in frames t-1 and t, beta of the object's ground-truth mask in frame t-1 (as
    the propagation reads it) and the feature maps of frame t (``model.encode``, whole
    frames).

    Returns one dict per object-frame: ``seq``, ``t``, ``obj``; ``top``, ``bottom`` and
    ``all``: :func:`activation_shares` of the ``k`` channels with the largest beta, the
    ``k`` with the smallest, and all channels, over the regions ``"object"`` (its mask
    in frame t), ``"distractors"`` (the unannotated look-alikes, re-rendered by
    :func:`~vos_lib.viz.dipnet.propagation.synthetic_distractor_masks`) and ``"other
    objects"``; ``rho``: the Spearman correlation over the channels of beta with each
    channel's own share inside the object; and the centred cosine
    (:func:`centred_cosine`) of beta with the identity of the same frame under an empty
    mask (``cos_empty``), of the other objects (``cos_other``, their mean) and of the
    distractors (``cos_distractors``), ``nan`` where there is none with ``min_pixels``.
    """
    from scipy.stats import spearmanr

    from ...core.segmenter import frame_tensor
    from .propagation import synthetic_distractor_masks

    def ident(img, m):
        mask = torch.from_numpy(m.astype(np.float32))[None, None]
        return model.identify(img, mask)[0]

    model.eval()
    out = []
    for seq in sequences:
        s = davis.load_sequence(seq, load_flows=False)
        gt = np.stack(s.masks)
        dist = synthetic_distractor_masks(davis.root, seq, gt)
        for t in times:
            f = model.encode(frame_tensor(s.frames[t]))[0].numpy()
            img = frame_tensor(s.frames[t - 1])
            empty = ident(img, np.zeros(gt.shape[1:], bool)).numpy()
            ids = [k_ for k_ in s.object_ids if (gt[t - 1] == k_).sum() >= min_pixels]
            betas = {k_: ident(img, gt[t - 1] == k_).numpy() for k_ in ids}
            d = (ident(img, dist[t - 1]).numpy() if dist[t - 1].sum() >= min_pixels
                 else None)
            for obj in ids:
                cur = gt[t] == obj
                if cur.sum() < min_pixels:
                    continue
                beta = betas[obj]
                other = (gt[t] > 0) & (gt[t] != obj) & (gt[t] != VOID)
                regions = {"object": cur, "distractors": dist[t],
                           "other objects": other}
                order = np.argsort(-beta)
                own = np.array([activation_shares(f[c:c + 1], {"object": cur})["object"]
                                for c in range(len(f))])
                ok = np.isfinite(own)
                others = [centred_cosine(beta, betas[o]) for o in ids if o != obj]
                out.append({
                    "seq": seq, "t": t, "obj": int(obj),
                    "top": activation_shares(f, regions, order[:k]),
                    "bottom": activation_shares(f, regions, order[-k:]),
                    "all": activation_shares(f, regions),
                    "rho": float(spearmanr(beta[ok], own[ok]).correlation),
                    "cos_empty": float(centred_cosine(beta, empty)),
                    "cos_other": float(np.mean(others)) if others else np.nan,
                    "cos_distractors": (float(centred_cosine(beta, d)) if d is not None
                                        else np.nan)})
    return out


def _cells(ax, frame, amap, vmax=None):
    """``frame`` in grey with the ``(h, w)`` map ``amap`` over it, one colour per
    feature cell (nearest: each cell is one position of the feature grid)."""
    H, W = frame.shape[:2]
    ax.imshow(np.asarray(frame).mean(-1), cmap="gray", vmin=0, vmax=255)
    vmax = vmax or max(float(amap.max()), 1e-6)
    ax.imshow(amap, cmap="magma", alpha=0.6, extent=(0, W, H, 0),
              interpolation="nearest", vmin=0, vmax=vmax)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_attention_channels(frame, features, beta, mask, distractors=None, others=None,
                            k=4, size=1.95, title=None):
    """The current frame's feature maps of the ``k`` channels with the largest attention
    ``beta`` (top row) and the ``k`` with the smallest (bottom row), each over the frame
    in grey (its own colour scale; beta and the map's peak in the title), with the
    object's mask outlined in white, the look-alike distractors (``distractors``,
    ``(H, W)`` bool) in dashed cyan and the other objects (``others``) in dotted
    yellow.  The first column sums the row's ``k`` maps.  ``features``: ``(C, h, w)``;
    ``beta``: ``(C,)``.  Returns the figure."""
    f, b = np.asarray(features), np.asarray(beta)
    order = np.argsort(-b)
    rows = {"largest attention": order[:k], "smallest attention": order[::-1][:k]}
    H, W = np.asarray(frame).shape[:2]
    fig, axes = plt.subplots(2, k + 1, figsize=((k + 1) * size + 0.4,
                                                2 * size * H / W + 1.5), squeeze=False)
    for r, (label, idx) in enumerate(rows.items()):
        _cells(axes[r, 0], frame, f[idx].sum(0))
        axes[r, 0].set_title(f"sum of these {k}", fontsize=10)
        axes[r, 0].set_ylabel(label, fontsize=10)
        for j, c in enumerate(idx, 1):
            _cells(axes[r, j], frame, f[c])
            axes[r, j].set_title(f"ch {c}: β={b[c]:.2f}\npeak {f[c].max():.2f}",
                                 fontsize=10)
        for ax in axes[r]:
            contour(ax, mask, color="white", lw=1.3)
            if distractors is not None:
                contour(ax, distractors, color="cyan", lw=1.1, ls="--")
            if others is not None:
                contour(ax, others, color="yellow", lw=1.1, ls=":")
    if title:
        fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    return fig


@contextmanager
def record_mask_attention(encoder):
    """Record what an :class:`~vos_lib.dipnet.identity.IdentityEncoder` does with the
    mask: inside the ``with`` block, every call of its Eq. 1 step ``attend(f, m)``
    appends ``{"f": f, "m": m, "out": f + m * f}`` (``m`` resized to ``f``'s grid) to
    the yielded list, and its last block's output (what is pooled into beta) is
    appended as ``{"last": x}``.  Tensors are detached copies."""
    records = []
    original = encoder.attend

    def attend(f, m):
        out = original(f, m)
        mr = F.adaptive_avg_pool2d(m, f.shape[-2:])
        records.append({"f": f.detach().clone(), "m": mr.detach().clone(),
                        "out": out.detach().clone()})
        return out

    last = getattr(encoder.net, f"layer{len(encoder.net.levels)}")
    hook = last.register_forward_hook(
        lambda mod, inp, out: records.append({"last": out.detach().clone()}))
    encoder.attend = attend                      # the instance attribute shadows it
    try:
        yield records
    finally:
        del encoder.attend
        hook.remove()


def plot_mask_attention(records, records_nomask, names, frame, mask, size=1.9):
    """Eq. 1 at each site of the identity encoder (rows, named by ``names``): the mask
    on the site's grid, the channel mean of ``f`` before and of ``f' = f + m * f`` after
    (one colour scale per row); the last row shows the encoder's last feature map
    (channel mean) with an empty mask (``records_nomask``) and with the mask, and their
    ratio.  The input ``frame`` with its ``mask`` heads the first column.  Records come
    from :func:`record_mask_attention`, for one image.  Returns the figure."""
    from matplotlib.colors import TwoSlopeNorm

    sites = [r for r in records if "f" in r]
    last = [r["last"] for r in records if "last" in r][0][0].mean(0).numpy()
    last0 = [r["last"] for r in records_nomask if "last" in r][0][0].mean(0).numpy()
    n = len(sites) + 1
    fig, axes = plt.subplots(n, 4, figsize=(4 * size + 0.8, n * size * 0.95),
                             squeeze=False)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 0].imshow(frame)
    contour(axes[0, 0], mask, color="white")
    axes[0, 0].set_title(f"input {frame.shape[0]}x{frame.shape[1]}", fontsize=10)
    for ax in axes[1:, 0]:
        ax.axis("off")
    for i, (r, name) in enumerate(zip(sites, names)):
        m = r["m"][0, 0].numpy()
        f, out = r["f"][0].mean(0).numpy(), r["out"][0].mean(0).numpy()
        vmax = float(out.max())
        axes[i, 1].imshow(m, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        axes[i, 1].set_title(f"m on {m.shape[0]}x{m.shape[1]}", fontsize=10)
        axes[i, 1].set_ylabel(name, fontsize=11)
        for ax, img, t in ((axes[i, 2], f, "f (channel mean)"),
                           (axes[i, 3], out, "f' = f + m·f")):
            ax.imshow(img, cmap="viridis", vmin=0, vmax=vmax, interpolation="nearest")
            ax.set_title(t, fontsize=10)
    row = axes[-1]
    vmax = float(max(last.max(), last0.max()))
    ratio = last / np.maximum(last0, 1e-6)
    for ax, img, t in ((row[1], last0, "empty mask (m = 0)"),
                       (row[2], last, "with the mask")):
        ax.imshow(img, cmap="viridis", vmin=0, vmax=vmax, interpolation="nearest")
        ax.set_title(t, fontsize=10)
    row[1].set_ylabel(f"last map {last.shape[0]}x{last.shape[1]}", fontsize=11)
    im = row[3].imshow(ratio, cmap="coolwarm", interpolation="nearest",
                       norm=TwoSlopeNorm(vcenter=1.0, vmin=0.0,
                                         vmax=max(float(ratio.max()), 1.01)))
    row[3].set_title("ratio with / without", fontsize=10)
    fig.colorbar(im, ax=row[3], fraction=0.046, pad=0.03).ax.tick_params(labelsize=9)
    fig.tight_layout()
    return fig


@torch.no_grad()
def identity_series(model, frames, masks) -> np.ndarray:
    """beta = ``model.identify(frame, mask)`` of one object in every frame of a video:
    ``frames`` ``(T, H, W, 3)`` uint8, ``masks`` ``(T, H, W)`` bool (ground truth or a
    method's output).  Returns ``(T, C)``; rows of empty masks are ``nan`` (Eq. 2 skips
    them)."""
    from ...core.segmenter import frame_tensor
    m = np.asarray(masks, dtype=bool)
    imgs = frame_tensor(np.asarray(frames))
    beta = model.identify(imgs, torch.from_numpy(m.astype(np.float32))[:, None]).numpy()
    beta[m.reshape(len(m), -1).sum(1) == 0] = np.nan
    return beta


def dynamic_identity(betas, omega: float) -> np.ndarray:
    """Eq. 2 over a video as the inference loop runs it (one object): alpha is
    initialised with the first frame's identity (``alpha_0 = alpha_1 = beta_0``) and,
    for t >= 2, ``alpha_t = omega * beta_{t-1} + (1 - omega) * alpha_{t-1}``
    (:func:`vos_lib.dipnet.identity.update_identity`), kept as it is where
    ``beta_{t-1}`` is ``nan`` (an empty mask).  ``betas``: ``(T, C)``.  Returns
    ``(T, C)``: row t is the alpha that segments frame t."""
    from ...dipnet.identity import update_identity
    b = np.asarray(betas, dtype=np.float32)
    alpha = torch.from_numpy(b[:1].copy())
    out = [alpha[0].numpy(), alpha[0].numpy()]
    for t in range(2, len(b)):
        prev = b[t - 1:t]
        empty = torch.tensor([bool(np.isnan(prev).any())])
        beta = torch.from_numpy(np.nan_to_num(prev))
        alpha = update_identity(alpha, beta, omega, empty)
        out.append(alpha[0].numpy())
    return np.stack(out[:len(b)])


def centred_cosine(a, b) -> np.ndarray:
    """Cosine similarity of ``a`` and ``b`` along the last axis after subtracting each
    vector's mean over its entries (the Pearson correlation over the channels).  Every
    entry of an identity vector lies in (0, 1), so plain cosines all crowd near 1;
    centring measures whether the same channels are high and low.  ``nan`` rows give
    ``nan``."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    a = a - a.mean(-1, keepdims=True)
    b = b - b.mean(-1, keepdims=True)
    return (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


def _color(w):
    return OMEGA_COLORS.get(round(float(w), 3), "0.6")


def plot_identity_drift(alphas: dict, first, current, refs=None, meta=None, obj=1,
                        axes=None, title=None, ylim=None, lw=None, legend=True):
    """Two panels over the frames t >= 1: the centred cosine (:func:`centred_cosine`)
    of each ``alphas[omega]`` ``(T, C)`` with the first frame's identity ``first``
    ``(C,)`` (left) and with the current frame's identity ``current`` ``(T, C)``
    (right, ``nan`` where the object is hidden).  ``refs``: ``{label: value}``
    horizontal reference lines (e.g. how close a look-alike distractor's identity is);
    ``meta``, ``obj``: shade that object's generator events.  ``axes``: two axes to draw
    into (default: a new figure); ``legend``: one legend for the whole figure, under
    its panels.  Returns the figure."""
    from ..data import shade_events
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(9.6, 3.9), sharey=True)
    fig = axes[0].figure
    T = len(current)
    t = np.arange(1, T)
    for w, A in alphas.items():
        kw = dict(color=_color(w), lw=(lw or {}).get(w, 1.8), label=f"ω = {w:g}")
        axes[0].plot(t, centred_cosine(A[1:], first), **kw)
        axes[1].plot(t, centred_cosine(A[1:], current[1:]), **kw)
    styles = (":", "-.", "--")
    for ax, what in zip(axes, ("first frame's identity β₀",
                               "current frame's identity βₜ")):
        for i, (label, v) in enumerate((refs or {}).items()):
            ax.axhline(v, color="0.35", lw=1.2, ls=styles[i % 3], label=label)
        if meta is not None:
            shade_events(ax, meta, obj, ("occlusion", "full_occlusion", "out_of_frame",
                                         "jump", "reenter"), alpha=0.15)
        ax.set_title(f"αₜ vs the {what}", fontsize=11)
        ax.set_xlabel("frame t")
        ax.grid(alpha=0.3)
        if ylim:
            ax.set_ylim(*ylim)
    axes[0].set_ylabel("centred cosine")
    if title:
        fig.suptitle(title, fontsize=12)
    if legend:
        _legend_below(fig, axes[0])
    return fig


def _legend_below(fig, ax, ncol=4):
    """One legend for the whole figure, under its panels (from ``ax``'s lines)."""
    handles, labels = ax.get_legend_handles_labels()
    rows = -(-len(labels) // ncol)
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=10,
               frameon=False)
    fig.tight_layout(rect=(0, (0.1 + 0.27 * rows) / fig.get_figheight(), 1, 1))


def omega_slider(betas, refs=None, meta=None, obj=1, omega=0.95, title=None,
                 static=(0.0, 0.5, 0.8, 0.95, 1.0)):
    """An ipywidgets ``FloatSlider`` for omega in [0, 1] that redraws
    :func:`plot_identity_drift` for Eq. 2 over ``betas`` ``(T, C)`` (the identity of
    one object in every frame; ``nan`` rows are skipped), with omega = 0 (the first
    frame only) as a thin reference.  Needs a live kernel (Jupyter or Colab).

    Returns a static figure for the rendered page, which cannot run the widget: the
    curves of every omega in ``static`` (default: the values of the paper's Fig. 6
    sweep in :mod:`vos_lib.dipnet.experiments`); glue it with
    ``viz.glue_figure(name, fig, show=False)``."""
    import ipywidgets as widgets

    betas = np.asarray(betas)

    def figure(ws, lw=None):
        alphas = {w: dynamic_identity(betas, w) for w in ws}
        return plot_identity_drift(alphas, betas[0], betas, refs, meta, obj,
                                   title=title, lw=lw)

    live_slider(widgets.FloatSlider(value=omega, min=0.0, max=1.0, step=0.05,
                                    description="omega", continuous_update=False),
                lambda w: figure(sorted({0.0, w}), lw={0.0: 1.0} if w else None))
    fig = figure(static)
    plt.close(fig)
    return fig
