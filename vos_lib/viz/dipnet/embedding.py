"""Chapter 10 (DIPNet Fig. 7, Sec. 4.2.2): the identity attention vectors of a video's
instances, how well they group by instance, and their t-SNE maps.

* :func:`embedding_vectors` - beta (Eq. 1, the identity encoder's output) of every
  instance's ground-truth mask in every frame of a sequence, with the instance id, the
  frame index, the mask's area and the visible fraction of the object (from the
  generator's ``Meta/<seq>.json``).
* Numbers measured in the vectors' own space (no t-SNE involved):
  :func:`embedding_silhouette` (silhouette by instance, cosine distance),
  :func:`embedding_reference_accuracy` (each vector given to the instance whose
  first-frame vector is nearest), :func:`embedding_nn_accuracy` (nearest neighbour
  outside a window of frames) and :func:`embedding_step_ratio` (how gradual an
  instance's path through the frames is).
* :func:`embedding_tsne` (scikit-learn's t-SNE, fixed seed) and the figures
  :func:`plot_embedding_grid` (before/after training x by instance/by frame) and
  :func:`plot_embedding_events` (frames where the object is mostly hidden, with
  :func:`embedding_blank_distance`: how far beta sits from the frame's empty-mask
  beta) and :func:`plot_embedding_pairs` (per-video scores before/after training).
"""
from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
from scipy.spatial.distance import cdist

from ...core.segmenter import frame_tensor, object_masks
from ...io import VOID

__all__ = ["IdentityEmbedding", "embedding_vectors", "embedding_silhouette",
           "embedding_reference_accuracy", "embedding_nn_accuracy",
           "embedding_step_ratio", "embedding_tsne", "plot_embedding_grid",
           "plot_embedding_events", "plot_embedding_pairs",
           "embedding_blank_distance", "EMBEDDING_COLORS"]

#: One colour per instance (1, 2, 3, ...), as the paper's Fig. 7 (red, green, blue).
EMBEDDING_COLORS = ("#d62728", "#2ca02c", "#1f77b4", "#ff7f0e", "#9467bd", "#8c564b")
_MARKERS = ("o", "s", "^", "D", "v", "P")


@dataclass
class IdentityEmbedding:
    """The identity vectors of one sequence: row ``n`` of ``vectors (N, C)`` is beta of
    instance ``instance[n]`` in frame ``frame[n]``; ``area[n]`` is its mask's share of
    the frame and ``visible[n]`` the object's visible fraction (``nan`` without
    metadata).  ``skipped``: ``(frame, instance)`` pairs whose mask is empty (the object
    is fully hidden), left out as Eq. 2 skips them.  ``blank (T, C)``: beta of each
    frame with an empty mask (Eq. 1 then leaves the features as they are), when asked
    for."""
    name: str
    vectors: np.ndarray
    instance: np.ndarray
    frame: np.ndarray
    area: np.ndarray
    visible: np.ndarray
    skipped: list
    blank: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.vectors)


@torch.no_grad()
def embedding_vectors(model, seq, blank: bool = False,
                      batch: int = 64) -> IdentityEmbedding:
    """beta = ``model.identify(frame, mask)`` (Eq. 1 inside the identity encoder) for
    every instance of ``seq`` (a loaded :class:`~vos_lib.data.Sequence`) in every frame
    where its ground-truth mask is not empty; the whole frame is the input.
    ``blank=True`` also returns each frame's beta for an empty mask."""
    model.eval()
    ids = list(seq.object_ids)
    frames = frame_tensor(seq.frames)                             # (T, 3, H, W)
    meta = (seq.meta or {}).get("frames")
    rows, skipped = [], []
    for t, mask in enumerate(seq.masks):
        m = object_masks(np.where(mask == VOID, 0, mask), ids)     # (K, H, W)
        for k, obj in enumerate(ids):
            if m[k].sum() == 0:
                skipped.append((t, obj))
                continue
            vis = (meta[t]["objects"].get(str(obj), {}).get("visible_frac", np.nan)
                   if meta else np.nan)
            rows.append((t, obj, m[k], float(m[k].mean()), vis))
    out = []
    for i in range(0, len(rows), batch):
        chunk = rows[i:i + batch]
        images = frames[[r[0] for r in chunk]]
        masks = torch.stack([r[2] for r in chunk])[:, None]
        out.append(model.identify(images, masks).numpy())
    empty = None
    if blank:
        zeros = torch.zeros(len(frames), 1, *frames.shape[-2:])
        empty = torch.cat([model.identify(frames[i:i + batch], zeros[i:i + batch])
                           for i in range(0, len(frames), batch)]).numpy()
    col = lambda j, dtype: np.array([r[j] for r in rows], dtype=dtype)  # noqa: E731
    return IdentityEmbedding(seq.name, np.concatenate(out), col(1, int), col(0, int),
                             col(3, float), col(4, float), skipped, empty)


