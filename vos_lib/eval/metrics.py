"""DAVIS 2017 semi-supervised evaluation: region similarity J, contour accuracy F, statistics.

The measures are those of the DAVIS benchmark (Perazzi et al., *A Benchmark Dataset and
Evaluation Methodology for Video Object Segmentation*, CVPR 2016, Sec. 3) as used by the
DAVIS 2017 challenge (Pont-Tuset et al., *The 2017 DAVIS Challenge on Video Object
Segmentation*, arXiv:1704.00675, Sec. 3).  This module is written to give the *same numbers*
as the official toolkit, github.com/davisvideochallenge/davis2017-evaluation
(``davis2017/metrics.py``, ``davis2017/utils.py``, ``davis2017/evaluation.py``) -- checked
to be equal to the last bit on random and blob-shaped data -- but it is an independent
implementation, organised for speed (see the end of this docstring).

Definitions (one object, one frame; ``M`` = predicted mask, ``G`` = ground truth):

* **J, region similarity** -- the Jaccard index ``|M ∩ G| / |M ∪ G|``, and 1 when both masks
  are empty.  If a void mask is given, void pixels are removed from both sets first.
* **F, contour accuracy** -- the boundary F-measure.  Both masks are turned into 1-pixel
  boundary maps with D. Martin's ``seg2bmap`` construction (a pixel is a boundary pixel when
  it differs from its east, south or south-east neighbour; see :func:`seg2bmap`).  A
  boundary pixel of one map is *matched* when a boundary pixel of the other lies inside the
  disk of radius ``ceil(0.008 * image diagonal)`` around it (8 pixels at 480x854), computed
  as a dilation by that disk.  Precision ``P`` = matched predicted / predicted boundary
  pixels, recall ``R`` = matched ground-truth / ground-truth boundary pixels; when exactly
  one boundary is empty, ``(P, R)`` is ``(1, 0)`` (empty prediction) or ``(0, 1)`` (empty
  ground truth), and ``(1, 1)`` when both are.  ``F = 2PR / (P + R)``, 0 when ``P + R = 0``.
* **Statistics** over the scored frames of one object (:func:`db_statistics`): the *mean*;
  the *recall*, the fraction of frames whose value is ``> 0.5``; and the *decay*, the mean of
  the first minus the mean of the last of 4 temporal bins.  The bin edges are
  ``round(linspace(1, N, 5)) - 1`` and bin ``i`` runs from edge ``i`` to edge ``i + 1``
  *inclusive* (neighbouring bins share their edge frame), exactly as in the toolkit.  The
  toolkit stores the edges as ``uint8``, which wraps past 256 frames; here they do not.

Semi-supervised protocol (:func:`evaluate_sequence`, used by :mod:`vos_lib.evaluate`):

* the first frame (given to the method) and the last frame are not scored;
* the number of objects is the largest id in the first ground-truth frame; ids that only
  appear later in the ground truth are not evaluated;
* a result with fewer objects is zero-padded (missing objects score as empty masks), and a
  result containing an id larger than the number of objects is an error;
* void (``255``) ground-truth pixels count as *background*: the official semi-supervised
  evaluation sets them to 0 and passes no void mask to the metrics
  (``_evaluate_semisupervised(..., None, ...)`` in ``davis2017/evaluation.py``).  Pass
  ``exclude_void=True`` to remove them from J and F instead, as the metric functions do
  when given a void mask (the toolkit's unsupervised path).

DAVIS 2016 (``year="2016"`` in :func:`evaluate_folder`; the 2017 toolkit has no such mode) is
single-object: all non-zero, non-void ground-truth ids are merged into object 1 (native
DAVIS 2016 masks, which hold only 0 and 255, have 255 as the object) and every non-zero
result pixel is the object; the protocol is otherwise the same.

Speed: the masks are never split into per-object full frames.  For each frame, the
bounding box of each object in either map is found with OpenCV, grown by one pixel (which
leaves ``seg2bmap`` unchanged), and J, the boundaries and the disk dilations are computed in
that box only -- on realistic videos about a tenth of the frame, where the box of an object
over a whole sequence is about half of it.  Per-frame counts land in ``(objects, frames)``
arrays, from which J, F and the statistics of all objects are computed at once.
"""
from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional, Sequence

