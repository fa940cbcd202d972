"""A plain MLP (Linear -> GELU -> ... -> Linear)."""

from __future__ import annotations

from torch import nn


class MLP(nn.Sequential):
    """``layers`` Linear layers: in_dim -> hidden ... -> out_dim, GELU between (none after the last).

    Input ``(..., in_dim)`` -> output ``(..., out_dim)``.
    """

    def __init__(self, in_dim: int, hidden: int, out_dim: int, layers: int = 2):
        if layers < 1:
            raise ValueError(f"an MLP needs at least one layer, got {layers}")
        mods: list[nn.Module] = []
        d = in_dim
        for i in range(layers - 1):
            mods += [nn.Linear(d, hidden), nn.GELU()]
            d = hidden
        mods.append(nn.Linear(d, out_dim))
        super().__init__(*mods)
