"""The frozen 2D teacher whose patch features the feature volume distils: DINOv2 ViT-S/14.

The ViT is written here with the parameter names of the official DINOv2 checkpoints
(``dinov2_vits14_pretrain.pth``: ``cls_token``, ``pos_embed`` (1, 1 + 37*37, 384), ``mask_token``,
``patch_embed.proj.*``, ``blocks.N.{norm1, attn.qkv, attn.proj, ls1.gamma, norm2, mlp.fc1, mlp.fc2,
ls2.gamma}``, ``norm.*``; ``register_tokens`` for the ``_reg`` variants), so ``load_teacher(path)``
loads a file the user has locally. Nothing is ever downloaded. The architecture is read from the
tensors' shapes (heads = width / 64, the DINOv2 rule; at least 1), so ``tiny_vit`` models that tests
save load through the same path.

    teacher = load_teacher("dinov2_vits14_pretrain.pth")   # frozen, eval mode
    f = teacher(rgb)      # rgb (N, 3, H, W) float in [0, 1] -> (N, 384, round(H/14), round(W/14))
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from datagen.errors import InputError
from trainer.checkpoint_io import load_weights_only

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class PatchEmbed(nn.Module):
    def __init__(self, patch: int, dim: int):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, patch, patch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)  # (B, dim, H/p, W/p)


class LayerScale(nn.Module):
    def __init__(self, dim: int, init: float = 1e-5):
        super().__init__()
        self.gamma = nn.Parameter(torch.full((dim,), float(init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, N, D = x.shape
        q, k, v = self.qkv(x).view(B, N, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        return self.proj(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(B, N, D))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, hidden: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.ls1 = LayerScale(dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, hidden)
        self.ls2 = LayerScale(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.ls1(self.attn(self.norm1(x)))
        return x + self.ls2(self.mlp(self.norm2(x)))


class DinoViT(nn.Module):
    """DINOv2 ViT. Defaults: ViT-S/14 (dim 384, depth 12, 6 heads, MLP 1536, 37 x 37 position grid).

    forward(x (B, 3, H, W) ImageNet-normalized, H and W multiples of ``patch``) -> (B, dim, H/p, W/p):
    the patch tokens after the final norm.
    """

    def __init__(self, patch: int = 14, dim: int = 384, depth: int = 12, heads: int = 6, mlp_hidden: int = 1536,
                 pos_grid: int = 37, registers: int = 0):
        super().__init__()
        self.patch, self.dim, self.pos_grid = int(patch), int(dim), int(pos_grid)
        self.patch_embed = PatchEmbed(patch, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + pos_grid * pos_grid, dim))
        self.mask_token = nn.Parameter(torch.zeros(1, dim))  # unused at inference; in the checkpoints
        self.register_tokens = nn.Parameter(torch.zeros(1, registers, dim)) if registers else None
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_hidden) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.normal_(self.cls_token, std=1e-6)

    def pos_for(self, h: int, w: int) -> torch.Tensor:
        """Position embeddings for an h x w patch grid: (1, 1 + h*w, dim), patch part resized bicubically."""
        pe = self.pos_embed
        if (h, w) == (self.pos_grid, self.pos_grid):
            return pe
        g = self.pos_grid
        grid = pe[:, 1:].float().reshape(1, g, g, self.dim).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(h, w), mode="bicubic", align_corners=False)
        return torch.cat([pe[:, :1], grid.permute(0, 2, 3, 1).reshape(1, h * w, self.dim).to(pe.dtype)], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B = x.shape[0]
        p = self.patch_embed(x)  # (B, dim, h, w)
        h, w = p.shape[-2:]
        t = torch.cat([self.cls_token.expand(B, -1, -1).to(p.dtype), p.flatten(2).transpose(1, 2)], 1)
        t = t + self.pos_for(h, w).to(t.dtype)
        if self.register_tokens is not None:
            t = torch.cat([t[:, :1], self.register_tokens.expand(B, -1, -1).to(t.dtype), t[:, 1:]], 1)
        for blk in self.blocks:
            t = blk(t)
        t = self.norm(t)[:, t.shape[1] - h * w:]  # patch tokens
        return t.transpose(1, 2).reshape(B, self.dim, h, w)


class Teacher(nn.Module):
    """A frozen ViT with its input handling. forward(rgb (N, 3, H, W) float in [0, 1], sRGB)
    -> (N, dim, h, w) float32, h = round(H / patch) (the image is resized to h * patch first)."""

    def __init__(self, vit: DinoViT):
        super().__init__()
        self.vit = vit.eval()
        for p in self.vit.parameters():
            p.requires_grad_(False)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    @property
    def dim(self) -> int:
        return self.vit.dim

    def train(self, mode: bool = True):  # always frozen in eval mode
        return super().train(False)

    @torch.no_grad()
    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        p = self.vit.patch
        H, W = rgb.shape[-2:]
        size = (max(1, round(H / p)) * p, max(1, round(W / p)) * p)
        x = rgb.float()
        if size != (H, W):
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
        x = (x - self.mean) / self.std
        return self.vit(x).float()


def dinov2_vits14() -> DinoViT:
    """The DINOv2 ViT-S/14 architecture (random weights; load the checkpoint with ``load_teacher``)."""
    return DinoViT()


def tiny_vit(dim: int = 32, depth: int = 2, patch: int = 8, pos_grid: int = 4) -> DinoViT:
    """A tiny ViT with the DINOv2 layout for tests (heads follow the loader's rule: max(1, dim // 64))."""
    return DinoViT(patch=patch, dim=dim, depth=depth, heads=max(1, dim // 64), mlp_hidden=4 * dim, pos_grid=pos_grid)


def _unwrap(sd):
    for key in ("teacher", "model", "state_dict"):
        if isinstance(sd, dict) and key in sd and isinstance(sd[key], dict):
            sd = sd[key]
    if not isinstance(sd, dict) or not all(isinstance(k, str) for k in sd):
        return None
    out = {}
    for k, v in sd.items():
        k = k.removeprefix("module.").removeprefix("backbone.")
        k = re.sub(r"^blocks\.\d+\.(\d+)\.", r"blocks.\1.", k)  # chunked blocks (blocks.<chunk>.<i>.) -> blocks.<i>.
        out[k] = v
    return out


REQUIRED = ("cls_token", "pos_embed", "patch_embed.proj.weight", "norm.weight", "blocks.0.attn.qkv.weight", "blocks.0.mlp.fc1.weight")


def load_teacher(path: str | os.PathLike, heads: int | None = None) -> Teacher:
    """A frozen ``Teacher`` from a local DINOv2 state dict (e.g. ``dinov2_vits14_pretrain.pth``).

    heads : attention heads (default: width // 64, as every DINOv2 model). Raises ``InputError``
    (one line, naming the file) when the file is missing, unreadable or not a DINOv2 ViT state dict.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(p, "teacher checkpoint not found (expected a local DINOv2 state dict such as "
                            "dinov2_vits14_pretrain.pth; nothing is downloaded; without a teacher the feature loss is off)")
    sd = _unwrap(load_weights_only(p, "teacher checkpoint"))  # weights_only=True; InputError naming p
    if sd is None:
        raise InputError(p, "not a state dict")
    missing = [k for k in REQUIRED if k not in sd or not torch.is_tensor(sd[k])]
    if missing:
        raise InputError(p, f"not a DINOv2 ViT state dict: missing {', '.join(missing)}")
    try:
        dim = int(sd["cls_token"].shape[-1])
        patch = int(sd["patch_embed.proj.weight"].shape[-1])
        depth = 1 + max(int(m.group(1)) for k in sd if (m := re.match(r"blocks\.(\d+)\.", k)))
        n_pos = int(sd["pos_embed"].shape[1]) - 1
        grid = math.isqrt(n_pos)
        if grid * grid != n_pos:
            raise ValueError(f"pos_embed has {n_pos} patch positions, not a square grid")
        regs = int(sd["register_tokens"].shape[1]) if "register_tokens" in sd else 0
        vit = DinoViT(patch, dim, depth, heads or max(1, dim // 64), int(sd["blocks.0.mlp.fc1.weight"].shape[0]), grid, regs)
        own = vit.state_dict()
        if "mask_token" not in sd:
            sd = dict(sd, mask_token=own["mask_token"])
        vit.load_state_dict({k: v for k, v in sd.items() if k in own or k.startswith("blocks.")}, strict=True)
    except (RuntimeError, ValueError, KeyError, IndexError) as e:
        msg = " ".join(str(e).split()) or type(e).__name__
        raise InputError(p, f"does not fit a DINOv2 ViT: {msg[:300]}") from None
    return Teacher(vit)


def save_vit(vit: DinoViT, path: str | os.PathLike) -> Path:
    """Save a ViT's state dict (the DINOv2 key layout) to ``path``."""
    p = Path(path)
    torch.save(vit.state_dict(), p)
    return p
