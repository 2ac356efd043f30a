"""DTN + MRN assembled: the full model of Zhang et al., ICCV 2019 (Fig. 2 and Fig. 3).

One shared backbone (Sec. 3.1) feeds the Dynamic Targeting Network and the Mask
Refinement Network.  For frame i:

1. the flow network estimates O_i from (I_i, I_{i-1}); the decision module (DM) reads its
   conv6 features and predicts a confidence C_i (Sec. 3.2, trained against Eq. 1);
2. C_i > theta_c  -> box propagation (BP): warp the last masks Y_{i-1}^k with O_i and take
   the boxes of the warped masks;  otherwise -> box re-identification (BR): the
   conditional RPN proposes 81 anchors per object around T_{i-1}^k and the candidate
   closest to the first- and previous-frame features (Eq. 2) is chosen;
3. the MRN (Eq. 3, Eq. 4) segments each RoI guided by the warped mask, and the K object
   masks are pasted back and merged into one indexed mask.

Training (Sec. 3.4): L = L_DM + L_CRPN + L_MRN (Eq. 5), in two stages, static-image
pre-training then video fine-tuning.  The flow network is trained first, on its own,
against ground-truth flow (the paper uses a pre-trained FlowNet2-S, not part of Eq. 5).
"""
from __future__ import annotations

import torch
from torch import nn

from . import crpn as crpn_mod
from . import mrn as mrn_mod
from ..core.backbone import LEVELS, build_backbone
from ..core.boxes import jitter_boxes, mask_to_box, roi_box
from ..core.timer import NullTimer
from .config import DTNConfig
from .decision import build_decision, confidence_target, dm_loss, warp_statistics
from ..core.flow import build_flow, multiscale_epe_loss, warp


# ------------------------------------------------------------------------ batch helpers
def split_objects(masks: torch.Tensor, n_objects: torch.Tensor):
    """(B,H,W) id masks -> per-object binary masks (N,H,W) and their sample index (N,)."""
    sample, ids = [], []
    for b in range(masks.shape[0]):
        for k in range(1, int(n_objects[b]) + 1):
            sample.append(b)
            ids.append(k)
    sample = torch.tensor(sample, dtype=torch.long, device=masks.device)
    ids = torch.tensor(ids, dtype=torch.long, device=masks.device)
    return sample, ids