import cv2
import numpy as np

from ..io import VOID, DataFormatError, read_mask

#: Boundary tolerance of the F measure, as a fraction of the image diagonal (DAVIS: 0.008).
BOUND_TH = 0.008

#: Columns of the global results table, in the official order.
GLOBAL_COLUMNS = ("J&F-Mean", "J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay")

__all__ = [
    "BOUND_TH", "GLOBAL_COLUMNS", "boundary_radius", "disk", "seg2bmap", "db_eval_iou",
    "db_eval_boundary", "decay_bins", "db_statistics", "evaluate_frames", "evaluate_sequence",
    "merge_objects_2016", "sequence_names", "evaluate_folder_sequence", "evaluate_folder",
    "summarize",
]


# ----------------------------------------------------------------------------- helpers
def boundary_radius(shape: Sequence[int], bound_th: float = BOUND_TH) -> float:
    """Matching radius of the F measure for frames of ``shape = (H, W)``.

    ``ceil(bound_th * sqrt(H**2 + W**2))`` for ``bound_th < 1`` (a fraction of the
    diagonal), else ``bound_th`` itself (a radius in pixels).  480x854 gives 8.
    """
    if bound_th >= 1:
        return bound_th
    h, w = int(shape[-2]), int(shape[-1])
    return float(np.ceil(bound_th * np.sqrt(float(h * h + w * w))))


def disk(radius: float) -> np.ndarray:
    """Disk structuring element ``{(x, y): x**2 + y**2 <= radius**2}`` as a uint8 array.

    The grid is ``arange(-radius, radius + 1)`` on both axes: ``(2r + 1)`` square for an
    integer radius (the same element as ``skimage.morphology.disk`` used by the toolkit).
    """
    ax = np.arange(-radius, radius + 1)
    x, y = np.meshgrid(ax, ax)
    return ((x ** 2 + y ** 2) <= radius ** 2).astype(np.uint8)


def _as_ids(a, name: str, what: str) -> np.ndarray:
    """A C-contiguous uint8 id array (what OpenCV takes)."""
    a = np.asarray(a)
    if a.dtype != np.uint8:
        if a.dtype == bool:
            a = a.view(np.uint8)
        elif a.size and (a.min() < 0 or a.max() > 255):
            raise ValueError(f"{name}: {what} ids must lie in 0..255")
        else:
            a = a.astype(np.uint8)
    return np.ascontiguousarray(a)


def _as_bool(a) -> np.ndarray:
    a = np.asarray(a)
    return a if a.dtype == bool else a != 0


def seg2bmap(seg) -> np.ndarray:
    """1-pixel boundary map of a binary mask (D. Martin's ``seg2bmap``, Berkeley, 2003).

    ``seg`` is ``(H, W)`` or a stack ``(..., H, W)`` (every 2-D slice is done at once);
    non-zero means foreground.  A pixel is on the boundary when it differs from its east,
    south or south-east neighbour, so boundaries sit half a pixel towards the origin from
    the true edge.  On the last row only the east neighbour is compared, on the last column
    only the south one, and the bottom-right pixel is never a boundary; the image border
    itself is not a boundary.  Returns a bool array of the same shape.
    """
    seg = _as_bool(seg)
    if seg.ndim < 2:
        raise ValueError(f"seg2bmap needs a 2-D mask or a stack of them, got shape {seg.shape}")
    b = np.zeros_like(seg)
    c = seg[..., :-1, :-1]
    b[..., :-1, :-1] = (c != seg[..., :-1, 1:]) | (c != seg[..., 1:, :-1]) | (c != seg[..., 1:, 1:])
    b[..., -1, :-1] = seg[..., -1, :-1] != seg[..., -1, 1:]   # last row: east only
    b[..., :-1, -1] = seg[..., :-1, -1] != seg[..., 1:, -1]   # last column: south only
    return b                                                  # b[..., -1, -1] stays False


