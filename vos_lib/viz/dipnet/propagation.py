"""Figures and small measurements of chapter 8 (DIPNet Sec. 3.1 "Instance Propagation",
3.2 and 3.4): the instance propagation module's coarse masks, the spatial segmentation
network's cascade, and the morphological coarse masks of its training.

* :func:`synthetic_distractor_masks` - where the unannotated look-alike distractors of
  a synthetic video are, frame by frame (re-rendered from the generator's seed);
* :func:`propagation_records` - one trained DIPNet on (frame t-1, frame t) pairs of a
  video with the ground-truth previous masks: the IPN's coarse mask, the SSN's output
  from several coarse masks, their IoUs, and where the coarse mask fires;
* :func:`ssn_stage_maps` - the SSN's stage outputs on one frame, coarsest first;
* :func:`coarse_mask_gallery`, :func:`morph_gallery` - the chapter's figures.
"""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from ..common import contour

__all__ = ["synthetic_distractor_masks", "propagation_records", "ssn_stage_maps",
           "coarse_mask_gallery", "morph_gallery", "PIXEL_CLASSES"]

#: What a pixel of a synthetic frame shows, for :func:`propagation_records`'s ``fires``.
PIXEL_CLASSES = ("target", "other objects", "distractors", "background")


def synthetic_distractor_masks(root, seq: str, masks: np.ndarray | None = None) -> np.ndarray:
    """``(T, H, W)`` bool: the pixels of each frame of synthetic video ``seq`` (under
    ``root``) where an unannotated distractor layer is on top.

    The generator (:mod:`vos_lib.data.synthetic`) stores only the objects' masks; this
    rebuilds the scene from the seed in ``Meta/<seq>.json``, exactly as
    :func:`~vos_lib.data.synthetic.generate_sequence` does, and renders its layer map.
    With ``masks`` (the stored ``(T, H, W)`` id masks) the rendering is checked against
    them and a mismatch raises ``ValueError``.
    """
    from ...data import synthetic as S
    meta = json.loads((Path(root) / "Meta" / f"{seq}.json").read_text())
    T, H, W = meta["n_frames"], meta["height"], meta["width"]
    P = S.DIFFICULTY[meta["difficulty"]]
    rng = np.random.default_rng(int(meta["seed"]))
    for _ in range(100):                  # the generator's own retry loop, same draws
        try:
            layers, _info = S._build_scene(rng, T, H, W, P)
        except S._Retry:
            continue
        _, top0, _ = S._render(layers, 0, H, W)
        if all((top0 == li).sum() >= 0.97 * S._area(L.radial[0]) * S._scale_of(L.A[0]) ** 2
               for li, L in enumerate(layers) if L.kind == "object"):
            break
    else:  # pragma: no cover
        raise RuntimeError(f"{seq}: could not rebuild the scene")
    if [L.name for L in layers] != [lay["name"] for lay in meta["layers"]]:
        raise ValueError(f"{seq}: the rebuilt layers differ from Meta (generator changed?)")
    is_d = np.array([L.kind == "distractor" for L in layers])
    ids = np.array([L.obj_id for L in layers], np.uint8)
    out = np.zeros((T, H, W), bool)
    for t in range(T):
        _, top, _ = S._render(layers, t, H, W)
        if masks is not None and not np.array_equal(ids[top], np.asarray(masks[t])):
            raise ValueError(f"{seq}, frame {t}: re-rendered masks differ from the stored ones")
        out[t] = is_d[top]
    return out


def _iou(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    """IoU per sample of ``(N, ...)`` maps binarised at 0.5; 1 where both are empty
    (the J convention)."""
    a, b = (a > 0.5).flatten(1), (b > 0.5).flatten(1)
    inter, union = (a & b).sum(1).float(), (a | b).sum(1).float()
    return torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(union)).numpy()


