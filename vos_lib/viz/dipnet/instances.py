"""Figures and small measurements of chapter 9 (DIPNet Sec. 3.3 and 3.4, one-shot
fine-tuning and many instances).

* :func:`ssn_frame_loss` - the SSN's loss and IoU on one frame from a batch of coarse
  masks made from its ground truth by Sec. 3.4's morphology (before and after one-shot
  fine-tuning);
* :func:`dipnet_step_parts` - one step of :class:`~vos_lib.dipnet.DIPNetSegmenter`'s
  loop from a given previous frame and mask, with every intermediate kept: the
  foreground's coarse and refined masks, the crop box, the crop, the instances' coarse
  masks jointly (softmax) and separately (sigmoids), their refined masks, the pasted
  masks and the overlaps;
* :func:`overlap_map` - the pixels that two or more objects claim;
* :func:`plot_finetune_masks`, :func:`plot_j_curves`, :func:`plot_crop_steps`,
  :func:`plot_overlaps`, :func:`plot_gap_strips` - the chapter's figures.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from ...io import davis_palette, overlay
from ..common import contour, draw_boxes

__all__ = ["ssn_frame_loss", "dipnet_step_parts", "overlap_map", "plot_finetune_masks",
           "plot_j_curves", "plot_crop_steps", "plot_overlaps", "plot_gap_strips",
           "OVERLAP_COLOR"]

#: Colour of the pixels claimed by two or more objects in :func:`plot_overlaps`.
OVERLAP_COLOR = (255, 0, 255)


def _np(x: torch.Tensor) -> np.ndarray:
    return x.detach().cpu().numpy()


def _uint8(image: torch.Tensor) -> np.ndarray:
    """``(1, 3, H, W)`` float in [0, 1] -> ``(H, W, 3)`` uint8."""
    return (_np(image[0].permute(1, 2, 0)).clip(0, 1) * 255).round().astype(np.uint8)


@torch.no_grad()
def ssn_frame_loss(model, ssn, frame: np.ndarray, mask: np.ndarray, n: int = 16,
                   seed: int = 1) -> dict:
    """How well ``ssn`` (the model's SSN or a fine-tuned copy) segments one frame.

    ``n`` coarse masks are made from the binary ``mask`` (``(H, W)``, nonzero = object)
    by Sec. 3.4's random dilation/erosion (the samples of training and of one-shot
    fine-tuning, drawn with ``seed``, so two SSNs see the same ones); returns the mean
    ``ssn_bce`` (final output) and ``ssn_stages`` losses of
    :func:`~vos_lib.dipnet.model.ssn_loss` and the IoU of the thresholded outputs with
    the mask, pooled over the ``n`` samples.
    """
    from ...core.segmenter import frame_tensor
    from ...dipnet.model import morph_coarse, resize, ssn_loss

    cfg = model.cfg
    image = resize(frame_tensor(frame, None), cfg.ssn_size)
    target = torch.from_numpy((np.asarray(mask) > 0).astype(np.float32))[None, None]
    target = (resize(target, cfg.ssn_size, "area") > 0.5).float().expand(n, -1, -1, -1)
    gen = torch.Generator().manual_seed(seed)
    coarse = morph_coarse(target, model.coarse_size, cfg.morph_max, gen)
    logits = ssn.eval()(image.expand(n, -1, -1, -1), coarse)
    losses = {k: float(v) for k, v in ssn_loss(logits, target).items()}
    pred, gt = logits[-1] > 0, target > 0.5
    losses["iou"] = float((pred & gt).sum() / (pred | gt).sum().clamp(min=1))
    return losses


def overlap_map(probs: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """``(H, W)`` bool: pixels where two or more of the ``(K, H, W)`` probability maps
    are above ``threshold`` (what :class:`~vos_lib.dipnet.DIPNetSegmenter` counts as
    ``overlap_pixels``)."""
    return (np.asarray(probs) > threshold).sum(0) > 1


@torch.no_grad()
def dipnet_step_parts(seg, prev_frame: np.ndarray, prev_mask: np.ndarray,
                      frame: np.ndarray, n_objects: int | None = None) -> dict:
    """One step of ``seg`` (a :class:`~vos_lib.dipnet.DIPNetSegmenter`) from
    ``prev_frame`` with its id mask ``prev_mask`` (objects ``1..n_objects``, default
    its largest id; an absent object has an empty mask) to ``frame``.

    The loop is started on the previous frame as on a first frame (identity vectors
    from its mask; the one-shot fine-tuning when ``seg.finetune``), then one step runs
    as ``DIPNetSegmenter._step`` does, keeping what it computes.  Returns numpy arrays
    at the SSN size (``hc x wc`` for the coarse masks):

    ``canvas`` (the frame), ``fg_coarse`` and ``fg_prob`` (the foreground's IPN coarse
    mask and SSN output; None for DIPNet*), ``box`` (the crop box, SSN pixels,
    continuous coordinates), ``view`` (the crop, or the frame for DIPNet*),
    ``view_prev`` (the previous masks in the view, ``(K, H, W)``), and for ``"joint"``
    (softmax over ``[-f_fg, f_1 .. f_K]``) and ``"separate"`` (a sigmoid per object)
    each: ``coarse`` (``(K, hc, wc)``; ``"joint"`` also has ``background``, the
    ``p_0`` map), ``probs_view`` (SSN outputs in the view), ``probs`` (pasted into the
    frame), ``ids`` (merged id mask) and ``overlaps`` (pixels claimed twice).  Also
    ``ids_loop``: the id mask of ``seg``'s own step on the same state (it equals
    ``[mode]["ids"]`` for ``mode = "joint" if seg.joint else "separate"``, when
    ``seg.use_ipn``: "SSN alone" refines the previous masks instead).
    """
    from ...core.boxes import merge_masks, paste_masks
    from ...core.segmenter import frame_tensor, object_masks
    from ...dipnet.model import resize
    from ...dipnet.propagation import joint_softmax

    m = seg.model
    size = tuple(m.cfg.ssn_size)
    prev_mask = np.asarray(prev_mask)
    K = int(prev_mask.max()) if n_objects is None else int(n_objects)
    ids = torch.nn.functional.interpolate(
        torch.from_numpy(prev_mask.astype(np.float32))[None, None], size=size,
        mode="nearest")[0, 0]
    masks = object_masks(ids, K).to(seg.device)
    full0 = frame_tensor(prev_frame, None, seg.device)
    sx, sy = full0.shape[-1] / size[1], full0.shape[-2] / size[0]
    scale = full0.new_tensor([sx, sy, sx, sy])
    canvas0 = resize(full0, size)
    track, _ = seg._start(canvas0, full0, masks[:, None], scale)
    track.canvas = canvas0

    full = frame_tensor(frame, None, seg.device)
    canvas = resize(full, size)
    h, w = canvas.shape[-2:]
    out = {"canvas": _uint8(canvas), "fg_coarse": None, "fg_prob": None}
    v = seg._locate(track, canvas, full, scale)     # Sec. 3.3.1: the foreground first
    feats, image, prev, box = v["feats"], v["image"], v["prev"], v["box"]
    if v["fg"] is not None:
        out.update(fg_coarse=_np(v["fg_coarse"][0, 0]), fg_prob=_np(v["fg"][0, 0]))
    out.update(box=_np(box.reshape(4)), view=_uint8(image), view_prev=_np(prev[:, 0]))
    f = m.propagate(feats, track.alpha)
    joint = joint_softmax(f, m.propagate(feats, track.alpha_fg))
    for mode, coarse in (("joint", joint[1:]), ("separate", torch.sigmoid(f))):
        probs_view = seg._refine(image, coarse, track.ssn_inst)
        probs = (paste_masks(probs_view, box.expand(K, 4), (h, w))[:, None] if seg.crop
                 else probs_view)
        out[mode] = {"coarse": _np(coarse[:, 0]), "probs_view": _np(probs_view[:, 0]),
                     "probs": _np(probs[:, 0]), "ids": _np(merge_masks(probs)),
                     "overlaps": int(((probs > 0.5).sum(0) > 1).sum())}
    out["joint"]["background"] = _np(joint[0, 0])
    out["ids_loop"] = _np(seg._step(track, canvas, full, scale))
    return out


# ----------------------------------------------------------------------------- figures
def plot_finetune_masks(frames, rows: dict, times, gt=None, size=1.75):
    """A grid of frames (columns ``times``) with one row of overlaid id masks per entry
    of ``rows`` (``{label: (T, H, W) ids}``), and the ground truth ``gt`` as the first
    row when given.  Returns the figure."""
    rows = ({"ground truth": gt} if gt is not None else {}) | dict(rows)
    h, w = np.asarray(frames[0]).shape[:2]
    fig, axes = plt.subplots(len(rows), len(times), squeeze=False,
                             figsize=(len(times) * size + 0.4, len(rows) * size * h / w + 0.5))
    for r, (label, masks) in enumerate(rows.items()):
        for c, t in enumerate(times):
            ax = axes[r, c]
            ax.imshow(overlay(frames[t], np.asarray(masks[t]).astype(np.uint8)))
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"t = {t}", fontsize=11)
            if c == 0:
                ax.set_ylabel(label, fontsize=10)
    fig.tight_layout()
    return fig


def plot_j_curves(curves: dict, ax=None, styles: dict | None = None, title=None,
                  shade=None):
    """Per-frame J (IoU) curves ``{label: (T,) array}`` against the frame index (the
    scored frames 1..T-2 of the DAVIS protocol start at 1).  ``shade``: ``(t0, t1)``
    frames to shade (e.g. an occlusion).  Returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.2))
    styles = styles or {}
    for i, (label, j) in enumerate(curves.items()):
        j = np.asarray(j, dtype=float)
        ax.plot(np.arange(1, len(j) + 1), j, label=label,
                **({"color": f"C{i}", "lw": 2} | styles.get(label, {})))
    if shade is not None:
        ax.axvspan(*shade, color="0.85", zorder=0, label="occlusion")
    ax.set_xlabel("frame")
    ax.set_ylabel("J (IoU)")
    ax.set_ylim(-0.03, 1.03)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=10, ncol=2)
    if title:
        ax.set_title(title, fontsize=12)
    return ax