def _check_pair(gt: np.ndarray, pred: np.ndarray, void) -> None:
    if gt.shape != pred.shape:
        raise ValueError(f"ground truth {gt.shape} and prediction {pred.shape} shapes differ")
    if gt.ndim not in (2, 3):
        raise ValueError(f"expected (H, W) or (T, H, W) masks, got shape {gt.shape}")
    if void is not None and np.shape(void) != gt.shape:
        raise ValueError(f"void mask {np.shape(void)} and masks {gt.shape} shapes differ")


# ----------------------------------------------------------------------------- J and F
def _union_box(a: tuple, b: tuple) -> tuple:
    """Union of two ``cv2.boundingRect`` boxes ``(x, y, w, h)`` (``w == 0``: empty)."""
    if a[2] == 0:
        return b
    if b[2] == 0:
        return a
    x0, y0 = min(a[0], b[0]), min(a[1], b[1])
    return x0, y0, max(a[0] + a[2], b[0] + b[2]) - x0, max(a[1] + a[3], b[1] + b[3]) - y0


def _count_frame(gt: np.ndarray, pred: np.ndarray, ids, kernel: np.ndarray, keep, out, t):
    """Pixel counts behind J and F for objects ``ids`` in one frame.

    ``gt``, ``pred``: ``(H, W)`` uint8 id maps; ``keep``: ``(H, W)`` bool or None (void
    pixels are False); ``out``: dict of ``(K, T)`` int64 arrays, filled at column ``t``.

    Everything is computed inside the bounding box of the object in either map, grown by
    one pixel (clipped at the image border): J only counts pixels of that box, and
    ``seg2bmap`` of a mask with a zero margin -- or cut where the image ends -- is the
    full-frame boundary map cut to the box, so the counts are those of the full frame.
    """
    H, W = gt.shape
    # every object lies in the box of the non-zero pixels of the two maps: look only there
    x, y, w, h = _union_box(cv2.boundingRect(gt), cv2.boundingRect(pred))
    if w == 0:
        return  # both maps empty: all counts stay 0 (J = 1, F = 1)
    X0, Y0, X1, Y1 = max(x - 1, 0), max(y - 1, 0), min(x + w + 1, W), min(y + h + 1, H)
    sub_g, sub_p = gt[Y0:Y1, X0:X1], pred[Y0:Y1, X0:X1]
    sub_keep = None if keep is None else keep[Y0:Y1, X0:X1]
    for i, k in enumerate(ids):
        g, p = sub_g == k, sub_p == k
        x, y, w, h = _union_box(cv2.boundingRect(g.view(np.uint8)),
                                cv2.boundingRect(p.view(np.uint8)))
        if w == 0:
            continue  # absent from both
        # the object's box, one pixel larger (still inside the sub-frame, which has that
        # margin unless the image ends there)
        x0, y0 = max(x - 1, 0), max(y - 1, 0)
        x1, y1 = min(x + w + 1, X1 - X0), min(y + h + 1, Y1 - Y0)
        g, p = g[y0:y1, x0:x1], p[y0:y1, x0:x1]
        if sub_keep is not None:
            g, p = g & sub_keep[y0:y1, x0:x1], p & sub_keep[y0:y1, x0:x1]
        out["inter"][i, t] = np.count_nonzero(g & p)
        out["union"][i, t] = np.count_nonzero(g | p)
        gb, fb = seg2bmap(g), seg2bmap(p)
        n_gt, n_fg = np.count_nonzero(gb), np.count_nonzero(fb)
        out["n_gt"][i, t], out["n_fg"][i, t] = n_gt, n_fg
        if n_gt and n_fg:
            # matched = within the disk of a boundary pixel of the other map: a dilation
            # (OpenCV's default border adds nothing, and all boundary pixels are in the box)
            g_dil = cv2.dilate(gb.view(np.uint8), kernel).view(bool)
            f_dil = cv2.dilate(fb.view(np.uint8), kernel).view(bool)
            out["fg_match"][i, t] = np.count_nonzero(fb & g_dil)
            out["gt_match"][i, t] = np.count_nonzero(gb & f_dil)


def _j_from_counts(c: dict) -> np.ndarray:
    union = c["union"]
    with np.errstate(divide="ignore", invalid="ignore"):
        j = c["inter"] / union
    j[union == 0] = 1.0
    return j


