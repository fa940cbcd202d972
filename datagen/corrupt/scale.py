"""Scale corruption: scale one part non-uniformly about its bounding-box centre.

One or two of the shape-frame axes (x, y, z) are drawn among the part's non-flat axes
(extent at least ``flat_fraction`` of the part's bbox diagonal: stretching a plate's
thickness would hardly show); the part either grows (each chosen axis by a factor drawn in
``up_range``) or shrinks (factors in ``down_range``), with probability ``grow_prob`` of growing.
New vertices are ``(v - center) * factors + center``.

Sampled parameters: ``axes`` (list of axis indices 0..2), ``grow`` (bool), ``factors``
(3 floats, 1 on the other axes), ``center`` (3 floats, metres: the part's bbox centre).
Check: some bbox extent of the part changes by at least ``min_extent_change`` (relative),
and the part's Chamfer distance before/after is at least ``min_chamfer`` of the shape diagonal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datagen.corrupt.base import ChamferThresholds, CorruptionType, check_interval, check_range, final_refusal, measure_chamfer, require
from datagen.corrupt.geometry import diagonal, eligible_by_area
from datagen.shapes.model import Shape

ELIGIBILITY = "parts with at least min_area_fraction of the surface area"


@dataclass(frozen=True)
class Params:
    """up_min, up_max : growth factor range per chosen axis, in [1, 10].
    down_min, down_max : shrink factor range per chosen axis, in [0.05, 1].
    grow_prob : probability that the part grows rather than shrinks, in [0, 1].
    max_axes : the number of scaled axes is drawn uniformly in 1..max_axes, in [1, 3].
    flat_fraction : axes whose extent is below this share of the part diagonal are not scaled, in [0, 0.5].
    min_area_fraction : eligible parts cover at least this share of the surface, in [0, 1].
    """

    up_min: float = 1.25
    up_max: float = 1.6
    down_min: float = 0.6
    down_max: float = 0.8
    grow_prob: float = 0.5
    max_axes: int = 2
    flat_fraction: float = 0.05
    min_area_fraction: float = 0.005

    def __post_init__(self):
        check_interval("scale.up_min", self.up_min, "scale.up_max", self.up_max, (1.0, 10.0))
        check_interval("scale.down_min", self.down_min, "scale.down_max", self.down_max, (0.05, 1.0))
        check_range("scale.grow_prob", self.grow_prob, 0.0, 1.0)
        check_range("scale.max_axes", self.max_axes, 1, 3)
        check_range("scale.flat_fraction", self.flat_fraction, 0.0, 0.5)
        check_range("scale.min_area_fraction", self.min_area_fraction, 0.0, 1.0)


@dataclass(frozen=True)
class Thresholds(ChamferThresholds):
    """min_extent_change : largest relative change of a bbox extent of the part, in [0, 10]; and the Chamfer check."""

    min_extent_change: float = 0.15

    def __post_init__(self):
        check_range("scale.min_extent_change", self.min_extent_change, 0.0, 10.0)
        self.check_chamfer("scale")


def eligible(shape: Shape, params: Params, donors=None) -> list[str]:
    return eligible_by_area(shape, params.min_area_fraction)


def sample(shape: Shape, part: str, rng: np.random.Generator, params: Params, donors=None) -> dict:
    p = shape.part(part)
    ext = p.extents
    candidates = [int(a) for a in np.flatnonzero(ext >= params.flat_fraction * max(diagonal(p.bounds), 1e-12))]
    if not candidates:
        raise final_refusal(f"scale: part {part} has no axis with extent >= flat_fraction of its diagonal")
    n = int(rng.integers(1, min(params.max_axes, len(candidates)) + 1))
    axes = sorted(int(a) for a in rng.choice(candidates, size=n, replace=False))
    grow = bool(rng.random() < params.grow_prob)
    lo, hi = (params.up_min, params.up_max) if grow else (params.down_min, params.down_max)
    factors = np.ones(3)
    factors[axes] = rng.uniform(lo, hi, size=n)
    return {"axes": axes, "grow": grow, "factors": factors.tolist(), "center": p.center.tolist()}


def apply(shape: Shape, part: str, sampled: dict, donors=None) -> Shape:
    p = shape.part(part)
    c = np.asarray(sampled["center"], dtype=np.float64)
    f = np.asarray(sampled["factors"], dtype=np.float64)
    return shape.replace_part(part, p.with_geometry((p.vertices - c) * f + c, p.faces))


def measure(before, after, record, thresholds: Thresholds, diag: float) -> dict:
    e0, e1 = before.extents, after.extents
    ok = e0 > 1e-12
    change = float(np.abs(e1[ok] / e0[ok] - 1.0).max()) if ok.any() else 0.0
    m = {"extent_change": change, "extents_before": e0.tolist(), "extents_after": e1.tolist()}
    require(change, thresholds.min_extent_change, "scale.min_extent_change", "scale: largest relative extent change")
    m.update(measure_chamfer(before, after, record, thresholds.chamfer_points, diag))
    require(m["chamfer_rel"], thresholds.min_chamfer, "scale.min_chamfer",
            "scale: Chamfer distance (share of the shape diagonal)")
    return m


CORRUPTION = CorruptionType("scale", Params, Thresholds, ELIGIBILITY, eligible, sample, apply, measure)
