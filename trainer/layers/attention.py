"""Attention kernels: fused self-attention, and top-k sparse cross-attention (CMT's TKCA).

Shapes: B batch, H heads, Dh head width, Nq query tokens, Nv reference (memory) tokens,
k selected memory tokens per query token. ``idx : (B, Nq, k) int64`` indexes memory tokens.

Two top-k kernels compute the same thing:
- ``topk_attention_gather`` gathers the k keys/values of every query token, O(B Nq k D) memory,
  and runs the fused SDPA kernel on (B*Nq) sequences of length 1 against k keys;
- ``topk_attention_masked`` is the reference: dense (B, H, Nq, Nv) scores masked outside the set,
  O(B H Nq Nv) memory. Used by tests and the benchmark.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def dense_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """q : (B, Nq, H, Dh); k, v : (B, Nv, H, Dh) -> (B, Nq, H, Dh). Full softmax attention (SDPA)."""
    out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
    return out.transpose(1, 2)


def topk_attention_gather(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Attention of each query token to its own k memory tokens, by gathering.

    q : (B, Nq, H, Dh); k, v : (B, Nv, H, Dh); idx : (B, Nq, kk) int64 in [0, Nv).
    Returns (B, Nq, H, Dh).
    """
    B, Nq, H, Dh = q.shape
    Nv = k.shape[1]
    kk = idx.shape[-1]
    flat = (idx + torch.arange(B, device=idx.device).view(B, 1, 1) * Nv).reshape(-1)  # (B*Nq*kk,)
    ks = k.reshape(B * Nv, H, Dh).index_select(0, flat).view(B * Nq, kk, H, Dh)
    vs = v.reshape(B * Nv, H, Dh).index_select(0, flat).view(B * Nq, kk, H, Dh)
    qs = q.reshape(B * Nq, 1, H, Dh)
    out = F.scaled_dot_product_attention(qs.transpose(1, 2), ks.transpose(1, 2), vs.transpose(1, 2))  # (B*Nq, H, 1, Dh)
    return out.view(B, Nq, H, Dh)


def topk_attention_masked(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Same result as ``topk_attention_gather`` through a dense masked (B, H, Nq, Nv) score matrix
    (fused SDPA with a boolean mask): cheaper than gathering when Nv is only a few times k."""
    B, Nq, H, Dh = q.shape
    Nv = k.shape[1]
    mask = torch.zeros(B, Nq, Nv, dtype=torch.bool, device=q.device)
    mask.scatter_(2, idx, True)
    out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_mask=mask[:, None])
    return out.transpose(1, 2)


def choose_kernel(n_memory: int, k: int) -> str:
    """``auto``: gather k keys per query token when the memory is large against k (the paper's scale:
    10 views x 1024 tokens, k = 100), a masked dense score matrix when it is small (CPU-sized runs:
    3 views x 144 tokens), where gathering copies more than it saves (benchmarks/RESULTS.md)."""
    return "gather" if n_memory > GATHER_FACTOR * k else "masked"


GATHER_FACTOR = 8


class SelfAttention(nn.Module):
    """Multi-head self-attention (fused SDPA). x : (B, N, dim) -> (B, N, dim)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by heads {heads}")
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, N, D = x.shape
        q, k, v = self.qkv(x).view(B, N, 3, self.heads, D // self.heads).unbind(2)
        return self.proj(dense_attention(q, k, v).reshape(B, N, D))


KERNELS = ("auto", "gather", "masked", "dense")


class TopKCrossAttention(nn.Module):
    """Cross-attention from query tokens to memory tokens restricted to a top-k set per query token.

    kernel : "auto" (default: ``choose_kernel``), "gather", "masked" (a dense masked score matrix) or
    "dense" (no top-k: every query token attends to every memory token; ``idx`` is ignored; the CMT
    "w/o top-k" ablation).
    x : (B, Nq, dim); mem : (B, Nv, dim); idx : (B, Nq, k) int64 or None -> (B, Nq, dim).
    """

    def __init__(self, dim: int, heads: int, kernel: str = "auto"):
        super().__init__()
        if kernel not in KERNELS:
            raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by heads {heads}")
        self.heads = heads
        self.kernel = kernel
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, mem: torch.Tensor, idx: torch.Tensor | None) -> torch.Tensor:
        B, Nq, D = x.shape
        Nv = mem.shape[1]
        H = self.heads
        q = self.q(x).view(B, Nq, H, D // H)
        k, v = self.kv(mem).view(B, Nv, 2, H, D // H).unbind(2)
        kernel = choose_kernel(Nv, idx.shape[-1]) if self.kernel == "auto" and idx is not None else self.kernel
        if kernel == "dense" or idx is None:
            out = dense_attention(q, k, v)
        elif kernel == "gather":
            out = topk_attention_gather(q, k, v, idx)
        else:
            out = topk_attention_masked(q, k, v, idx)
        return self.proj(out.reshape(B, Nq, D))