def _f_from_counts(c: dict) -> np.ndarray:
    n_gt, n_fg = c["n_gt"], c["n_fg"]
    # (P, R) = (1, 0) if only the prediction's boundary is empty, (0, 1) if only the ground
    # truth's is (fg_match is 0 then), (1, 1) if both are: the toolkit's special cases
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(n_fg > 0, c["fg_match"] / n_fg, 1.0)
        recall = np.where(n_gt > 0, c["gt_match"] / n_gt, 1.0)
        f = 2 * precision * recall / (precision + recall)
    f[(precision + recall) == 0] = 0.0
    return f


def _counts(gt: np.ndarray, pred: np.ndarray, ids, kernel: np.ndarray, keep=None) -> dict:
    """Counts of :func:`_count_frame` for every frame of ``(T, H, W)`` uint8 id stacks."""
    c = {k: np.zeros((len(ids), len(gt)), dtype=np.int64)
         for k in ("inter", "union", "n_gt", "n_fg", "gt_match", "fg_match")}
    if len(ids):
        for t in range(len(gt)):
            _count_frame(gt[t], pred[t], ids, kernel, None if keep is None else keep[t], c, t)
    return c


def _binary_counts(gt, pred, void, bound_th):
    gt, pred = _as_bool(gt), _as_bool(pred)
    _check_pair(gt, pred, void)
    single = gt.ndim == 2
    if single:
        gt, pred = gt[None], pred[None]
    keep = None if void is None else ~_as_bool(void).reshape(gt.shape)
    kernel = disk(boundary_radius(gt.shape, bound_th))
    gt, pred = np.ascontiguousarray(gt).view(np.uint8), np.ascontiguousarray(pred).view(np.uint8)
    c = _counts(gt, pred, [1], kernel, keep)
    return c, single


def db_eval_iou(gt, pred, void=None):
    """Region similarity J (Jaccard index) per frame.

    ``gt``, ``pred``: binary masks ``(H, W)`` or stacks ``(T, H, W)`` (non-zero = object);
    ``void``: optional mask of the same shape whose pixels are left out of both
    intersection and union.  Returns a float for one frame, else a ``(T,)`` float64 array;
    J = 1 where both masks are empty.
    """
    c, single = _binary_counts(gt, pred, void, BOUND_TH)
    j = _j_from_counts(c)[0]
    return float(j[0]) if single else j


def db_eval_boundary(gt, pred, void=None, bound_th: float = BOUND_TH):
    """Contour accuracy F (boundary F-measure) per frame.

    ``gt``, ``pred``: binary masks ``(H, W)`` or stacks ``(T, H, W)``; ``void``: optional
    mask of the same shape, whose pixels are cleared from both masks before their boundaries
    are taken (as the toolkit does); ``bound_th``: matching tolerance, a fraction of the
    image diagonal (< 1) or a radius in pixels (>= 1).  Returns a float or ``(T,)`` array.
    """
    c, single = _binary_counts(gt, pred, void, bound_th)
    f = _f_from_counts(c)[0]
    return float(f[0]) if single else f


# ----------------------------------------------------------------------------- statistics
def decay_bins(n: int) -> list:
    """The 4 temporal bins of the decay statistic for ``n`` frames, as ``(start, stop)``
    slices: edges ``e = round(linspace(1, n, 5)) - 1`` (halves rounded up) and bin ``i`` =
    ``values[e[i] : e[i+1] + 1]``, so neighbouring bins share a frame.  For ``n = 10``:
    ``[(0, 3), (2, 6), (5, 8), (7, 10)]`` (edges 0, 2, 5, 7, 9).
    """
    edges = (np.round(np.linspace(1, n, 5) + 1e-10) - 1).astype(np.int64)
    return [(int(edges[i]), int(edges[i + 1]) + 1) for i in range(4)]


