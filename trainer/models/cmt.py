"""CMT (Looking 3D): a query image attends to reference views of the same shape.

Pipeline (shapes for the defaults: 256 px input, V views, h = w = 32, n = h*w = 1024, d = 128):
  query (B,3,256,256) -> encoder -> f_q (B, n, C)         [ResNet-18 + FPN, C = 128]
  refs (B,V,1,256,256) -> encoder -> F_v (B, V*n, C)      [same encoder, gray repeated to 3 channels]
  points (B,V,h,w,3) world -> 3DPE (Fourier + MLP) -> (B, V*n, d)
  reference tokens = Linear([F_v ; 3DPE]) (2d -> d); query tokens = Linear(f_q) + 2D sine-cos
  M = beta(f_q) beta(F_v)^T (B, n, V*n), beta = 4-layer MLP + L2 normalization; top-k indices of M
  B = 3 CGA blocks over [tok ; query tokens]: self-attention, top-k cross-attention (query tokens),
  MLP; classifier on [tok] -> logit (B,); optional 4-layer box MLP -> (cx, cy, w, h) in [0, 1].
Ablations: ``topk=0`` or ``kernel="dense"`` (dense cross-attention), ``pe3d=False`` (no 3DPE);
VLFA is a loss (trainer.losses) and needs no model change.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from trainer.layers import MLP, FourierPointEncoding, SelfAttention, TopKCrossAttention, sincos_2d
from trainer.models.resnet_fpn import ResNet18FPN, load_backbone_weights


@dataclass
class CMTConfig:
    width: int = 64  # ResNet-18 base width
    enc_dim: int = 128  # FPN output channels (C)
    dim: int = 128  # token width (d)
    heads: int = 8
    blocks: int = 3
    topk: int = 100  # 0 = dense cross-attention (ablation)
    kernel: str = "auto"  # auto | gather | masked | dense (trainer.layers.attention.choose_kernel)
    beta_dim: int = 128
    beta_layers: int = 4
    pe3d: bool = True
    pe_freqs: int = 8
    mlp_ratio: int = 4
    box_head: bool = False
    norm: str = "bn"  # encoder normalization: bn | gn
    pretrained: str | None = None  # local ResNet-18 weights (path); never downloaded


class CGABlock(nn.Module):
    """Self-attention over [tok ; query], top-k cross-attention of query tokens to references, MLP."""

    def __init__(self, dim: int, heads: int, mlp_ratio: int, kernel: str):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = SelfAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.norm_mem = nn.LayerNorm(dim)
        self.cross = TopKCrossAttention(dim, heads, kernel)
        self.norm3 = nn.LayerNorm(dim)
        self.mlp = MLP(dim, mlp_ratio * dim, dim, layers=2)

    def forward(self, x: torch.Tensor, mem: torch.Tensor, idx: torch.Tensor | None) -> torch.Tensor:
        """x : (B, 1+n, d); mem : (B, Nv, d); idx : (B, n, k) or None -> (B, 1+n, d)."""
        x = x + self.attn(self.norm1(x))
        tok, q = x[:, :1], x[:, 1:]
        q = q + self.cross(self.norm2(q), self.norm_mem(mem), idx)
        x = torch.cat([tok, q], 1)
        return x + self.mlp(self.norm3(x))


class CMT(nn.Module):
    uses_views = True

    def __init__(self, **kwargs):
        super().__init__()
        cfg = CMTConfig(**kwargs)
        self.cfg = cfg
        kernel = "dense" if cfg.topk <= 0 else cfg.kernel
        self.encoder = ResNet18FPN(cfg.width, cfg.enc_dim, 3, cfg.norm)
        if cfg.pretrained:
            load_backbone_weights(self.encoder, cfg.pretrained)
        self.beta = MLP(cfg.enc_dim, cfg.beta_dim, cfg.beta_dim, layers=cfg.beta_layers)
        self.q_proj = nn.Linear(cfg.enc_dim, cfg.dim)
        if cfg.pe3d:
            self.pe = FourierPointEncoding(cfg.dim, cfg.pe_freqs)
            self.v_proj = nn.Linear(cfg.enc_dim + cfg.dim, cfg.dim)
        else:
            self.pe = None
            self.v_proj = nn.Linear(cfg.enc_dim, cfg.dim)
        self.view_embed = nn.Parameter(torch.zeros(cfg.dim))  # marks reference tokens (cheap, optional)
        self.tok = nn.Parameter(torch.zeros(1, 1, cfg.dim))
        nn.init.trunc_normal_(self.tok, std=0.02)
        self.blocks = nn.ModuleList(CGABlock(cfg.dim, cfg.heads, cfg.mlp_ratio, kernel) for _ in range(cfg.blocks))
        self.norm = nn.LayerNorm(cfg.dim)
        self.head = nn.Linear(cfg.dim, 1)
        self.box = MLP(cfg.dim, cfg.dim, 4, layers=4) if cfg.box_head else None

    @property
    def args(self) -> dict:
        """Constructor arguments (stored in checkpoints so a run can rebuild the model)."""
        return asdict(self.cfg)

    def encode_refs(self, refs: torch.Tensor) -> torch.Tensor:
        """refs : (B, V, 1|3, H, W) -> (B, V, C, H/8, W/8)."""
        B, V = refs.shape[:2]
        x = refs.flatten(0, 1)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        f = self.encoder(x)
        return f.view(B, V, *f.shape[1:])

    def forward(self, query: torch.Tensor, refs: torch.Tensor, points: torch.Tensor, point_valid: torch.Tensor) -> dict:
        """query : (B, 3, H, W) normalized; refs : (B, V, 1, H, W) normalized gray;
        points : (B, V, H/8, W/8, 3) world metres; point_valid : (B, V, H/8, W/8) bool.

        Returns dict: logit (B,); box (B, 4) (cx, cy, w, h) in [0, 1] or None; M (B, n, V*n)
        similarity of L2-normalized beta features; beta_v (B, V, n, beta_dim); topk (B, n, k) or None.
        """
        B, V = refs.shape[:2]
        fq = self.encoder(query)  # (B, C, h, w)
        h, w = fq.shape[-2:]
        fv = self.encode_refs(refs)  # (B, V, C, h, w)
        if points.shape[2:4] != (h, w):
            raise ValueError(f"points grid {tuple(points.shape[2:4])} does not match the feature grid {(h, w)}")
        q = fq.flatten(2).transpose(1, 2)  # (B, n, C)
        v = fv.flatten(3).transpose(2, 3)  # (B, V, n, C)
        bq = F.normalize(self.beta(q).float(), dim=-1)  # (B, n, Db)
        bv = F.normalize(self.beta(v).float(), dim=-1)  # (B, V, n, Db)
        M = torch.einsum("bqd,bvd->bqv", bq, bv.flatten(1, 2))  # (B, n, V*n)
        k = min(self.cfg.topk, M.shape[-1])
        idx = M.detach().topk(k, dim=-1).indices if k > 0 else None  # (B, n, k)

        if self.pe is not None:
            pe = self.pe(points, point_valid)  # (B, V, h, w, d)
            mem = self.v_proj(torch.cat([v, pe.flatten(2, 3).to(v.dtype)], -1))
        else:
            mem = self.v_proj(v)
        mem = (mem + self.view_embed).flatten(1, 2)  # (B, V*n, d)
        x = self.q_proj(q) + sincos_2d(h, w, self.cfg.dim, q.device, q.dtype)  # (B, n, d)
        x = torch.cat([self.tok.expand(B, -1, -1).to(x.dtype), x], 1)  # (B, 1+n, d)
        for blk in self.blocks:
            x = blk(x, mem, idx)
        t = self.norm(x[:, 0])  # (B, d)
        return {
            "logit": self.head(t).squeeze(-1).float(),
            "box": self.box(t).float().sigmoid() if self.box is not None else None,
            "M": M,
            "beta_v": bv,
            "topk": idx,
        }
