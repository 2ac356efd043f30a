"""Box re-identification with a Conditional RPN (DTN paper, Sec. 3.2, Eq. 2, Fig. 5).

The BR stream of the Dynamic Targeting Network finds, in frame ``i``, the box of each of
the ``K`` target objects by (1) proposing candidate boxes and (2) keeping the candidate
whose RoI feature is closest to the object's features in the first frame and in frame
``i-1`` (Eq. 2).  The *conditional* RPN (CRPN) proposes only ``9 x 9 = 81`` boxes per
object from anchors conditioned on the previous box, instead of the original RPN's
``h x w x 9`` anchors (the "BR with ori RPN" ablation of Sec. 4.3, also provided here as
``mode="full"``).

Conventions
-----------
* Boxes are ``xyxy`` float tensors in pixels of the feature extractor's *input* image;
  pixel ``x`` covers ``[x, x + 1)``, so its centre is ``x + 0.5`` (the ``aligned=True``
  RoIAlign convention).  Feature cell ``(u, v)`` of a map with stride ``s`` covers
  ``[u s, (u + 1) s) x [v s, (v + 1) s)`` and its centre is ``((u + .5) s, (v + .5) s)``.
* ``features`` is the backbone dict ``{"res2", "res3", "res4", "res5"}`` with strides
  4, 8, 16, 32; the CRPN and the matching features use ``features["res4"]`` only.
* Scale of a box ``s = sqrt(w h)``, aspect ratio ``r = h / w`` (torchvision's convention).
* ``image_size`` is ``(H, W)``.

Design of the head (how arbitrary anchors are scored)
-----------------------------------------------------
The original RPN head (torchvision ``RPNHead``: 3x3 conv, then 1x1 convs with ``A`` and
``4A`` outputs) ties each output channel to one of ``A`` *fixed* anchor shapes.  CRPN
anchors have per-object shapes (``{.5, 1, 1.5} x`` the previous scale and ratio) that no
fixed channel can represent, so :class:`ConditionalRPN` scores *anchor boxes* instead of
*anchor slots*:

1. ``conv``: the RPNHead's 3x3 conv + ReLU on Res4 (``in_channels -> mid_channels``);
2. each anchor is sampled from that map with ``roi_align`` (``pool x pool`` bins,
   default 3x3, ``aligned=True``), flattened and concatenated with two geometry numbers
   ``log(w / stride), log(h / stride)`` (RoIAlign normalises the box away, these give
   the head the absolute size);
3. a two-layer MLP outputs 1 objectness logit and 4 ``BoxCoder(weights=(1, 1, 1, 1))``
   deltas.

The same head scores both anchor sets, so the conditional and full modes (the CRPN vs
"BR with ori RPN" ablation) differ only in *which anchors* are proposed, and a head
pre-trained on static images with full anchors (the paper pre-trains "the original
RPN") is directly usable as a CRPN.

Matching (Eq. 2) and the "largest score" sentence
-------------------------------------------------
Eq. 2 is ``S = D(f(B), f(T_1)) + D(f(B), f(T_{i-1}))`` with ``D`` the L2 distance, i.e. a
*dissimilarity*; the text right after it says the matched candidate "should have large
feature similarity with the target object", then "choose the candidates with the largest
score".  Taken literally, the largest summed distance would pick the *least* similar
candidate, which contradicts the stated intent.  We therefore read Eq. 2 as a distance
and :func:`select_candidate` takes the **argmin** of ``S`` (smallest distance = largest
similarity).
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models.detection import _utils as det_utils
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.ops import batched_nms, box_iou, clip_boxes_to_image, remove_small_boxes, roi_align

from ..core.boxes import roi_rows

__all__ = [
    "conditional_anchors",
    "full_anchors",
    "roi_feature",
    "matching_score",
    "select_candidate",
    "ConditionalRPN",
]

Features = Union[Dict[str, Tensor], Tensor]


def _res4(features: Features) -> Tensor:
    return features["res4"] if isinstance(features, dict) else features



# --------------------------------------------------------------------------- anchors
def conditional_anchors(prev_boxes: Tensor, stride: int = 16, grid: int = 3,
                        scales: Sequence[float] = (0.5, 1.0, 1.5),
                        ratios: Sequence[float] = (0.5, 1.0, 1.5),
                        min_size: float = 1.0) -> Tensor:
    """CRPN anchors conditioned on the previous target RoIs (DTN Sec. 3.2, Fig. 5 (b)).

    For each previous box ``T_{i-1}^k`` with centre ``l``, scale ``s = sqrt(w h)`` and
    ratio ``r = h / w``:

    * centres: the ``grid x grid`` lattice of feature cells (stride ``stride``) centred on
      the cell that contains ``l``; cell centres are ``((u + .5) stride, (v + .5) stride)``,
      neighbours are one stride apart;
    * shapes: scales ``{j * 0.5 * s}`` and ratios ``{j * 0.5 * r}``, ``j = 1..3`` (passed as
      the multipliers ``scales`` / ``ratios``); an anchor of scale ``a`` and ratio ``q`` has
      ``w = a / sqrt(q)``, ``h = a * sqrt(q)`` so ``w h = a^2`` and ``h / w = q`` exactly.

    Args:
        prev_boxes: ``(K, 4)`` xyxy previous boxes. Widths/heights below ``min_size`` pixels
            are clamped to ``min_size`` so that empty boxes still give finite anchors.
    Returns:
        ``(K, grid^2 * len(scales) * len(ratios), 4)`` (``(K, 81, 4)`` by default).  Order
        along dim 1: ``index = cell * S*R + scale_idx * R + ratio_idx`` with
        ``cell = gy * grid + gx`` row-major over the lattice (``gy``/``gx`` = 0 is the
        upper/left neighbour, ``grid // 2`` the centre cell); i.e. the centre cell's
        previous-shape anchor (scale x1, ratio x1) is at index
        ``(grid*grid//2) * S*R + 1 * R + 1 = 40`` by default.
    """
    prev_boxes = prev_boxes.reshape(-1, 4)
    dtype = prev_boxes.dtype if prev_boxes.is_floating_point() else torch.float32
    pb = prev_boxes.to(dtype)
    dev = pb.device
    w = (pb[:, 2] - pb[:, 0]).clamp(min=min_size)
    h = (pb[:, 3] - pb[:, 1]).clamp(min=min_size)
    cx = (pb[:, 0] + pb[:, 2]) / 2
    cy = (pb[:, 1] + pb[:, 3]) / 2
    s = torch.sqrt(w * h)
    r = h / w

    # lattice of cell centres around the cell containing the previous centre
    off = torch.arange(grid, device=dev, dtype=dtype) - (grid - 1) // 2        # (-1, 0, 1)
    gy, gx = torch.meshgrid(off, off, indexing="ij")                            # (G, G)
    ccx = (torch.floor(cx / stride)[:, None] + gx.reshape(1, -1) + 0.5) * stride  # (K, G*G)
    ccy = (torch.floor(cy / stride)[:, None] + gy.reshape(1, -1) + 0.5) * stride

    sc = torch.as_tensor(scales, device=dev, dtype=dtype)
    ra = torch.as_tensor(ratios, device=dev, dtype=dtype)
    a = s[:, None, None] * sc[None, :, None]                                    # (K, S, 1)
    q = r[:, None, None] * ra[None, None, :]                                    # (K, 1, R)
    aw = (a / torch.sqrt(q)).reshape(len(pb), -1)                               # (K, S*R)
    ah = (a * torch.sqrt(q)).reshape(len(pb), -1)

    ccx, ccy = ccx[:, :, None], ccy[:, :, None]                                 # (K, G*G, 1)
    aw, ah = aw[:, None, :], ah[:, None, :]                                     # (K, 1, S*R)
    anchors = torch.stack([ccx - aw / 2, ccy - ah / 2, ccx + aw / 2, ccy + ah / 2], dim=-1)
    return anchors.reshape(len(pb), -1, 4)


def full_anchors(feature_hw: Tuple[int, int], stride: int, sizes: Sequence[float],
                 ratios: Sequence[float] = (0.5, 1.0, 2.0), device=None,
                 dtype: torch.dtype = torch.float32) -> Tensor:
    """The original RPN's anchors at every feature location (Fig. 5 (c)).

    Base shapes come from torchvision's ``AnchorGenerator.generate_anchors`` (sizes x
    ratios, ratio = h / w, rounded zero-centred boxes); they are shifted to every cell
    centre ``((u + .5) stride, (v + .5) stride)`` (the cell-centre convention of this
    module, torchvision itself uses ``u * stride``).

    Returns:
        ``(h * w * A, 4)``, location-major (row-major over cells) with the ``A =
        len(sizes) * len(ratios)`` shapes inner (ratio-major, size inner), like
        ``AnchorGenerator.grid_anchors``.
    """
    h, w = int(feature_hw[0]), int(feature_hw[1])
    gen = AnchorGenerator(sizes=(tuple(sizes),), aspect_ratios=(tuple(ratios),))
    base = gen.generate_anchors(list(sizes), list(ratios), dtype=dtype,
                                device=torch.device(device) if device is not None else torch.device("cpu"))
    sx = (torch.arange(w, dtype=dtype, device=base.device) + 0.5) * stride
    sy = (torch.arange(h, dtype=dtype, device=base.device) + 0.5) * stride
    yy, xx = torch.meshgrid(sy, sx, indexing="ij")
    shifts = torch.stack([xx.reshape(-1), yy.reshape(-1)] * 2, dim=1)
    return (shifts[:, None, :] + base[None, :, :]).reshape(-1, 4)


# --------------------------------------------------------------------------- matching
def roi_feature(res4: Tensor, boxes: Tensor, stride: int = 16, output_size: int = 7,
                batch_index: Optional[Tensor] = None, sampling_ratio: int = 2) -> Tensor:
    """``f(*)`` of Eq. 2: RoIAlign ``output_size x output_size`` on Res4, average pooled.

    Args:
        res4: ``(B, C, h, w)`` Res4 features (stride ``stride``).
        boxes: ``(N, 4)`` xyxy input-image pixels; ``batch_index`` ``(N,)`` picks the image
            of each box (default: all in image 0).
    Returns:
        ``(N, C)`` feature vectors.
    """
    if boxes.numel() == 0:
        return res4.new_zeros((0, res4.shape[1]))
    rois = roi_rows(boxes, batch_index, res4)
    pooled = roi_align(res4, rois, output_size=(output_size, output_size),
                       spatial_scale=1.0 / stride, sampling_ratio=sampling_ratio, aligned=True)
    return pooled.mean(dim=(2, 3))


def matching_score(cand_feats: Tensor, first_feat: Tensor, prev_feat: Tensor) -> Tensor:
    """Eq. 2: ``S_j = ||f(B_j) - f(T_1)||_2 + ||f(B_j) - f(T_{i-1})||_2`` for each candidate.

    ``cand_feats`` ``(N, C)``, ``first_feat`` / ``prev_feat`` ``(C,)``. Returns ``(N,)``.
    This is a sum of L2 *distances*: the best match has the **smallest** ``S`` (see
    :func:`select_candidate`).
    """
    first_feat = first_feat.reshape(1, -1).to(device=cand_feats.device, dtype=cand_feats.dtype)
    prev_feat = prev_feat.reshape(1, -1).to(device=cand_feats.device, dtype=cand_feats.dtype)
    return (torch.linalg.vector_norm(cand_feats - first_feat, dim=1)
            + torch.linalg.vector_norm(cand_feats - prev_feat, dim=1))


def select_candidate(scores: Tensor) -> Tensor:
    """Index of the re-identified candidate: ``argmin`` of the Eq. 2 score.

    The paper writes "choose the candidates with the largest score", but Eq. 2's ``S`` is a
    sum of L2 distances and the text asks for "large feature similarity" with ``T_1`` and
    ``T_{i-1}``; we read "largest score" as "largest similarity", i.e. the *smallest*
    distance ``S``.  (Equivalently, argmax of ``-S``.)  Returns a 0-d long tensor.
    """
    return torch.argmin(scores)


# --------------------------------------------------------------------------- the CRPN
class ConditionalRPN(nn.Module):
    """Conditional RPN on Res4 + the box re-identification stream (DTN Sec. 3.2).

    See the module docstring for the head design (RoIAlign-sampled anchors + MLP, shared
    by the conditional and the full anchor sets).

    Args:
        in_channels: channels of Res4.
        mid_channels: channels of the RPNHead-style 3x3 conv (default ``min(in, 256)``).
        stride: Res4 stride (16).
        grid, scales, ratios: CRPN anchor lattice and shape multipliers (Sec. 3.2).
        rpn_sizes, rpn_ratios: anchor sizes / ratios of the original RPN (full mode).
        top_n: candidates kept by the full RPN ("top-100", Sec. 4.3).
        roi_match: RoIAlign size of the matching features ``f(*)`` (7, Sec. 3.4).
        pool: RoIAlign size with which the head samples an anchor (3).
        hidden: MLP width.
        nms_thresh, pre_nms_top_n, min_size: full-mode proposal filtering
            (torchvision's ``filter_proposals`` logic; NMS 0.7).
        fg_iou, bg_iou, batch_per_object: conditional-mode training labels (see ``loss``).
        full_fg_iou, full_bg_iou, batch_per_image: full-mode labels (Faster R-CNN: .7/.3, 256).
        positive_fraction: balanced sampling fraction (0.5).
        low_quality_min_iou: the best anchor of a GT becomes positive even below ``fg_iou``
            (Faster R-CNN's low-quality matches) only if its IoU is at least this value.
        cfg: optional :class:`vos_lib.dtn.config.DTNConfig`; when given, ``crpn_grid``,
            ``crpn_scales``, ``crpn_ratios``, ``rpn_sizes``, ``rpn_top_n`` and ``roi_match``
            replace the corresponding arguments.
    """

    def __init__(self, in_channels: int, mid_channels: Optional[int] = None, stride: int = 16,
                 grid: int = 3, scales: Sequence[float] = (0.5, 1.0, 1.5),
                 ratios: Sequence[float] = (0.5, 1.0, 1.5),
                 rpn_sizes: Sequence[float] = (16, 32, 64),
                 rpn_ratios: Sequence[float] = (0.5, 1.0, 2.0),
                 top_n: int = 100, roi_match: int = 7, pool: int = 3, hidden: int = 256,
                 nms_thresh: float = 0.7, pre_nms_top_n: int = 2000, min_size: float = 1e-3,
                 fg_iou: float = 0.5, bg_iou: float = 0.3, batch_per_object: int = 64,
                 full_fg_iou: float = 0.7, full_bg_iou: float = 0.3, batch_per_image: int = 256,
                 positive_fraction: float = 0.5, low_quality_min_iou: float = 0.1, cfg=None):
        super().__init__()
        if cfg is not None:   # a DTNConfig overrides the CRPN fields it defines
            grid, scales, ratios = cfg.crpn_grid, cfg.crpn_scales, cfg.crpn_ratios
            rpn_sizes, top_n, roi_match = cfg.rpn_sizes, cfg.rpn_top_n, cfg.roi_match
        mid = mid_channels or min(in_channels, 256)
        self.in_channels, self.mid_channels = in_channels, mid
        self.stride, self.grid = stride, grid
        self.scales, self.ratios = tuple(scales), tuple(ratios)
        self.rpn_sizes, self.rpn_ratios = tuple(rpn_sizes), tuple(rpn_ratios)
        self.top_n, self.roi_match, self.pool = top_n, roi_match, pool
        self.nms_thresh, self.pre_nms_top_n, self.min_size = nms_thresh, pre_nms_top_n, min_size
        self.fg_iou, self.bg_iou, self.batch_per_object = fg_iou, bg_iou, batch_per_object
        self.full_fg_iou, self.full_bg_iou = full_fg_iou, full_bg_iou
        self.batch_per_image, self.positive_fraction = batch_per_image, positive_fraction
        self.low_quality_min_iou = low_quality_min_iou
        self.box_coder = det_utils.BoxCoder(weights=(1.0, 1.0, 1.0, 1.0))

        self.conv = nn.Sequential(nn.Conv2d(in_channels, mid, 3, padding=1), nn.ReLU(inplace=True))
        self.fc = nn.Sequential(nn.Linear(mid * pool * pool + 2, hidden), nn.ReLU(inplace=True))
        self.cls_logits = nn.Linear(hidden, 1)
        self.bbox_pred = nn.Linear(hidden, 4)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, std=0.01)
                nn.init.zeros_(m.bias)
        for m in (self.cls_logits, self.bbox_pred):
            nn.init.normal_(m.weight, std=0.01)
            nn.init.zeros_(m.bias)

    @classmethod
    def from_config(cls, cfg, in_channels: int, **kw) -> "ConditionalRPN":
        """Build from a :class:`vos_lib.dtn.config.DTNConfig` (same as ``cls(in_channels, cfg=cfg)``)."""
        return cls(in_channels, cfg=cfg, **kw)

    # ------------------------------------------------------------------ head
    def forward(self, features: Features, anchors: Tensor,
                batch_index: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """Score arbitrary anchors.

        Args:
            features: backbone dict (uses ``"res4"``) or the Res4 tensor ``(B, C, h, w)``.
            anchors: ``(N, 4)`` xyxy anchors; ``batch_index`` ``(N,)`` their images (default 0).
        Returns:
            ``objectness`` logits ``(N,)`` and box ``deltas`` ``(N, 4)`` (BoxCoder (1,1,1,1)).
        """
        res4 = _res4(features)
        x = self.conv(res4)
        anchors = anchors.reshape(-1, 4)
        if anchors.shape[0] == 0:
            return x.new_zeros((0,)), x.new_zeros((0, 4))
        rois = roi_rows(anchors, batch_index, x)
        pooled = roi_align(x, rois, output_size=(self.pool, self.pool), spatial_scale=1.0 / self.stride,
                           sampling_ratio=1, aligned=True).flatten(1)
        a = anchors.to(pooled.dtype)
        wh = torch.stack([a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]], dim=1).clamp(min=1e-3)
        geo = torch.log(wh / self.stride)
        hid = self.fc(torch.cat([pooled, geo], dim=1))
        return self.cls_logits(hid).squeeze(1), self.bbox_pred(hid)

    def _decode(self, deltas: Tensor, anchors: Tensor, image_size) -> Tensor:
        boxes = self.box_coder.decode_single(deltas.float(), anchors.float())
        return clip_boxes_to_image(boxes, tuple(int(v) for v in image_size))

    def anchors_for(self, prev_boxes: Tensor) -> Tensor:
        """``(K, 81, 4)`` conditional anchors of this CRPN's lattice / multipliers."""
        return conditional_anchors(prev_boxes, self.stride, self.grid, self.scales, self.ratios)

    def full_anchors_for(self, features: Features) -> Tensor:
        res4 = _res4(features)
        return full_anchors(res4.shape[-2:], self.stride, self.rpn_sizes, self.rpn_ratios,
                            device=res4.device)

    # ------------------------------------------------------------------ proposals
    def propose(self, features: Features, prev_boxes: Tensor, image_size: Tuple[int, int],
                batch_index: Optional[Tensor] = None) -> List[Tuple[Tensor, Tensor]]:
        """Conditional mode: for each of the K previous boxes, its 81 decoded candidates.

        Args:
            prev_boxes: ``(K, 4)`` target RoIs of frame ``i-1``; ``batch_index`` ``(K,)`` the
                image of each object in the feature batch (default 0).
        Returns:
            list over K of ``(boxes (81, 4), objectness (81,))``; boxes are decoded with
            ``BoxCoder((1, 1, 1, 1))`` and clipped to ``image_size``; objectness is the
            sigmoid probability.  No NMS: all 81 candidates are kept (Sec. 3.2).
        """
        prev_boxes = prev_boxes.reshape(-1, 4)
        K = prev_boxes.shape[0]
        if K == 0:
            return []
        anchors = self.anchors_for(prev_boxes)                                # (K, A, 4)
        A = anchors.shape[1]
        bidx = None if batch_index is None else batch_index.reshape(-1).repeat_interleave(A)
        logits, deltas = self(features, anchors.reshape(-1, 4), bidx)
        boxes = self._decode(deltas, anchors.reshape(-1, 4), image_size).reshape(K, A, 4)
        probs = torch.sigmoid(logits.float()).reshape(K, A)
        return [(boxes[k], probs[k]) for k in range(K)]

    def propose_full(self, features: Features, image_size: Tuple[int, int],
                     top_n: Optional[int] = None, image_index: int = 0) -> Tuple[Tensor, Tensor]:
        """Original-RPN baseline ("BR with ori RPN", Sec. 4.3) for one image of the batch.

        Scores all ``h x w x 9`` anchors, keeps the ``pre_nms_top_n`` best, decodes and
        clips, removes empty boxes, NMS (IoU 0.7) and keeps the ``top_n`` (default 100) best.
        Returns ``(boxes (n, 4), objectness probabilities (n,))`` with ``n <= top_n`` sorted
        by decreasing objectness.
        """
        top_n = self.top_n if top_n is None else top_n
        res4 = _res4(features)[image_index:image_index + 1]
        anchors = self.full_anchors_for(res4)
        logits, deltas = self(res4, anchors)
        logits = logits.detach().float()
        k = min(self.pre_nms_top_n, logits.numel())
        _, idx = logits.topk(k)
        boxes = self._decode(deltas.detach()[idx], anchors[idx], image_size)
        scores = torch.sigmoid(logits[idx])
        keep = remove_small_boxes(boxes, self.min_size)
        boxes, scores = boxes[keep], scores[keep]
        keep = batched_nms(boxes, scores, torch.zeros_like(scores, dtype=torch.long), self.nms_thresh)
        keep = keep[:top_n]
        return boxes[keep], scores[keep]

    # ------------------------------------------------------------------ training
    def _labels(self, anchors: Tensor, gt: Tensor, fg: float, bg: float) -> Tuple[Tensor, Tensor]:
        """RPN labels (1 fg, 0 bg, -1 ignore) and matched GT boxes for one anchor group.

        torchvision's ``Matcher(fg, bg)`` + Faster R-CNN's low-quality matches (each GT's
        best anchors become positive), the latter only when that IoU is at least
        ``low_quality_min_iou`` (torchvision's version would turn *all* anchors positive
        when a GT overlaps none of the 81 conditional anchors, IoU ties at 0).
        """
        n = anchors.shape[0]
        if gt.numel() == 0:
            return anchors.new_zeros((n,)), anchors.new_zeros((n, 4))
        iou = box_iou(gt, anchors)                                             # (G, N)
        matches = det_utils.Matcher(fg, bg, allow_low_quality_matches=False)(iou)
        best_gt_per_anchor = iou.argmax(dim=0)
        best_per_gt = iou.max(dim=1).values
        ok = best_per_gt >= self.low_quality_min_iou
        if ok.any():
            pairs = torch.where((iou == best_per_gt[:, None]) & ok[:, None])
            matches[pairs[1]] = best_gt_per_anchor[pairs[1]]
        labels = (matches >= 0).to(anchors.dtype)
        labels[matches == det_utils.Matcher.BELOW_LOW_THRESHOLD] = 0.0
        labels[matches == det_utils.Matcher.BETWEEN_THRESHOLDS] = -1.0
        return labels, gt[matches.clamp(min=0)]

    def loss(self, features: Features, prev_boxes: Optional[Tensor], gt_boxes: Tensor,
             image_size: Tuple[int, int], batch_index: Optional[Tensor] = None,
             mode: str = "conditional") -> Dict[str, Tensor]:
        """Faster R-CNN RPN losses (L_CRPN of Eq. 5, "the same definition as [11]").

        Args:
            prev_boxes: ``(K, 4)`` previous (in training: jittered GT, see
                :func:`vos_lib.core.boxes.jitter_boxes`) boxes, conditional mode only (ignored in full mode).
            gt_boxes: ``(K, 4)`` current GT boxes aligned with ``prev_boxes``; ``batch_index``
                ``(K,)`` gives the image of each (default 0).  Boxes with ``w`` or ``h < 1``
                pixel (absent objects) are not GT.
            mode: ``"conditional"`` -- each object's 81 anchors form one sampling group,
                labelled against all valid GT boxes of its image (class-agnostic objectness
                as in the RPN) with fg IoU >= ``fg_iou`` (0.5) / bg < ``bg_iou`` (0.3) --
                the 0.7 of [11] is lowered because the 81 anchors are few and already
                coarse (their shapes differ by x0.5/x1.5 steps); ``batch_per_object`` (64)
                samples, ``positive_fraction`` 0.5.  ``"full"`` -- all ``h x w x 9`` anchors
                per image, fg 0.7 / bg 0.3, 256 samples per image (for the static
                pre-training of the original RPN).
        Returns:
            ``{"loss_objectness": BCE-with-logits over sampled anchors, "loss_box_reg":
            smooth-L1 (beta 1/9) summed over sampled positives / number sampled}``
            (torchvision's ``RegionProposalNetwork.compute_loss``).
        """
        res4 = _res4(features)
        gt_boxes = gt_boxes.reshape(-1, 4).float()
        if batch_index is None:
            batch_index = torch.zeros(gt_boxes.shape[0], dtype=torch.long, device=gt_boxes.device)
        batch_index = batch_index.reshape(-1).long()
        valid = ((gt_boxes[:, 2] - gt_boxes[:, 0]) >= 1) & ((gt_boxes[:, 3] - gt_boxes[:, 1]) >= 1)

        groups_anchors, groups_bidx, groups_gt = [], [], []
        if mode == "conditional":
            if prev_boxes is None:
                raise ValueError("conditional mode needs prev_boxes")
            anchors = self.anchors_for(prev_boxes.reshape(-1, 4).float())
            fg, bg, per_group = self.fg_iou, self.bg_iou, self.batch_per_object
            for k in range(anchors.shape[0]):
                b = batch_index[k]
                groups_anchors.append(anchors[k])
                groups_bidx.append(b.expand(anchors.shape[1]))
                groups_gt.append(gt_boxes[(batch_index == b) & valid])
        elif mode == "full":
            anchors = self.full_anchors_for(res4)
            fg, bg, per_group = self.full_fg_iou, self.full_bg_iou, self.batch_per_image
            for b in range(res4.shape[0]):
                groups_anchors.append(anchors)
                groups_bidx.append(torch.full((anchors.shape[0],), b, dtype=torch.long,
                                              device=anchors.device))
                groups_gt.append(gt_boxes[(batch_index == b) & valid])
        else:
            raise ValueError(f"mode must be 'conditional' or 'full', got {mode!r}")

        labels, targets = [], []
        for anc, gt in zip(groups_anchors, groups_gt):
            lab, matched = self._labels(anc, gt.to(anc.device), fg, bg)
            labels.append(lab)
            targets.append(self.box_coder.encode_single(matched, anc))
        all_anchors = torch.cat(groups_anchors)
        all_bidx = torch.cat(groups_bidx)

        sampler = det_utils.BalancedPositiveNegativeSampler(per_group, self.positive_fraction)
        pos, neg = sampler(labels)
        pos = torch.where(torch.cat(pos))[0]
        neg = torch.where(torch.cat(neg))[0]
        sampled = torch.cat([pos, neg])
        # the head scores each anchor on its own (RoIAlign + MLP), so only the sampled
        # anchors need a forward pass: the same losses as scoring all of them, much cheaper
        # for the h x w x 9 anchors of the full mode
        logits, deltas = self(res4, all_anchors[sampled], all_bidx[sampled])
        labels_t = torch.cat(labels)[sampled].to(logits.device)
        targets_t = torch.cat(targets)[pos].to(deltas.device)
        n_pos = pos.numel()
        denom = max(sampled.numel(), 1)
        loss_box = F.smooth_l1_loss(deltas.float()[:n_pos], targets_t, beta=1 / 9,
                                    reduction="sum") / denom
        if sampled.numel() > 0:
            loss_obj = F.binary_cross_entropy_with_logits(logits.float(), labels_t)
        else:
            loss_obj = self.cls_logits.weight.sum() * 0.0
        return {"loss_objectness": loss_obj, "loss_box_reg": loss_box}

    # ------------------------------------------------------------------ re-identification
    def reidentify(self, features: Features, prev_boxes: Tensor, first_feats: Tensor,
                   prev_feats: Tensor, image_size: Tuple[int, int], mode: str = "conditional",
                   objectness_weight: float = 0.0, top_n: Optional[int] = None,
                   batch_index: Optional[Tensor] = None) -> Tuple[Tensor, dict]:
        """The BR stream end to end for K objects (Sec. 3.2).

        1. candidates: ``propose`` (81 per object, conditional) or ``propose_full`` (top-100
           of the whole frame, shared by all objects of an image, "BR with ori RPN");
        2. ``f(B)`` by :func:`roi_feature` (RoIAlign 7x7 on Res4, average pooled);
        3. Eq. 2 distances to ``first_feats[k] = f(T_1^k)`` and ``prev_feats[k] =
           f(T_{i-1}^k)`` (both ``(K, C)``, computed by the caller with
           :meth:`box_features`), minus ``objectness_weight * objectness`` (an optional
           tie-breaker, 0 = the paper's Eq. 2 choice);
        4. :func:`select_candidate` (argmin, see its docstring).

        Returns:
            ``boxes (K, 4)`` and ``info`` with ``candidates`` / ``objectness`` /
            ``distances`` (Eq. 2) / ``scores`` (what is minimised): lists over K, ``index``
            ``(K,)`` the chosen candidate (-1 when an object had no candidate; its
            previous box is then kept) and ``mode``.  The selection is not differentiable:
            the returned boxes are detached (train the CRPN with :meth:`loss`).
        """
        res4 = _res4(features)
        prev_boxes = prev_boxes.reshape(-1, 4).float()
        K = prev_boxes.shape[0]
        if batch_index is None:
            batch_index = torch.zeros(K, dtype=torch.long, device=prev_boxes.device)
        batch_index = batch_index.reshape(-1).long()
        if mode == "conditional":
            props = self.propose(features, prev_boxes, image_size, batch_index)
        elif mode == "full":
            per_image = {int(b): self.propose_full(features, image_size, top_n, image_index=int(b))
                         for b in batch_index.unique().tolist()}
            props = [per_image[int(b)] for b in batch_index.tolist()]
        else:
            raise ValueError(f"mode must be 'conditional' or 'full', got {mode!r}")

        counts = [p[0].shape[0] for p in props]
        if sum(counts) > 0:
            cand = torch.cat([p[0] for p in props])
            bidx = torch.cat([batch_index[k].expand(n) for k, n in enumerate(counts)])
            feats = roi_feature(res4, cand, self.stride, self.roi_match, bidx).split(counts)
        else:
            feats = [res4.new_zeros((0, res4.shape[1]))] * K

        out = prev_boxes.clone()
        index = torch.full((K,), -1, dtype=torch.long, device=prev_boxes.device)
        dists, scores = [], []
        for k in range(K):
            boxes_k, obj_k = props[k]
            d = matching_score(feats[k].float(), first_feats[k].float(), prev_feats[k].float())
            s = d - objectness_weight * obj_k.float() if objectness_weight else d
            dists.append(d)
            scores.append(s)
            if s.numel() > 0:
                j = select_candidate(s)
                index[k] = j
                out[k] = boxes_k[j].detach().to(out)
        info = {"candidates": [p[0] for p in props], "objectness": [p[1] for p in props],
                "distances": dists, "scores": scores, "index": index, "mode": mode}
        return out, info
