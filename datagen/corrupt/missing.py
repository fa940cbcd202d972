"""Missing corruption: remove one part.

Never the only part, and only parts covering at least ``min_area_fraction`` of the shape's
surface area (a smaller part's absence is no visible anomaly). No random parameters: the
record's ``params`` hold the removed part's area fraction for reference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datagen.corrupt.base import CorruptionType, check_range, final_refusal
from datagen.corrupt.geometry import area_fractions
from datagen.shapes.model import Shape

ELIGIBILITY = "never the only part; parts with at least min_area_fraction of the surface area"


@dataclass(frozen=True)
class Params:
    """min_area_fraction : the removed part covers at least this share of the surface, in [0, 1]."""

    min_area_fraction: float = 0.01

    def __post_init__(self):
        check_range("missing.min_area_fraction", self.min_area_fraction, 0.0, 1.0)


@dataclass(frozen=True)
class Thresholds:
    """No thresholds: the part is absent (the generic checks verify it)."""


def eligible(shape: Shape, params: Params, donors=None) -> list[str]:
    if len(shape.parts) < 2:
        return []
    fr = area_fractions(shape)
    return [p.name for p in shape.parts if fr[p.name] >= params.min_area_fraction]


def sample(shape: Shape, part: str, rng: np.random.Generator, params: Params, donors=None) -> dict:
    if len(shape.parts) < 2:
        raise final_refusal(f"missing: shape {shape.id} has a single part; nothing would remain")
    return {"area_fraction": area_fractions(shape)[part]}


def apply(shape: Shape, part: str, sampled: dict, donors=None) -> Shape:
    return shape.without_part(part)


def measure(before, after, record, thresholds: Thresholds, diag: float) -> dict:
    return {"absent": True}


CORRUPTION = CorruptionType("missing", Params, Thresholds, ELIGIBILITY, eligible, sample, apply, measure,
                            removes_part=True)
