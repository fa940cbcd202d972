"""ResNet-18 + FPN encoder (CMT's image encoder) and the query-only baseline's trunk.

A 256 x 256 image gives a (out_dim, 32, 32) feature map (stride 8) at the default width. Module
names follow the common ResNet-18 layout (conv1, bn1, layer1..layer4, downsample.0/1), so a local
ResNet-18 state dict can be loaded with ``load_backbone_weights`` (never downloaded).
"""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from torch import nn

from trainer.checkpoint_io import load_weights_only


def _norm(kind: str, ch: int) -> nn.Module:
    if kind == "bn":
        return nn.BatchNorm2d(ch)
    if kind == "gn":
        return nn.GroupNorm(min(32, max(1, ch // 4)), ch)
    raise ValueError(f"norm must be 'bn' or 'gn', got {kind!r}")


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, norm: str):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = _norm(norm, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = _norm(norm, cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), _norm(norm, cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)), inplace=True)
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)), inplace=True)


class ResNet18FPN(nn.Module):
    """ResNet-18 trunk (widths w, 2w, 4w, 8w) + a top-down FPN fused at stride 8.

    x : (B, in_chans, H, W) float, normalized -> (B, out_dim, H/8, W/8). H, W multiples of 32.
    width : 64 for the standard ResNet-18; tests use 8.
    """

    def __init__(self, width: int = 64, out_dim: int = 128, in_chans: int = 3, norm: str = "bn"):
        super().__init__()
        w = width
        self.out_dim = out_dim
        self.conv1 = nn.Conv2d(in_chans, w, 7, 2, 3, bias=False)
        self.bn1 = _norm(norm, w)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        chans = [w, 2 * w, 4 * w, 8 * w]
        cin = w
        for i, c in enumerate(chans):
            stride = 1 if i == 0 else 2
            setattr(self, f"layer{i + 1}", nn.Sequential(BasicBlock(cin, c, stride, norm), BasicBlock(c, c, 1, norm)))
            cin = c
        self.lateral = nn.ModuleList([nn.Conv2d(c, out_dim, 1) for c in chans[1:]])  # C3, C4, C5
        self.smooth = nn.Sequential(nn.Conv2d(out_dim, out_dim, 3, 1, 1, bias=False), _norm(norm, out_dim), nn.ReLU(inplace=True))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(F.relu(self.bn1(self.conv1(x)), inplace=True))  # (B, w, H/4, W/4)
        c2 = self.layer1(x)
        c3 = self.layer2(c2)  # (B, 2w, H/8, W/8)
        c4 = self.layer3(c3)  # (B, 4w, H/16, W/16)
        c5 = self.layer4(c4)  # (B, 8w, H/32, W/32)
        p = self.lateral[2](c5)
        p = self.lateral[1](c4) + F.interpolate(p, size=c4.shape[-2:], mode="nearest")
        p = self.lateral[0](c3) + F.interpolate(p, size=c3.shape[-2:], mode="nearest")
        return self.smooth(p)  # (B, out_dim, H/8, W/8)


def load_backbone_weights(encoder: ResNet18FPN, path: str | os.PathLike) -> list[str]:
    """Load a local ResNet-18 state dict (a ``.pt``/``.pth`` file; a ``{"state_dict": ...}`` or
    ``{"model": ...}`` wrapper is unwrapped) into the trunk. Keys that do not fit (fc.*, FPN) are
    skipped. Returns the names of encoder parameters that were NOT loaded. Read with ``weights_only=True``
    (``trainer.checkpoint_io``): a missing, unreadable or refused file is an ``InputError`` naming it."""
    sd = load_weights_only(path, "backbone weights")
    for key in ("state_dict", "model"):
        if isinstance(sd, dict) and key in sd and isinstance(sd[key], dict):
            sd = sd[key]
    own = encoder.state_dict()
    use = {k: v for k, v in sd.items() if k in own and own[k].shape == v.shape}
    if not use:
        raise ValueError(f"{path}: no tensor of this file fits the ResNet-18 trunk")
    encoder.load_state_dict(use, strict=False)
    return sorted(set(own) - set(use))