def embedding_silhouette(emb: IdentityEmbedding, metric: str = "cosine") -> float:
    """Silhouette score of the vectors grouped by instance (scikit-learn), in their own
    space: +1 tight and apart, 0 overlapping, < 0 closer to another instance."""
    from sklearn.metrics import silhouette_score
    return float(silhouette_score(emb.vectors, emb.instance, metric=metric))


def _first_frame_refs(emb: IdentityEmbedding):
    """Each instance's vector in the first frame where it has a mask."""
    ids = np.unique(emb.instance)
    first = [np.flatnonzero(emb.instance == i)[np.argmin(emb.frame[emb.instance == i])]
             for i in ids]
    return ids, np.array(first)


def embedding_reference_accuracy(emb: IdentityEmbedding, metric: str = "cosine",
                                 per_vector: bool = False):
    """Give every vector (but the references) to the instance whose first-frame vector
    is nearest: the share given to the right instance (chance is about 1/K).  This is
    the question the propagation asks of beta: does it still point at its object?
    ``per_vector=True`` returns a boolean per vector instead (references: True)."""
    ids, first = _first_frame_refs(emb)
    d = cdist(emb.vectors, emb.vectors[first], metric)
    right = ids[d.argmin(1)] == emb.instance
    if per_vector:
        return right
    rest = np.ones(len(emb), bool)
    rest[first] = False
    return float(right[rest].mean())


def embedding_nn_accuracy(emb: IdentityEmbedding, gap: int = 0,
                          metric: str = "cosine") -> float:
    """Nearest-neighbour instance accuracy, leaving out every vector within ``gap``
    frames of the query (``gap = 0``: leave one frame out)."""
    d = cdist(emb.vectors, emb.vectors, metric)
    d[np.abs(emb.frame[:, None] - emb.frame[None]) <= gap] = np.inf
    ok = np.isfinite(d).any(1)
    return float((emb.instance[d.argmin(1)] == emb.instance)[ok].mean())


def embedding_step_ratio(emb: IdentityEmbedding, metric: str = "cosine") -> float:
    """How gradual each instance's path through the frames is: the mean distance
    between its vectors in consecutive frames over the mean distance between any two
    of its frames, averaged over instances (lower: smoother; a random order of the
    same vectors gives about 1)."""
    ratios = []
    for i in np.unique(emb.instance):
        sel = np.flatnonzero(emb.instance == i)
        sel = sel[np.argsort(emb.frame[sel])]
        if len(sel) < 3:
            continue
        d = cdist(emb.vectors[sel], emb.vectors[sel], metric)
        step = np.diag(d, 1).mean()
        ratios.append(step / d[np.triu_indices(len(sel), 1)].mean())
    return float(np.mean(ratios))


def embedding_tsne(emb: IdentityEmbedding, seed: int = 0, perplexity: float = 30.0,
                   metric: str = "cosine") -> np.ndarray:
    """2-d t-SNE map ``(N, 2)`` of the vectors (scikit-learn, PCA initialisation, fixed
    ``random_state``)."""
    from sklearn.manifold import TSNE
    perplexity = min(perplexity, (len(emb) - 1) / 3)
    tsne = TSNE(2, perplexity=perplexity, metric=metric, init="pca", random_state=seed)
    return tsne.fit_transform(emb.vectors.astype(np.float64))


def _by_instance(ax, xy, emb, size=28):
    for j, i in enumerate(np.unique(emb.instance)):
        s = emb.instance == i
        ax.scatter(*xy[s].T, s=size, color=EMBEDDING_COLORS[j % 6],
                   marker=_MARKERS[j % 6], label=f"instance {i}", edgecolor="none",
                   alpha=0.85)


def _by_frame(ax, xy, emb, highlight, size=28):
    ids = list(np.unique(emb.instance))
    ax.scatter(*xy[emb.instance != highlight].T, s=size * 0.6, color="0.85",
               edgecolor="none", zorder=1)
    s = np.flatnonzero(emb.instance == highlight)
    s = s[np.argsort(emb.frame[s])]
    ax.plot(*xy[s].T, color="0.55", lw=0.8, zorder=2)
    return ax.scatter(*xy[s].T, s=size * 1.3, c=emb.frame[s], cmap="viridis", vmin=0,
                      vmax=emb.frame.max(), marker=_MARKERS[ids.index(highlight) % 6],
                      edgecolor="none", zorder=3)


