"""Cross-instance comparison: each voxel token of an instance attends to its top-k most similar
voxel tokens of the OTHER instances of the same scene.

Shapes: B scenes, M instances per scene (padded; ``inst_valid`` marks real ones), T tokens per
instance (RoI cells, s^3), N = M*T tokens per scene, d token width, H heads, Dh = d / H, k selected.
The top-k set comes from the cosine similarity of the projected RoI features (the tokens before
the positional embedding, detached) and is the same for every block (as CMT's TKCA). Where fewer than k tokens are allowed (other instances'
real tokens), the extra slots are masked; a token with none (a one-instance scene) gets zero
cross-attention output.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from trainer.layers import MLP, SelfAttention


def instance_topk(sim: torch.Tensor, inst: torch.Tensor, valid: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-k most similar tokens of other instances.

    sim : (B, N, D) L2-normalized similarity features; inst : (B, N) int64 instance index of each token;
    valid : (B, N) bool (token of a real instance). Returns idx : (B, N, k') int64 and sel : (B, N, k')
    bool (the slot holds an allowed token), k' = min(k, N).
    """
    S = torch.einsum("bnd,bmd->bnm", sim.float(), sim.float())  # (B, N, N)
    allowed = (inst[:, :, None] != inst[:, None, :]) & valid[:, None, :]
    S = S.masked_fill(~allowed, float("-inf"))
    vals, idx = S.topk(min(int(k), S.shape[-1]), dim=-1)
    return idx, torch.isfinite(vals)


def topk_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, idx: torch.Tensor, sel: torch.Tensor) -> torch.Tensor:
    """Attention of each query token to its own selected memory tokens, by gathering (fused SDPA).

    q : (B, Nq, H, Dh); k, v : (B, Nv, H, Dh); idx : (B, Nq, kk) int64; sel : (B, Nq, kk) bool
    (False slots are ignored). Returns (B, Nq, H, Dh); zero for a query token without any slot.
    """
    B, Nq, H, Dh = q.shape
    Nv = k.shape[1]
    kk = idx.shape[-1]
    flat = (idx + torch.arange(B, device=idx.device).view(B, 1, 1) * Nv).reshape(-1)
    ks = k.reshape(B * Nv, H, Dh).index_select(0, flat).view(B * Nq, kk, H, Dh).transpose(1, 2)
    vs = v.reshape(B * Nv, H, Dh).index_select(0, flat).view(B * Nq, kk, H, Dh).transpose(1, 2)
    qs = q.reshape(B * Nq, 1, H, Dh).transpose(1, 2)
    any_sel = sel.any(-1)  # (B, Nq)
    mask = (sel | ~any_sel[..., None]).view(B * Nq, 1, 1, kk)  # avoid all-masked rows (NaN)
    out = F.scaled_dot_product_attention(qs, ks, vs, attn_mask=mask)  # (B*Nq, H, 1, Dh)
    out = out.view(B, Nq, H, Dh)
    return out * any_sel[..., None, None].to(out.dtype)


def masked_dense_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Reference: dense attention with a boolean (B, Nq, Nv) mask (True = attend); zero rows give zero.
    q : (B, Nq, H, Dh); k, v : (B, Nv, H, Dh) -> (B, Nq, H, Dh)."""
    scores = torch.einsum("bqhd,bvhd->bhqv", q.float(), k.float()) * q.shape[-1] ** -0.5
    scores = scores.masked_fill(~mask[:, None], float("-inf"))
    attn = torch.nan_to_num(scores.softmax(-1), nan=0.0)
    return torch.einsum("bhqv,bvhd->bqhd", attn, v.float()).to(q.dtype)


class CrossInstanceAttention(nn.Module):
    """x : (B, N, d) tokens; idx, sel from ``instance_topk`` -> (B, N, d)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by heads {heads}")
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, idx: torch.Tensor, sel: torch.Tensor) -> torch.Tensor:
        B, N, D = x.shape
        H = self.heads
        q = self.q(x).view(B, N, H, D // H)
        k, v = self.kv(x).view(B, N, 2, H, D // H).unbind(2)
        return self.proj(topk_attention(q, k, v, idx, sel).reshape(B, N, D))


class ComparisonBlock(nn.Module):
    """Self-attention inside each instance, top-k cross-attention to the other instances, MLP."""

    def __init__(self, dim: int, heads: int, mlp_ratio: int = 4, self_attn: bool = True):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim) if self_attn else None
        self.attn = SelfAttention(dim, heads) if self_attn else None
        self.norm2 = nn.LayerNorm(dim)
        self.cross = CrossInstanceAttention(dim, heads)
        self.norm3 = nn.LayerNorm(dim)
        self.mlp = MLP(dim, mlp_ratio * dim, dim, layers=2)

    def forward(self, x: torch.Tensor, idx: torch.Tensor, sel: torch.Tensor) -> torch.Tensor:
        """x : (B, M, T, d) -> (B, M, T, d)."""
        B, M, T, D = x.shape
        if self.attn is not None:
            x = x + self.attn(self.norm1(x).view(B * M, T, D)).view(B, M, T, D)
        x = x + self.cross(self.norm2(x).view(B, M * T, D), idx, sel).view(B, M, T, D)
        return x + self.mlp(self.norm3(x))


class InstanceComparator(nn.Module):
    """RoI tokens of the instances of a scene -> one anomaly logit per instance.

    in_dim : channels of the pooled RoI features; tokens : T = s^3 cells per instance.
    forward(roi (B, M, T, in_dim), inst_valid (B, M) bool) -> logits (B, M) float32.
    """

    def __init__(self, in_dim: int, tokens: int, dim: int = 128, heads: int = 4, blocks: int = 2, topk: int = 100,
                 mlp_ratio: int = 4, self_attn: bool = True):
        super().__init__()
        self.topk = int(topk)
        self.proj = nn.Linear(in_dim, dim)
        self.pos = nn.Parameter(torch.zeros(1, 1, tokens, dim))
        nn.init.trunc_normal_(self.pos, std=0.02)
        self.blocks = nn.ModuleList(ComparisonBlock(dim, heads, mlp_ratio, self_attn) for _ in range(blocks))
        self.norm = nn.LayerNorm(dim)
        self.head = MLP(dim, dim, 1, layers=2)

    def select(self, tokens: torch.Tensor, inst_valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The top-k set of projected tokens (B, M, T, d): idx, sel : (B, M*T, k')."""
        B, M, T, _ = tokens.shape
        sim = F.normalize(tokens.detach().float(), dim=-1).view(B, M * T, -1)
        inst = torch.arange(M, device=tokens.device).repeat_interleave(T).expand(B, -1)
        valid = inst_valid[:, :, None].expand(B, M, T).reshape(B, M * T)
        return instance_topk(sim, inst, valid, self.topk)

    def forward(self, roi: torch.Tensor, inst_valid: torch.Tensor) -> torch.Tensor:
        x = self.proj(roi)  # (B, M, T, d)
        idx, sel = self.select(x, inst_valid)
        x = x + self.pos.to(x.dtype)
        for blk in self.blocks:
            x = blk(x, idx, sel)
        t = self.norm(x).mean(2)  # (B, M, d)
        return self.head(t).squeeze(-1).float()
