"""Position corruption: translate one part by a random vector.

Magnitude (metres) = ``max(u * part_diagonal, min_shape_fraction * shape_diagonal)`` with
``u ~ U[min_rel, max_rel]``; ``part_diagonal`` / ``shape_diagonal`` are the diagonals of
the axis-aligned bounding boxes. The direction is uniform on the unit sphere. Every vertex
of the part moves by exactly the recorded ``vector``; other parts are untouched.

Sampled parameters: ``direction`` (3 floats, unit), ``relative`` (u), ``magnitude``
(metres), ``vector`` (3 floats, metres, = direction * magnitude).
Check: every vertex moved by the same vector, whose length is at least
``Thresholds.min_displacement`` of the shape diagonal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datagen.corrupt.base import CorruptionType, check_interval, check_range, require
from datagen.corrupt.geometry import diagonal, eligible_by_area, random_unit_vector
from datagen.errors import Refused
from datagen.shapes.model import Shape

ELIGIBILITY = "parts with at least min_area_fraction of the surface area"


@dataclass(frozen=True)
class Params:
    """min_rel, max_rel : translation as a fraction of the part's bbox diagonal, in [0, 5].
    min_shape_fraction : lower bound on the translation as a fraction of the shape's bbox
        diagonal, in [0, 1] (keeps tiny parts' moves visible).
    min_area_fraction : eligible parts cover at least this share of the surface, in [0, 1].
    """

    min_rel: float = 0.15
    max_rel: float = 0.4
    min_shape_fraction: float = 0.03
    min_area_fraction: float = 0.005

    def __post_init__(self):
        check_interval("position.min_rel", self.min_rel, "position.max_rel", self.max_rel, (0.0, 5.0))
        check_range("position.min_shape_fraction", self.min_shape_fraction, 0.0, 1.0)
        check_range("position.min_area_fraction", self.min_area_fraction, 0.0, 1.0)


@dataclass(frozen=True)
class Thresholds:
    """min_displacement : translation, share of the shape diagonal, in [0, 1]."""

    min_displacement: float = 0.02

    def __post_init__(self):
        check_range("position.min_displacement", self.min_displacement, 0.0, 1.0)


def eligible(shape: Shape, params: Params, donors=None) -> list[str]:
    return eligible_by_area(shape, params.min_area_fraction)


def sample(shape: Shape, part: str, rng: np.random.Generator, params: Params, donors=None) -> dict:
    p = shape.part(part)
    direction = random_unit_vector(rng)
    u = float(rng.uniform(params.min_rel, params.max_rel))
    magnitude = max(u * diagonal(p.bounds), params.min_shape_fraction * diagonal(shape.bounds))
    return {
        "direction": direction.tolist(),
        "relative": u,
        "magnitude": float(magnitude),
        "vector": (direction * magnitude).tolist(),
    }


def apply(shape: Shape, part: str, sampled: dict, donors=None) -> Shape:
    p = shape.part(part)
    vec = np.asarray(sampled["vector"], dtype=np.float64)
    return shape.replace_part(part, p.with_geometry(p.vertices + vec, p.faces))


def measure(before, after, record, thresholds: Thresholds, diag: float) -> dict:
    if before.vertices.shape != after.vertices.shape:
        raise Refused("position: vertex count changed")
    delta = after.vertices - before.vertices
    vec = delta.mean(0)
    spread = float(np.abs(delta - vec).max()) if len(delta) else 0.0
    if spread > 1e-9 * max(1.0, diag):
        raise Refused(f"position: vertices did not move rigidly (spread {spread:.3g} m)")
    d = float(np.linalg.norm(vec))
    m = {"displacement": d, "displacement_rel": d / diag}
    require(m["displacement_rel"], thresholds.min_displacement, "position.min_displacement",
            "position: displacement (share of the shape diagonal)")
    return m


CORRUPTION = CorruptionType("position", Params, Thresholds, ELIGIBILITY, eligible, sample, apply, measure)