@torch.no_grad()
def propagation_records(model, frames: np.ndarray, masks: np.ndarray, step: int = 2,
                        min_pixels: int = 20, distractors: np.ndarray | None = None,
                        morph_seed: int = 0) -> dict:
    """Run a trained :class:`~vos_lib.dipnet.DIPNet` on the (t-1, t) pairs of one video,
    every ``step``-th frame t >= 1, for each object with at least ``min_pixels`` pixels
    in both frames, from the **ground-truth** previous mask (as the propagation phase is
    trained, Sec. 3.4; no Eq. 2 history, no crop, no fine-tuning, one object at a time
    with a sigmoid).

    ``frames``: ``(T, H, W, 3)`` uint8 at the SSN size; ``masks``: ``(T, H, W)`` ids;
    ``distractors``: ``(T, H, W)`` bool (:func:`synthetic_distractor_masks`) or None.
    Returns numpy arrays, one entry per pair:

    * ``t``, ``object``;
    * ``coarse[src]`` ``(N, hc, wc)`` coarse probabilities for ``src`` in ``"IPN"``
      (the sigmoid of the propagation module, beta from frame t-1 and its mask),
      ``"previous mask"`` (frame t-1's mask, area-resized: "SSN alone" of Table 6),
      ``"GT, morphed"`` (frame t's mask through :func:`~vos_lib.dipnet.model.morph_coarse`,
      as the SSN is trained) and ``"GT"`` (frame t's mask, area-resized);
    * ``coarse_iou[src]``: IoU of ``coarse[src]`` with ``coarse["GT"]`` on the coarse
      grid (both binarised at 0.5); ``up_iou[src]``: IoU of ``coarse[src]`` upsampled
      (bilinear) to ``(H, W)`` with frame t's mask ("IPN alone" of Table 6 for ``"IPN"``);
    * ``ssn[src]`` ``(N, H, W)`` bool: the SSN's mask from that coarse mask;
      ``ssn_iou[src]``: its IoU with frame t's mask;
    * ``fires[c]`` / ``area[c]`` for ``c`` in :data:`PIXEL_CLASSES`: the pixels of the
      IPN's coarse mask upsampled to ``(H, W)`` (> 0.5) / of the whole frame that show
      the target, another annotated object, a distractor or the background (without
      ``distractors``, distractor pixels count as background).
    """
    from ...core.segmenter import frame_tensor
    from ...dipnet.model import morph_coarse, resize

    model.eval()
    cs, size = model.coarse_size, tuple(model.cfg.ssn_size)
    imgs = frame_tensor(frames, size)
    ids = torch.from_numpy(np.asarray(masks)).long()
    if tuple(ids.shape[-2:]) != size:
        raise ValueError(f"masks are {tuple(ids.shape[-2:])}, the SSN works at {size}")
    K = int(ids.max())
    pairs = [(t, k) for t in range(1, len(ids), step) for k in range(1, K + 1)
             if (ids[t - 1] == k).sum() >= min_pixels and (ids[t] == k).sum() >= min_pixels]
    tt = torch.tensor([p[0] for p in pairs])
    kk = torch.tensor([p[1] for p in pairs])
    prev = (ids[tt - 1] == kk[:, None, None]).float()[:, None]
    cur = (ids[tt] == kk[:, None, None]).float()[:, None]
    p_ipn = torch.sigmoid(model.ipn(model.encode(imgs[tt]), model.identify(imgs[tt - 1], prev)))
    g = torch.Generator().manual_seed(morph_seed)
    coarse = {"IPN": p_ipn, "previous mask": resize(prev, cs, "area"),
              "GT, morphed": morph_coarse(cur, cs, model.cfg.morph_max, generator=g),
              "GT": resize(cur, cs, "area")}
    out = {"t": tt.numpy(), "object": kk.numpy(),
           "coarse": {s: c[:, 0].numpy() for s, c in coarse.items()},
           "coarse_iou": {s: _iou(c, coarse["GT"]) for s, c in coarse.items()},
           "up_iou": {s: _iou(resize(c, size), cur) for s, c in coarse.items()},
           "ssn": {}, "ssn_iou": {}}
    for s, c in coarse.items():
        logit = model.ssn(imgs[tt], c)[-1]
        out["ssn"][s] = (logit[:, 0] > 0).numpy()
        out["ssn_iou"][s] = _iou(logit > 0, cur)
    # where the IPN fires: its coarse mask at (H, W), by what each pixel shows
    fired = resize(p_ipn, size)[:, 0] > 0.5
    target = cur[:, 0] > 0.5
    other = (ids[tt] > 0) & ~target
    dis = (torch.from_numpy(np.asarray(distractors))[tt] if distractors is not None
           else torch.zeros_like(target))
    dis = dis & ~target & ~other
    classes = {"target": target, "other objects": other, "distractors": dis,
               "background": ~(target | other | dis)}
    out["fires"] = {c: (fired & m).flatten(1).sum(1).numpy() for c, m in classes.items()}
    out["area"] = {c: m.flatten(1).sum(1).numpy() for c, m in classes.items()}
    return out


@torch.no_grad()
def ssn_stage_maps(model, image: np.ndarray, coarse: np.ndarray) -> list:
    """The SSN's cascade on one frame: ``image`` ``(H, W, 3)`` uint8 at the SSN size and
    ``coarse`` ``(hc, wc)`` probabilities; returns each stage's sigmoid as a numpy map,
    coarsest first (the last at the full working resolution)."""
    from ...core.segmenter import frame_tensor
    img = frame_tensor(image, tuple(model.cfg.ssn_size))
    c = torch.as_tensor(np.asarray(coarse), dtype=torch.float32)[None, None]
    return [torch.sigmoid(lg)[0, 0].numpy() for lg in model.ssn(img, c)]