def _heat(ax, image, prob, title, vmax=1.0):
    """``prob`` (any resolution, stretched over the frame) on the frame shown in grey:
    the colour says the value, the opacity grows with it (0 is transparent)."""
    grey = np.asarray(image, dtype=float).mean(-1, keepdims=True) * 0.8
    ax.imshow(np.repeat(grey, 3, -1).astype(np.uint8))
    p = np.clip(np.asarray(prob, dtype=float) / vmax, 0, 1)
    rgba = plt.get_cmap("plasma")(p)
    rgba[..., 3] = np.clip(1.6 * p, 0, 0.9)
    ax.imshow(rgba, extent=(-0.5, image.shape[1] - 0.5, image.shape[0] - 0.5, -0.5),
              interpolation="nearest")
    ax.set_title(title, fontsize=10)


def _iou_text(ids: np.ndarray, gt: np.ndarray) -> str:
    """``J = a / b / ...`` per object of an id mask against the ground truth."""
    K = int(gt.max())
    js = [((ids == k) & (gt == k)).sum() / max(((ids == k) | (gt == k)).sum(), 1)
          for k in range(1, K + 1)]
    return "J " + " / ".join(f"{j:.2f}" for j in js)


def plot_crop_steps(parts: dict, gt: np.ndarray, nocrop: dict | None = None, size=2.2):
    """The foreground crop of Sec. 3.3.1 on one frame (from :func:`dipnet_step_parts`
    of a segmenter with ``crop=True``): the foreground's coarse mask and SSN output with
    the crop box; the crop with each object's refined mask outlined; the masks pasted
    back and merged, with the ground truth ``gt`` outlined (dashed) and each object's J
    in the title.  ``nocrop``: the same step of DIPNet* (``crop=False``), drawn last.
    Returns the figure."""
    canvas, view = parts["canvas"], parts["view"]
    h, w = canvas.shape[:2]
    n = 4 + (nocrop is not None)
    fig, axes = plt.subplots(1, n, figsize=(n * size, size * h / w + 0.6))
    _heat(axes[0], canvas, parts["fg_coarse"], "foreground: IPN")
    _heat(axes[1], canvas, parts["fg_prob"], "foreground: SSN, box")
    draw_boxes(axes[1], parts["box"][None], color="cyan", lw=2, pixel_offset=-0.5)
    axes[2].imshow(view)
    palette = davis_palette() / 255.0
    for k, p in enumerate(parts["joint"]["probs_view"]):
        contour(axes[2], p, color=palette[k + 1], lw=1.8)
    axes[2].set_title("crop: instances", fontsize=10)
    panels = [(axes[3], parts, "pasted back")]
    if nocrop is not None:
        panels.append((axes[4], nocrop, "DIPNet* (no crop)"))
    for ax, p, title in panels:
        ids = p["joint"]["ids"]
        ax.imshow(overlay(canvas, ids.astype(np.uint8)))
        contour(ax, gt > 0, color="white", lw=1.0, ls="--")
        ax.set_title(f"{title}\n{_iou_text(ids, gt)}", fontsize=10)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def plot_overlaps(parts: dict, gt: np.ndarray | None = None, size=1.9):
    """Separate sigmoids against the joint softmax on one frame (from
    :func:`dipnet_step_parts`).  One row per mode: each object's coarse probability
    map, their sum over the objects (above 1 only where objects overlap; the joint
    softmax keeps it at ``1 - p_0``), and the frame with the refined masks above 0.5
    and the pixels two or more objects claim in :data:`OVERLAP_COLOR`.  ``gt``: the
    frame's ground-truth id mask, each object outlined (dashed) on its own maps.
    Returns the figure."""
    canvas = parts["canvas"]
    h, w = canvas.shape[:2]
    modes = ("separate", "joint")
    K = parts["joint"]["coarse"].shape[0]
    vmax = max(1.0, float(parts["separate"]["coarse"].sum(0).max()))
    fig, axes = plt.subplots(len(modes), K + 2, squeeze=False,
                             figsize=((K + 2) * size, len(modes) * size * h / w + 0.8))
    names = {"separate": "sigmoid", "joint": "softmax"}
    for r, mode in enumerate(modes):
        d = parts[mode]
        for k in range(K):
            _heat(axes[r, k], canvas, d["coarse"][k], f"{names[mode]}: object {k + 1}")
            if gt is not None:
                contour(axes[r, k], np.asarray(gt) == k + 1, color="white", lw=1.0,
                        ls="--")
        total = d["coarse"].sum(0)
        _heat(axes[r, K], canvas, total, f"sum, max {total.max():.2f}", vmax=vmax)
        over = overlap_map(d["probs"])
        above = d["probs"] > 0.5
        ids = np.where(above.any(0), above.argmax(0) + 1, 0).astype(np.uint8)
        img = np.asarray(overlay(canvas, ids)).copy()
        img[over] = OVERLAP_COLOR
        axes[r, K + 1].imshow(img)
        axes[r, K + 1].set_title(f"refined: {int(over.sum())} px twice", fontsize=10)
        axes[r, 0].set_ylabel(mode, fontsize=11)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def plot_gap_strips(rows: list, ax=None, xlabel="per-video difference in J",
                    gap_label="mean ± 2 SE"):
    """Paired per-video differences against the paper, one row per comparison.

    ``rows``: dicts with ``label``, ``diffs`` (``{video: a - b}``), ``gap`` (their
    :class:`~vos_lib.eval.compare.Gap`) and ``paper`` (``{label: the paper's a - b}``).
    Each row shows the videos (dots), the gap with its 2 SE band (black bar, labelled
    ``gap_label``: the dots' mean for :func:`~vos_lib.eval.compare.paired_gap`, the
    difference of the global scores for :func:`~vos_lib.eval.compare.global_gap`), and
    the paper's differences (diamonds).  Returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 0.9 * len(rows) + 1.2))
    rng = np.random.default_rng(0)
    colors: dict = {}
    for i, r in enumerate(rows):
        y = len(rows) - 1 - i
        d = np.array(list(r["diffs"].values()), dtype=float)
        ax.scatter(d, y + rng.uniform(-0.18, 0.18, len(d)), s=22, color="0.55", zorder=2,
                   label="one video" if i == 0 else None)
        g = r["gap"]
        ax.errorbar(g.mean, y, xerr=2 * g.se, fmt="o", color="black", ms=7, capsize=5,
                    lw=2, zorder=3, label=gap_label if i == 0 else None)
        for name, p in r["paper"].items():
            new = name not in colors
            colors.setdefault(name, f"C{len(colors)}")
            ax.scatter([p], [y + 0.3], marker="D", s=55, color=colors[name], zorder=4,
                       label=f"paper: {name}" if new else None)
    ax.axvline(0, color="0.3", lw=1)
    ax.set_yticks(range(len(rows)), [r["label"] for r in rows][::-1])
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.set_xlabel(xlabel)
    ax.grid(alpha=0.3, axis="x")
    ax.legend(fontsize=10, loc="lower left", bbox_to_anchor=(1.01, 0.0))
    return ax
