"""Rotation corruption: rotate one part about its own bounding-box centre.

The axis is uniform on the unit sphere, the angle uniform in ``[min_deg, max_deg]`` with a
random sign (right-hand rule about ``axis``). New vertices are
``(v - center) @ R.T + center`` with ``R = axis_angle_matrix(axis, radians(angle_deg))``.

Sampled parameters: ``axis`` (3 floats, unit), ``angle_deg`` (signed, degrees),
``center`` (3 floats, metres: the part's bbox centre before rotation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from datagen.corrupt.base import axis_angle_matrix, check_interval, check_range, eligible_by_area, random_unit_vector
from datagen.shapes.model import Shape

ELIGIBILITY = "parts with at least min_area_fraction of the surface area"


@dataclass(frozen=True)
class Params:
    """min_deg, max_deg : angle magnitude range, degrees, in [0, 180].
    min_area_fraction : eligible parts cover at least this share of the surface, in [0, 1].
    """

    min_deg: float = 15.0
    max_deg: float = 45.0
    min_area_fraction: float = 0.005

    def __post_init__(self):
        check_interval("rotation.min_deg", self.min_deg, "rotation.max_deg", self.max_deg, (0.0, 180.0))
        check_range("rotation.min_area_fraction", self.min_area_fraction, 0.0, 1.0)


def eligible(shape: Shape, params: Params, donors=None) -> list[str]:
    return eligible_by_area(shape, params.min_area_fraction)


def sample(shape: Shape, part: str, rng: np.random.Generator, params: Params, donors=None) -> dict:
    p = shape.part(part)
    axis = random_unit_vector(rng)
    angle = float(rng.uniform(params.min_deg, params.max_deg))
    sign = 1.0 if rng.random() < 0.5 else -1.0
    return {"axis": axis.tolist(), "angle_deg": sign * angle, "center": p.center.tolist()}


def rotation_matrix(sampled: dict) -> np.ndarray:
    """(3, 3) float64, the recorded rotation."""
    return axis_angle_matrix(sampled["axis"], math.radians(sampled["angle_deg"]))


def apply(shape: Shape, part: str, sampled: dict, donors=None) -> Shape:
    p = shape.part(part)
    r = rotation_matrix(sampled)
    c = np.asarray(sampled["center"], dtype=np.float64)
    return shape.replace_part(part, p.with_geometry((p.vertices - c) @ r.T + c, p.faces))