def db_statistics(values) -> tuple:
    """``(mean, recall, decay)`` of the per-frame values of one object (DAVIS statistics).

    mean = mean of the values (NaNs ignored); recall = fraction of values ``> 0.5``;
    decay = mean of the first minus mean of the last of the 4 bins of :func:`decay_bins`.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        return float("nan"), float("nan"), float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        mean = np.nanmean(v)
        recall = np.nanmean(v > 0.5)
        bins = decay_bins(v.size)
        decay = np.nanmean(v[slice(*bins[0])]) - np.nanmean(v[slice(*bins[3])])
    return float(mean), float(recall), float(decay)


# ----------------------------------------------------------------------------- protocol
def evaluate_frames(gt, pred, n_objects: int, name: str = "sequence", *, void=None,
                    bound_th: float = BOUND_TH, frame_names: Optional[Sequence[str]] = None
                    ) -> dict:
    """Score already-selected frames of one sequence: J and F of objects ``1..n_objects``.

    ``gt``, ``pred``: ``(N, H, W)`` id masks of the scored frames (ground-truth void, if any,
    is treated as background unless ``void`` -- a bool ``(N, H, W)`` mask -- is given, whose
    pixels are then left out).  A prediction id larger than ``n_objects`` raises
    :class:`~vos_lib.io.DataFormatError`.  Returns the dict of :func:`evaluate_sequence`.
    """
    gt, pred = _as_ids(gt, name, "ground truth"), _as_ids(pred, name, "prediction")
    _check_pair(gt, pred, void)
    if gt.ndim != 3:
        raise ValueError(f"{name}: expected (N, H, W) stacks, got shape {gt.shape}")
    n_objects = int(n_objects)
    if pred.size and int(pred.max()) > n_objects:
        per_frame = pred.reshape(len(pred), -1).max(axis=1)
        t = int(np.flatnonzero(per_frame > n_objects)[0])
        where = frame_names[t] if frame_names is not None else f"scored frame {t}"
        raise DataFormatError(
            f"{name}: {where}: result contains object id {int(per_frame[t])}, but the "
            f"ground truth has only {n_objects} object(s) (ids 1..{n_objects} of its "
            f"first frame)")
    keep = None if void is None else ~_as_bool(void)
    kernel = disk(boundary_radius(gt.shape, bound_th))
    counts = _counts(gt, pred, range(1, n_objects + 1), kernel, keep)
    J, F = _j_from_counts(counts), _f_from_counts(counts)
    out = {"name": name, "objects": [f"{name}_{k}" for k in range(1, n_objects + 1)],
           "J": J, "F": F}
    for key, values in (("J", J), ("F", F)):
        stats = np.array([db_statistics(v) for v in values]).reshape(n_objects, 3)
        out[f"{key}-Mean"], out[f"{key}-Recall"], out[f"{key}-Decay"] = stats.T.copy()
    return out


def evaluate_sequence(gt_masks, pred_masks, n_objects: Optional[int] = None,
                      name: str = "sequence", *, exclude_void: bool = False,
                      bound_th: float = BOUND_TH,
                      frame_names: Optional[Sequence[str]] = None) -> dict:
    """Evaluate one sequence under the DAVIS 2017 semi-supervised protocol.

    ``gt_masks``, ``pred_masks``: ``(T, H, W)`` uint8 id masks of *all* frames (0 =
    background, 255 = void in the ground truth).  Frames ``1 .. T-2`` are scored (the first
    and last are not, whatever the prediction holds there).  ``n_objects`` defaults to the
    largest non-void id of the first ground-truth frame.  Void counts as background (the
    toolkit's semi-supervised rule) unless ``exclude_void``.

    Returns ``{"name", "objects": ["<name>_1", ...], "J": (K, T-2), "F": (K, T-2),
    "J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay": (K,) arrays}``.
    """
    gt, pred = np.asarray(gt_masks), np.asarray(pred_masks)
    if gt.ndim != 3 or gt.shape != pred.shape:
        raise ValueError(f"{name}: expected two (T, H, W) stacks of the same shape, got "
                         f"{gt.shape} and {pred.shape}")
    if len(gt) < 3:
        raise DataFormatError(f"{name}: {len(gt)} frame(s); the semi-supervised protocol "
                              "scores frames 1..T-2 and needs at least 3")
    if n_objects is None:
        first = gt[0]
        n_objects = int(first[first != VOID].max(initial=0))
    names = None if frame_names is None else list(frame_names)[1:-1]
    void = (gt[1:-1] == VOID) if exclude_void else None
    return evaluate_frames(gt[1:-1], pred[1:-1], n_objects, name, void=void,
                           bound_th=bound_th, frame_names=names)


# ----------------------------------------------------------------------------- folders
def merge_objects_2016(gt) -> np.ndarray:
    """Ground truth for DAVIS 2016, which is single-object: every non-zero, non-void id
    becomes object 1 and void stays 255.  Native DAVIS 2016 annotations are binary 0/255
    masks without a void label, so a sequence whose ground truth holds no value but 0 and
    255 has 255 read as the object."""
    gt = np.asarray(gt)
    if np.isin(gt, (0, VOID)).all():
        return (gt != 0).astype(np.uint8)
    out = ((gt != 0) & (gt != VOID)).astype(np.uint8)
    out[gt == VOID] = VOID
    return out


def _read_mask_checked(path, shape, require_indexed: bool, what: str) -> np.ndarray:
    m = read_mask(path, require_indexed=require_indexed)
    if shape is not None and m.shape != tuple(shape):
        raise DataFormatError(f"{path}: {what} is {m.shape[1]}x{m.shape[0]} (WxH), expected "
                              f"{shape[1]}x{shape[0]} like the ground truth")
    return m


def sequence_names(davis_root, split: str = "val", year: str = "2017") -> list:
    """Sequences of a DAVIS set, from ``ROOT/ImageSets/<year>/<split>.txt``."""
    path = Path(davis_root) / "ImageSets" / str(year) / f"{split}.txt"
    if not path.is_file():
        raise DataFormatError(f"{path}: sequence list of the DAVIS {year} {split!r} set "
                              "does not exist")
    return [n for n in (line.strip() for line in path.read_text().splitlines()) if n]


def evaluate_folder_sequence(davis_root, results_dir, seq: str, year: str = "2017",
                             resolution: str = "480p", *, exclude_void: bool = False,
                             bound_th: float = BOUND_TH) -> dict:
    """Read and evaluate one sequence of a results folder (see :func:`evaluate_folder`).

    The frames are the ground-truth PNGs ``ROOT/Annotations/<resolution>/<seq>/*.png`` in
    name order; the result frames ``DIR/<seq>/<same name>.png`` are read for the scored
    frames only (first and last are neither read nor scored, as in the toolkit).
    """
    year = str(year)
    single = year == "2016"
    ann_dir = Path(davis_root) / "Annotations" / resolution / seq
    gt_paths = sorted(ann_dir.glob("*.png"))
    if not gt_paths:
        raise DataFormatError(f"{ann_dir}: no ground-truth annotations (*.png) for sequence "
                              f"{seq!r}")
    if len(gt_paths) < 3:
        raise DataFormatError(f"{ann_dir}: {len(gt_paths)} annotated frame(s); the "
                              "semi-supervised protocol scores frames 1..T-2 and needs 3")
    # the first frame gives the objects; the last one is not scored, so it is not read
    first = _read_mask_checked(gt_paths[0], None, not single, "annotation")
    scored_paths = gt_paths[1:-1]
    gt = np.empty((len(scored_paths), *first.shape), dtype=np.uint8)
    for i, p in enumerate(scored_paths):
        gt[i] = _read_mask_checked(p, first.shape, not single, "annotation")
    if single:
        # merge over all frames read, so the 0/255-only test sees the whole sequence
        merged = merge_objects_2016(np.concatenate([first[None], gt]))
        gt = merged[1:]
        n_objects = 1
    else:
        n_objects = int(first[first != VOID].max(initial=0))

    res_paths = [Path(results_dir) / seq / f"{p.stem}.png" for p in scored_paths]
    pred = np.empty((len(res_paths), *first.shape), dtype=np.uint8)
    for i, path in enumerate(res_paths):
        m = _read_mask_checked(path, first.shape, not single, "result")
        if single:
            m = (m != 0).astype(np.uint8)
        elif m.max(initial=0) > n_objects:
            raise DataFormatError(
                f"{path}: result contains object id {int(m.max())}, but sequence {seq!r} has "
                f"only {n_objects} object(s) (the ids of {gt_paths[0].name} in {ann_dir})")
        pred[i] = m
    void = (gt == VOID) if exclude_void else None
    return evaluate_frames(gt, pred, n_objects, seq, void=void, bound_th=bound_th,
                           frame_names=[str(p) for p in res_paths])


def evaluate_folder(davis_root, results_dir, split: str = "val", year: str = "2017",
                    resolution: str = "480p", sequences: Optional[Sequence[str]] = None, *,
                    exclude_void: bool = False, bound_th: float = BOUND_TH,
                    workers: Optional[int] = None) -> dict:
    """Evaluate a folder of results against DAVIS, like the official ``evaluation_method.py
    --task semi-supervised``.

    ``davis_root``: a DAVIS folder with ``Annotations/<resolution>/<seq>/%05d.png`` and
    ``ImageSets/<year>/<split>.txt``; ``results_dir``: ``<seq>/%05d.png`` indexed PNGs, one
    per ground-truth frame (only frames 1..T-2 are read).  ``sequences`` overrides the
    ImageSets list.  ``year="2016"`` evaluates single-object DAVIS 2016: the ground truth is
    merged by :func:`merge_objects_2016` and every non-zero result pixel is the object.
    Sequences run on ``workers`` threads (default: up to 4, one per core); the numbers do not
    depend on it.  A missing or malformed file raises :class:`~vos_lib.io.DataFormatError`
    naming it.

    Returns ``{"J&F-Mean", "J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay":
    float (means over all objects of all sequences; J&F-Mean = (J-Mean + F-Mean) / 2),
    "global": the same seven numbers as a dict, "per_object": {"<seq>_<k>": {"J-Mean", ...,
    "F-Decay"}}, "per_frame": {"<seq>": {"J": (K, T-2), "F": (K, T-2)}}, "sequences",
    "split", "year", "resolution"}``.
    """
    year = str(year)
    if year not in ("2016", "2017"):
        raise ValueError(f"year must be 2016 or 2017, got {year!r}")
    if not Path(results_dir).is_dir():
        raise DataFormatError(f"{results_dir}: results folder does not exist")
    seqs = list(sequences) if sequences is not None else sequence_names(davis_root, split, year)
    if not seqs:
        raise DataFormatError(f"no sequences to evaluate in the DAVIS {year} {split!r} set")
    if workers is None:
        workers = max(1, min(4, os.cpu_count() or 1))

    def one(seq):
        return evaluate_folder_sequence(davis_root, results_dir, seq, year, resolution,
                                        exclude_void=exclude_void, bound_th=bound_th)

    if workers > 1 and len(seqs) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            per_seq = list(pool.map(one, seqs))
    else:
        per_seq = [one(s) for s in seqs]
    return summarize(per_seq, split=split, year=year, resolution=resolution)


def summarize(per_sequence: Sequence[dict], **meta) -> dict:
    """Global DAVIS numbers from :func:`evaluate_sequence` outputs, in their order: each
    statistic is the mean over all objects of all sequences (the toolkit's order of
    summation, so the floats are the same), and J&F-Mean = (J-Mean + F-Mean) / 2."""
    stats = {c: [] for c in GLOBAL_COLUMNS[1:]}
    per_object, per_frame = {}, {}
    for r in per_sequence:
        per_frame[r["name"]] = {"J": r["J"], "F": r["F"]}
        for i, obj in enumerate(r["objects"]):
            per_object[obj] = {c: float(r[c][i]) for c in GLOBAL_COLUMNS[1:]}
            for c in GLOBAL_COLUMNS[1:]:
                stats[c].append(r[c][i])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        out = {c: float(np.mean(v)) if v else float("nan") for c, v in stats.items()}
    out = {"J&F-Mean": (out["J-Mean"] + out["F-Mean"]) / 2.0, **out}
    out.update({"global": dict(out)}, per_object=per_object, per_frame=per_frame,
               sequences=[r["name"] for r in per_sequence], **meta)
    return out
