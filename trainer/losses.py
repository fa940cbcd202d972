"""Training losses: BCE on the anomaly logit, VLFA contrastive alignment, and the box loss.

total = BCE + w_qv * L_qv + w_vv * L_vv (+ w_l1 * L1 + w_giou * GIoU on anomalous samples with a box)
- L_qv: InfoNCE over M / tau for every query token, the positive being argmax_j M (pseudo correspondence).
- L_vv: InfoNCE between patches of reference view v and all patches of view (v+1) % V with the
  ground-truth correspondence from depth and cameras as positive (pairs without one are skipped).

``vlfa_norm`` (default on) divides each InfoNCE term by its value at chance, ln(number of
candidates) (ln(V * 49) for L_qv, ln(49) for L_vv at 7x7 patches), so both start near 1 whatever
the number of views and patches, on BCE's scale (ln 2 at chance). Raw, as in the paper's code
(``vlfa_norm=False``), L_qv starts at ln(V * 49) ~ 5 with 3 views and its gradient through the
shared encoders outweighs BCE's: a small CMT then fits the VLFA terms and leaves BCE at ln 2
(tests/test_trainer_fit.py fits with the default weights 0.5 only with the normalisation).
"""

from __future__ import annotations

import math

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class LossConfig:
    """pos_weight : weight of the anomalous class in the BCE (n_normal / n_anomalous balances the classes)."""

    vlfa: bool = True
    vlfa_norm: bool = True
    pos_weight: float = 1.0
    w_qv: float = 0.5
    w_vv: float = 0.5
    tau: float = 0.1
    w_l1: float = 5.0
    w_giou: float = 2.0


def cxcywh_to_xyxy(b: torch.Tensor) -> torch.Tensor:
    """(..., 4) (cx, cy, w, h) -> (..., 4) (x1, y1, x2, y2)."""
    cx, cy, w, h = b.unbind(-1)
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], -1)


def giou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Generalized IoU of paired boxes a, b : (n, 4) xyxy -> (n,)."""
    lt = torch.maximum(a[:, :2], b[:, :2])
    rb = torch.minimum(a[:, 2:], b[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area_a = (a[:, 2:] - a[:, :2]).clamp(min=0).prod(-1)
    area_b = (b[:, 2:] - b[:, :2]).clamp(min=0).prod(-1)
    union = area_a + area_b - inter
    iou = inter / union.clamp(min=1e-9)
    hull = (torch.maximum(a[:, 2:], b[:, 2:]) - torch.minimum(a[:, :2], b[:, :2])).clamp(min=0).prod(-1)
    return iou - (hull - union) / hull.clamp(min=1e-9)


def qv_loss(M: torch.Tensor, tau: float) -> torch.Tensor:
    """M : (B, n, Nv) cosine similarities -> InfoNCE with the argmax as positive (scalar)."""
    logits = M.float() / tau
    return F.cross_entropy(logits.flatten(0, 1), logits.detach().argmax(-1).flatten())


def vv_loss(beta_v: torch.Tensor, target: torch.Tensor, tau: float) -> torch.Tensor:
    """beta_v : (B, V, n, D) L2-normalized; target : (B, V, n) int64 patch in view (v+1) % V, -1 = none."""
    if beta_v.shape[1] < 2 or not (target >= 0).any():
        return beta_v.sum() * 0.0
    nxt = beta_v.roll(-1, dims=1)
    logits = torch.einsum("bvpd,bvqd->bvpq", beta_v.float(), nxt.float()) / tau  # (B, V, n, n)
    return F.cross_entropy(logits.flatten(0, 2), target.flatten(), ignore_index=-1)


def compute_loss(out: dict, batch: dict, cfg: LossConfig) -> tuple[torch.Tensor, dict]:
    """out : model outputs (logit (B,), box, M, beta_v); batch : collated batch on the device.
    Returns (total scalar, {name: detached scalar})."""
    label = batch["label"].float()
    pw = None if cfg.pos_weight == 1.0 else torch.tensor(cfg.pos_weight, device=label.device)
    bce = F.binary_cross_entropy_with_logits(out["logit"], label, pos_weight=pw)
    total = bce
    parts = {"bce": bce.detach()}
    if cfg.vlfa and out.get("M") is not None:
        lqv = qv_loss(out["M"], cfg.tau)
        lvv = vv_loss(out["beta_v"], batch["vv_target"], cfg.tau)
        if cfg.vlfa_norm:
            lqv = lqv / math.log(max(out["M"].shape[-1], 2))
            lvv = lvv / math.log(max(out["beta_v"].shape[2], 2))
        total = total + cfg.w_qv * lqv + cfg.w_vv * lvv
        parts.update(qv=lqv.detach(), vv=lvv.detach())
    if out.get("box") is not None:
        has = batch["has_box"]
        if has.any():
            pred = cxcywh_to_xyxy(out["box"][has])
            gt = batch["bbox"][has].float()
            l1 = (pred - gt).abs().sum(-1).mean()
            lg = (1 - giou(pred, gt)).mean()
        else:
            l1 = lg = out["box"].sum() * 0.0
        total = total + cfg.w_l1 * l1 + cfg.w_giou * lg
        parts.update(l1=l1.detach(), giou=lg.detach())
    parts["loss"] = total.detach()
    return total, parts