def _heat(ax, frame, prob, alpha=0.55):
    """``prob`` (any size, [0, 1]) upsampled over ``frame`` as a red overlay."""
    h, w = frame.shape[:2]
    p = torch.nn.functional.interpolate(torch.as_tensor(prob, dtype=torch.float32)[None, None],
                                        size=(h, w), mode="bilinear", align_corners=False)
    p = p[0, 0].numpy()
    rgba = np.zeros((h, w, 4))
    rgba[..., 0], rgba[..., 3] = 1.0, alpha * p
    ax.imshow(frame)
    ax.imshow(rgba)
    return p


def _coarse_panel(ax, coarse, frame_hw, cmap="gray"):
    """A coarse map drawn with the frame's aspect ratio (the coarse grid covers the whole
    frame, squeezed to a square at the propagation size)."""
    hc, wc = np.asarray(coarse).shape
    ax.imshow(coarse, cmap=cmap, vmin=0, vmax=1, interpolation="nearest",
              aspect=(frame_hw[0] / hc) / (frame_hw[1] / wc))


def coarse_mask_gallery(examples, size=1.8):
    """One row per example ``(frames, masks, rec, i, distractors, label)`` (a video's
    frames and id masks, its :func:`propagation_records` output, a pair index, its
    distractor masks or None, a row label such as the video's name): frame t-1 with the
    object (where beta comes from), frame t with its ground truth, the ground truth at the
    coarse size, the IPN's coarse mask (sigmoid) with its coarse IoU, and the coarse mask
    in red over frame t with the target (white), the other objects (cyan) and the
    distractors (yellow, dashed) outlined.  Coarse maps are drawn with the frame's aspect
    ratio.  Returns the figure."""
    cols = ["frame t-1 + object", "frame t + GT", "GT, coarse", "IPN coarse mask",
            "IPN mask on frame t"]
    fig, axes = plt.subplots(len(examples), 5, squeeze=False,
                             figsize=(5 * size, len(examples) * size * 0.72 + 0.4))
    for r, (frames, masks, rec, i, dist, label) in enumerate(examples):
        t, k = int(rec["t"][i]), int(rec["object"][i])
        hw = frames[t].shape[:2]
        a = axes[r]
        a[0].imshow(frames[t - 1])
        contour(a[0], masks[t - 1] == k)
        a[1].imshow(frames[t])
        contour(a[1], masks[t] == k)
        _coarse_panel(a[2], rec["coarse"]["GT"][i], hw)
        _coarse_panel(a[3], rec["coarse"]["IPN"][i], hw, cmap="magma")
        _heat(a[4], frames[t], rec["coarse"]["IPN"][i])
        contour(a[4], masks[t] == k)
        other = (masks[t] > 0) & (masks[t] != k)
        if other.any():
            contour(a[4], other, color="cyan", lw=1.0)
        if dist is not None and dist[t].any():
            contour(a[4], dist[t], color="yellow", lw=1.0, ls="--")
        a[0].set_ylabel(f"{label}\nt={t}, object {k}", fontsize=10)
        for j, ax in enumerate(a):
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(cols[j], fontsize=10)
        a[3].set_xlabel(f"IoU {rec['coarse_iou']['IPN'][i]:.2f}", fontsize=10)
    fig.tight_layout()
    return fig


def morph_gallery(mask, coarse_size, max_kernel: int, n: int = 7, seed: int = 0, size=1.35):
    """A binary ``mask`` ``(H, W)``, its coarse mask (area-resized to ``coarse_size``)
    and ``n`` coarse masks from :func:`~vos_lib.dipnet.model.morph_coarse` (one seeded
    generator), each titled with its area relative to the plain coarse mask (> 1:
    dilated, < 1: eroded, 1: kernel 0 or 1), with the plain coarse mask outlined in
    red.  Coarse masks are drawn with the mask's aspect ratio.  Returns the figure."""
    from ...dipnet.model import morph_coarse, resize
    m = torch.as_tensor(np.asarray(mask), dtype=torch.float32)[None, None]
    base = resize(m, coarse_size, "area")[0, 0].numpy()
    g = torch.Generator().manual_seed(seed)
    outs = morph_coarse(m.expand(n, -1, -1, -1), coarse_size, max_kernel,
                        generator=g)[:, 0].numpy()
    hw = tuple(m.shape[-2:])
    ncols = (n + 3) // 2
    fig, axes = plt.subplots(2, ncols, figsize=(ncols * size * 1.6, 2 * size * 1.2))
    axes = axes.ravel()
    axes[0].imshow(np.asarray(mask), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    axes[0].set_title(f"GT {hw[0]}x{hw[1]}", fontsize=10)
    _coarse_panel(axes[1], base, hw)
    axes[1].set_title(f"coarse {coarse_size[0]}x{coarse_size[1]}", fontsize=10)
    for ax, o in zip(axes[2:], outs):
        _coarse_panel(ax, o, hw)
        contour(ax, base, color="red", lw=1.0)
        ax.set_title(f"area x{float(o.sum() / base.sum()):.2f}", fontsize=10)
    for ax in axes[n + 2:]:
        ax.axis("off")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig
