"""Losses of the Odd-One-Out model: rendering (colour, silhouette, optional depth), feature
distillation, and the per-object anomaly BCE.

Rendered values and targets at R pixels of V held-out views (float32):
- colour: the rendered colour is composited over the target image, ``rgb + (1 - silhouette) * target``
  (the density models only the objects; floor and sky come from the target), then L1 or MSE;
- silhouette: binary cross-entropy of the accumulated opacity against the object mask;
- depth (optional, off by default: the release never reads depth): L1 of the surface depth
  ``depth / silhouette`` on object pixels, metres;
- feature: 1 - cosine (or MSE) between the feature rendered with detached weights and the
  teacher's feature at the same pixel, on object pixels only (the density carries no floor);
- classification: BCE of the per-instance logits against their labels, real instances only.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.to(x.dtype)
    return (x * m).sum() / m.sum().clamp(min=1)


def rendering_losses(out: dict, rgb: torch.Tensor, sil: torch.Tensor, depth: torch.Tensor | None = None,
                     feat: torch.Tensor | None = None, rgb_loss: str = "l1", feat_loss: str = "cosine") -> dict:
    """out : ``render_rays`` dict for (B, V, R) rays; rgb : (B, V, R, 3) in [0, 1]; sil : (B, V, R) in [0, 1];
    depth : (B, V, R) metres (0 = none) or None; feat : (B, V, R, C) teacher features or None.
    Returns {"rgb", "sil", "depth", "feat", "psnr"}: scalar float32 tensors (depth / feat absent when off)."""
    s = out["silhouette"].float()
    losses = {}
    pred = out["rgb"].float() + (1 - s[..., None]) * rgb.float()
    if rgb_loss == "l1":
        losses["rgb"] = (pred - rgb).abs().mean()
    elif rgb_loss == "mse":
        losses["rgb"] = ((pred - rgb) ** 2).mean()
    else:
        raise ValueError(f"rgb_loss must be l1 or mse, got {rgb_loss!r}")
    with torch.no_grad():
        losses["psnr"] = -10 * torch.log10(((pred - rgb) ** 2).mean().clamp(min=1e-10))
    losses["sil"] = F.binary_cross_entropy(s.clamp(1e-5, 1 - 1e-5), sil.float())
    fg = sil > 0.5
    if depth is not None:
        ok = fg & (depth > 0)
        surf = out["depth"].float() / s.clamp(min=1e-3)
        losses["depth"] = _masked_mean((surf - depth.float()).abs(), ok)
    if feat is not None and out.get("feat") is not None:
        f = out["feat"].float()
        if feat_loss == "cosine":
            err = 1 - F.cosine_similarity(f, feat.float(), dim=-1, eps=1e-6)
        elif feat_loss == "mse":
            err = ((f - feat.float()) ** 2).mean(-1)
        else:
            raise ValueError(f"feat_loss must be cosine or mse, got {feat_loss!r}")
        losses["feat"] = _masked_mean(err, fg)
    return losses


def classification_loss(logits: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """logits : (B, M) float; labels : (B, M) {0, 1}; mask : (B, M) bool -> mean BCE over real instances
    (0 with a graph when there are none)."""
    bce = F.binary_cross_entropy_with_logits(logits.float(), labels.float(), reduction="none")
    return _masked_mean(bce, mask)
