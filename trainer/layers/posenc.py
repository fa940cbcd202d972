"""Positional encodings: Fourier features of 3D world points (3DPE) and fixed 2D sine-cosine maps."""

from __future__ import annotations

import math

import torch
from torch import nn

from trainer.layers.mlp import MLP


class FourierPointEncoding(nn.Module):
    """3D positional encoding of reference patches (CMT's 3DPE).

    points : (..., 3) float, metres, world frame (shapes are normalized to a unit bbox diagonal, so
    coordinates lie in about [-1, 1]); valid : (...) bool (False where the patch sees no surface).
    Returns (..., dim): MLP([p, sin(2^k pi p / scale), cos(2^k pi p / scale)]), and a learned vector
    where ``valid`` is False.
    """

    def __init__(self, dim: int, freqs: int = 8, scale: float = 1.0):
        super().__init__()
        self.scale = float(scale)
        self.register_buffer("bands", (2.0 ** torch.arange(freqs)) * math.pi / self.scale, persistent=False)
        self.mlp = MLP(3 + 6 * freqs, dim, dim, layers=2)
        self.no_point = nn.Parameter(torch.zeros(dim))

    def forward(self, points: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        p = torch.where(valid[..., None], points, torch.zeros_like(points)).float()
        x = p[..., None] * self.bands  # (..., 3, F)
        feats = torch.cat([p, x.sin().flatten(-2), x.cos().flatten(-2)], -1)
        out = self.mlp(feats)
        return torch.where(valid[..., None], out, self.no_point.to(out.dtype))


def sincos_2d(h: int, w: int, dim: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """Fixed 2D sine-cosine positional encoding: (h*w, dim), row-major over (row, column); dim % 4 == 0."""
    if dim % 4:
        raise ValueError(f"sincos_2d needs dim divisible by 4, got {dim}")
    q = dim // 4
    omega = 1.0 / (10000 ** (torch.arange(q, device=device, dtype=torch.float32) / max(q, 1)))
    ys, xs = torch.meshgrid(
        torch.arange(h, device=device, dtype=torch.float32), torch.arange(w, device=device, dtype=torch.float32), indexing="ij"
    )
    ay = ys.reshape(-1, 1) * omega
    ax = xs.reshape(-1, 1) * omega
    return torch.cat([ay.sin(), ay.cos(), ax.sin(), ax.cos()], 1).to(dtype)
