"""Baseline: ResNet-18 + FPN on the query image alone (no reference views)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from trainer.layers import MLP
from trainer.models.resnet_fpn import ResNet18FPN, load_backbone_weights


@dataclass
class QueryOnlyConfig:
    width: int = 64
    enc_dim: int = 128
    box_head: bool = False
    norm: str = "bn"
    pretrained: str | None = None


class QueryOnly(nn.Module):
    uses_views = False

    def __init__(self, **kwargs):
        super().__init__()
        cfg = QueryOnlyConfig(**kwargs)
        self.cfg = cfg
        self.encoder = ResNet18FPN(cfg.width, cfg.enc_dim, 3, cfg.norm)
        if cfg.pretrained:
            load_backbone_weights(self.encoder, cfg.pretrained)
        self.head = nn.Linear(cfg.enc_dim, 1)
        self.box = MLP(cfg.enc_dim, cfg.enc_dim, 4, layers=4) if cfg.box_head else None

    @property
    def args(self) -> dict:
        return asdict(self.cfg)

    def forward(self, query: torch.Tensor, refs=None, points=None, point_valid=None) -> dict:
        """query : (B, 3, H, W) normalized -> dict(logit (B,), box (B, 4) or None)."""
        t = self.encoder(query).mean((2, 3))  # (B, C)
        return {
            "logit": self.head(t).squeeze(-1).float(),
            "box": self.box(t).float().sigmoid() if self.box is not None else None,
        }
