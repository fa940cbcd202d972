"""Shared building blocks of the trainer's models (attention kernels, positional encodings, MLPs)."""

from trainer.layers.attention import (
    SelfAttention,
    TopKCrossAttention,
    dense_attention,
    topk_attention_gather,
    topk_attention_masked,
)
from trainer.layers.mlp import MLP
from trainer.layers.posenc import FourierPointEncoding, sincos_2d

__all__ = [
    "MLP",
    "FourierPointEncoding",
    "SelfAttention",
    "TopKCrossAttention",
    "dense_attention",
    "sincos_2d",
    "topk_attention_gather",
    "topk_attention_masked",
]