class DTN(nn.Module):
    """Dynamic Targeting Network + Mask Refinement Network (DTN Fig. 2)."""

    def __init__(self, cfg: DTNConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or DTNConfig()
        self.backbone = build_backbone(cfg)
        ch = self.backbone.channels
        self.flow = build_flow(cfg)
        self.dm = build_decision(cfg, self.flow.conv6_channels)
        self.crpn = crpn_mod.ConditionalRPN(ch["res4"], cfg=cfg)
        self.mrn = mrn_mod.MaskRefinementNetwork({k: ch[k] for k in LEVELS}, channels=cfg.mrn_channels,
                                                 M=cfg.mrn_M, guidance=cfg.mask_guidance)
        self.stage = "finetune"      # "flow" | "pretrain" | "finetune": which losses train

    # -------------------------------------------------------------------------- training
    def flow_step(self, batch: dict) -> dict:
        """Stage 0: the flow network alone, multi-scale EPE against ground-truth flow."""
        out = self.flow(batch["cur_img"], batch["prev_img"])
        valid = batch["flow_valid"] & batch["has_flow"].view(-1, 1, 1)
        return {"flow_epe": multiscale_epe_loss(out["flows"], batch["flow"], valid)}

    def training_step(self, batch: dict) -> dict:
        """Eq. 5: L = L_DM + L_CRPN + L_MRN on a (ref, prev, cur) triple.

        Pre-training (static images, Sec. 3.4) trains backbone, RPN and MRN, with the
        exact flow of the synthetic pair as guidance; fine-tuning (videos) trains every
        module jointly, with the flow network's own (frozen) flow as BP/MRN input.
        """
        cur, prev = batch["cur_img"], batch["prev_img"]
        H, W = cur.shape[-2:]
        with torch.no_grad():
            self.flow.eval()
            fout = self.flow(cur, prev)
        if self.stage == "pretrain":
            flow = torch.where(batch["has_flow"].view(-1, 1, 1, 1), batch["flow"], fout["flow"])
        else:
            flow = fout["flow"]
        sample, ids = split_objects(batch["cur_mask"], batch["n_objects"])
        if sample.numel() == 0:
            zero = cur.sum() * 0
            return {"dm": zero, "crpn": zero, "mrn": zero}
        prev_m = (batch["prev_mask"][sample] == ids[:, None, None]).float()
        cur_m = (batch["cur_mask"][sample] == ids[:, None, None]).float()
        warped = warp(prev_m[:, None], flow[sample])            # Y_{(i-1)->i}^k
        bp_boxes, bp_valid = mask_to_box(warped[:, 0])
        gt_boxes, gt_valid = mask_to_box(cur_m)
        prev_boxes, prev_valid = mask_to_box(prev_m)
        losses = {}

        # decision module, Eq. 1 target
        if self.stage == "finetune":
            target = torch.zeros(cur.shape[0], device=cur.device)
            for b in range(cur.shape[0]):
                sel = sample == b
                target[b] = confidence_target(bp_boxes[sel] * bp_valid[sel, None],
                                              gt_boxes[sel], gt_valid[sel])
            # C_i exactly as at inference (here flow is the network's own, fout["flow"])
            conf = self.decide(cur, prev, prev_m, sample, flow_out=fout, warped=warped)["confidence"]
            losses["dm"] = dm_loss(conf, target)

        feats = self.backbone(cur)
        # conditional RPN: anchors around the previous box, regress the current one
        use = prev_valid & gt_valid
        if use.any():
            pb = jitter_boxes(prev_boxes[use], 0.1)
            rl = self.crpn.loss(feats, pb, gt_boxes[use], (H, W), batch_index=sample[use])
            losses["crpn"] = rl["loss_objectness"] + rl["loss_box_reg"]
        else:
            losses["crpn"] = cur.sum() * 0
        if self.stage == "pretrain" and gt_valid.any():
            # the original RPN (all h x w x 9 anchors) is pre-trained too (Sec. 3.4), so the
            # "BR with ori RPN" ablation of Table 3 compares two trained proposal sets
            rf = self.crpn.loss(feats, None, gt_boxes[gt_valid], (H, W),
                                batch_index=sample[gt_valid], mode="full")
            losses["rpn_full"] = rf["loss_objectness"] + rf["loss_box_reg"]

        # mask refinement: RoIs around the ground-truth box (jittered, with context)
        roi = roi_box(jitter_boxes(gt_boxes[gt_valid], 0.1), self.cfg.box_context, (H, W))
        guide = warped[gt_valid]
        drop = torch.rand(guide.shape[0], device=guide.device) < 0.2   # learn to cope w/o prior
        guide = guide * (~drop).float().view(-1, 1, 1, 1)
        logits = self.mrn(feats, roi, guide, sample[gt_valid])
        tgt = mrn_mod.mrn_targets(cur_m[gt_valid], roi, self.cfg.mrn_M)
        losses["mrn"] = mrn_mod.mrn_loss(logits, tgt)
        return losses

    # ------------------------------------------------------------------------- inference
    def decide(self, cur: torch.Tensor, prev: torch.Tensor, prev_masks: torch.Tensor,
               sample: torch.Tensor | None = None, flow_out: dict | None = None,
               warped: torch.Tensor | None = None) -> dict:
        """The decision module's confidence C_i for ``B`` frame pairs (Sec. 3.2).

        ``cur``/``prev`` ``(B, 3, H, W)``: I_i and I_{i-1}; ``prev_masks`` ``(N, H, W)`` the
        objects' masks Y_{i-1}^k and ``sample`` ``(N,)`` their pair (default: all pair 0).
        Runs the flow network (unless ``flow_out`` is given), warps the masks (the BP
        input; unless ``warped`` is given) and, with ``dm_features="conv6+warp"``, computes
        the warp statistics.
        Returns ``{confidence (B,), flow, conv6, warped (N, 1, H, W), extra}``.
        """
        fout = flow_out if flow_out is not None else self.flow(cur, prev)
        if sample is None:
            sample = torch.zeros(prev_masks.shape[0], dtype=torch.long, device=cur.device)
        if warped is None:
            warped = warp(prev_masks.float()[:, None], fout["flow"][sample])
        extra = (warp_statistics(cur, prev, fout["flow"], prev_masks, warped, sample)
                 if self.dm.extra else None)
        return {"confidence": self.dm(fout["conv6"], extra), "flow": fout["flow"],
                "conv6": fout["conv6"], "warped": warped, "extra": extra}

    def roi(self, boxes: torch.Tensor, image_size) -> torch.Tensor:
        """The MRN's RoIs for target boxes T_i^k: ``box_context`` added, in RoIAlign's
        continuous convention, clipped to the frame (:func:`vos_lib.core.boxes.roi_box`)."""
        return roi_box(boxes, self.cfg.box_context, image_size)

    @torch.no_grad()
    def first_frame(self, img: torch.Tensor, masks: torch.Tensor) -> dict:
        """Initialise the state from frame 1: features f(T_1^k) for Eq. 2, boxes, masks."""
        feats = self.backbone(img)
        boxes, valid = mask_to_box(masks)
        fvec = crpn_mod.roi_feature(feats["res4"], boxes, output_size=self.cfg.roi_match)
        return {"img": img, "masks": masks.float(), "boxes": boxes, "first_feats": fvec,
                "prev_feats": fvec.clone()}

    @torch.no_grad()
    def step(self, img: torch.Tensor, state: dict, theta_c: float | None = None,
             force: str | None = None, rpn: str = "conditional", use_dtn: bool = True,
             timer=None) -> tuple[torch.Tensor, dict, dict]:
        """Segment one frame given the previous frame's state.

        Returns the (H, W) id mask (1..K), the new state and ``{confidence, route}``.
        """
        timer = timer or NullTimer()
        theta = self.cfg.theta_c if theta_c is None else theta_c
        H, W = img.shape[-2:]
        K = state["masks"].shape[0]
        with timer("backbone"):
            feats = self.backbone(img)
        with timer("DM"):     # flow network + mask warp (shared with BP) + DM head
            dec = self.decide(img, state["img"], state["masks"])
            warped, conf = dec["warped"], float(dec["confidence"].reshape(-1)[0])
        with timer("BP"):
            bp_boxes, bp_valid = mask_to_box(warped[:, 0])
        route = force or ("BP" if conf > theta else "BR")
        if route == "BP" and not bool(bp_valid.all()):
            route = "BR"                       # an object was lost: propagation cannot work
        if not use_dtn:
            route = "full"
            boxes = torch.tensor([[0, 0, W - 1, H - 1]], dtype=torch.float32,
                                 device=img.device).expand(K, 4).clone()
        elif route == "BP":
            boxes = bp_boxes
        else:
            with timer("BR"):
                boxes, _ = self.crpn.reidentify(feats, state["boxes"], state["first_feats"],
                                                state["prev_feats"], (H, W), mode=rpn)
        with timer("MRN"):
            roi = self.roi(boxes, (H, W))
            logits = self.mrn(feats, roi, warped, torch.zeros(K, dtype=torch.long, device=img.device))
            probs = mrn_mod.paste_masks(torch.sigmoid(logits), roi, (H, W))
        ids = mrn_mod.merge_masks(probs)
        masks = torch.stack([(ids == k + 1) for k in range(K)]).float()
        new_boxes, new_valid = mask_to_box(masks)
        keep = new_valid[:, None]
        state = dict(state)
        state["boxes"] = torch.where(keep, new_boxes, state["boxes"])   # last known box if lost
        fvec = crpn_mod.roi_feature(feats["res4"], state["boxes"], output_size=self.cfg.roi_match)
        state["prev_feats"] = torch.where(keep, fvec, state["prev_feats"])
        state["masks"], state["img"] = masks, img
        return ids, state, {"confidence": conf, "route": route}
