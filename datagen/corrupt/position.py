"""Position corruption: translate one part by a random vector.

Magnitude (metres) = ``max(u * part_diagonal, min_shape_fraction * shape_diagonal)`` with
``u ~ U[min_rel, max_rel]``; ``part_diagonal`` / ``shape_diagonal`` are the diagonals of
the axis-aligned bounding boxes. The direction is uniform on the unit sphere. Every vertex
of the part moves by exactly the recorded ``vector``; other parts are untouched.

Sampled parameters: ``direction`` (3 floats, unit), ``relative`` (u), ``magnitude``
(metres), ``vector`` (3 floats, metres, = direction * magnitude).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datagen.corrupt.base import check_interval, check_range, diagonal, eligible_by_area, random_unit_vector
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