def plot_embedding_grid(maps: dict, emb: dict, scores: dict | None = None,
                        highlight: int | None = None, size: float = 4.3):
    """Fig. 7 of the paper, our way: a row per model (``maps``: ``{row title: xy}``,
    ``emb``: ``{row title: IdentityEmbedding}``), t-SNE coloured by instance (left)
    and, for instance ``highlight`` (default: the last, as the paper's "Instance-3"),
    by frame index (right; a line joins consecutive frames, the other instances grey).
    ``scores``: ``{row title: text}`` added to the left panel's title."""
    rows = list(maps)
    fig, axes = plt.subplots(len(rows), 2, figsize=(2 * size, len(rows) * size * 0.92),
                             squeeze=False)
    for r, name in enumerate(rows):
        xy, e = maps[name], emb[name]
        hi = int(e.instance.max()) if highlight is None else highlight
        _by_instance(axes[r, 0], xy, e)
        sc = _by_frame(axes[r, 1], xy, e, hi)
        extra = f"\n{scores[name]}" if scores and name in scores else ""
        axes[r, 0].set_title(f"{name}: by instance{extra}", fontsize=11)
        axes[r, 1].set_title(f"{name}: instance {hi} by frame", fontsize=11)
        cb = fig.colorbar(sc, ax=axes[r, 1], fraction=0.046, pad=0.02)
        cb.set_label("frame")
        for ax in axes[r]:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].legend(loc="best", fontsize=10, framealpha=0.8)
    fig.tight_layout()
    return fig


def embedding_blank_distance(emb: IdentityEmbedding, metric: str = "cosine"):
    """Per vector, its distance to the same frame's beta for an empty mask (``emb``
    computed with ``blank=True``): how much the object's mask moved beta away from
    what the encoder says about the frame alone."""
    if emb.blank is None:
        raise ValueError("compute it with embedding_vectors(..., blank=True)")
    a, b = emb.vectors, emb.blank[emb.frame]
    return np.array([cdist(a[n:n + 1], b[n:n + 1], metric)[0, 0]
                     for n in range(len(a))])


def plot_embedding_events(xy: np.ndarray, emb: IdentityEmbedding, hard: np.ndarray,
                          title: str = "", blank_distance: np.ndarray | None = None,
                          size: float = 4.3):
    """Left: one t-SNE map by instance, the vectors of ``hard`` frames (bool per
    vector, e.g. the object mostly hidden) ringed in black, the others faded.  Right
    (with ``blank_distance``): that distance against the mask's share of the frame."""
    two = blank_distance is not None
    fig, axes = plt.subplots(1, 2 if two else 1, figsize=(2 * size + 1.2, size),
                             squeeze=False)
    ax = axes[0, 0]
    for j, i in enumerate(np.unique(emb.instance)):
        s = emb.instance == i
        c, mk = EMBEDDING_COLORS[j % 6], _MARKERS[j % 6]
        ax.scatter(*xy[s & ~hard].T, s=24, color=c, marker=mk, alpha=0.35,
                   edgecolor="none", label=f"instance {i}")
        ax.scatter(*xy[s & hard].T, s=40, color=c, marker=mk, edgecolor="black",
                   linewidth=1.1)
        if two:
            axes[0, 1].scatter(emb.area[s & ~hard], blank_distance[s & ~hard], s=24,
                               color=c, marker=mk, alpha=0.35, edgecolor="none")
            axes[0, 1].scatter(emb.area[s & hard], blank_distance[s & hard], s=40,
                               color=c, marker=mk, edgecolor="black", linewidth=1.1)
    ax.scatter([], [], s=40, facecolor="white", edgecolor="black",
               label="mostly hidden")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=11)
    ax.legend(loc="best", fontsize=10, framealpha=0.8)
    if two:
        b = axes[0, 1]
        b.set_xscale("log")
        b.set_xlabel("mask area (share of the frame)")
        b.set_ylabel("cosine distance to the\nframe's empty-mask beta")
        b.set_title("the smaller the mask, the closer to the frame alone", fontsize=11)
    fig.tight_layout()
    return fig


def plot_embedding_pairs(panels: dict, n_objects: dict | None = None,
                         size: float = 4.2):
    """Per-video scores before (x) and after (y) training, one panel per score:
    ``panels = {title: (before {video: score}, after {video: score})}``; above the
    diagonal, training raised the score.  ``n_objects`` ({video: K}) picks the
    marker."""
    fig, axes = plt.subplots(1, len(panels), figsize=(len(panels) * size + 0.4, size),
                             squeeze=False)
    for ax, (title, (before, after)) in zip(axes[0], panels.items()):
        vids = sorted(set(before) & set(after))
        x = np.array([before[v] for v in vids])
        y = np.array([after[v] for v in vids])
        lo, hi = min(x.min(), y.min()), max(x.max(), y.max())
        pad = 0.05 * (hi - lo)
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="0.6", lw=1, ls="--")
        ks = sorted({(n_objects or {}).get(v, 0) for v in vids})
        for j, k in enumerate(ks):
            s = np.array([(n_objects or {}).get(v, 0) == k for v in vids])
            ax.scatter(x[s], y[s], s=40, marker=_MARKERS[j % 6], color="#1f77b4",
                       label=f"{k} objects" if k else None, alpha=0.85)
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(lo - pad, hi + pad)
        ax.set_aspect("equal")
        ax.set_xlabel("before training (random init)")
        ax.set_ylabel("after training")
        ax.set_title(title, fontsize=11)
        if any(ks):
            ax.legend(loc="lower right", fontsize=10)
    fig.tight_layout()
    return fig
