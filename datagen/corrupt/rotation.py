"""Rotation corruption: rotate one part about its own bounding-box centre.

The axis is uniform on the unit sphere, the angle uniform in ``[min_deg, max_deg]`` with a
random sign (right-hand rule about ``axis``). New vertices are
``(v - center) @ R.T + center`` with ``R = axis_angle_matrix(axis, radians(angle_deg))``.

Sampled parameters: ``axis`` (3 floats, unit), ``angle_deg`` (signed, degrees),
``center`` (3 floats, metres: the part's bbox centre before rotation).
Check: the best-fit rotation between the part before and after (Kabsch) turns at least
``min_angle_deg`` and the part's Chamfer distance is at least ``min_chamfer`` of the shape
diagonal (a cylinder turned about its own axis does not count).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from datagen.corrupt.base import ChamferThresholds, CorruptionType, check_interval, check_range, measure_chamfer, require
from datagen.corrupt.geometry import axis_angle_matrix, eligible_by_area, kabsch_angle_deg, random_unit_vector
from datagen.errors import Refused
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


@dataclass(frozen=True)
class Thresholds(ChamferThresholds):
    """min_angle_deg : best-fit rotation angle, degrees, in [0, 180]; and the Chamfer check."""

    min_angle_deg: float = 10.0

    def __post_init__(self):
        check_range("rotation.min_angle_deg", self.min_angle_deg, 0.0, 180.0)
        self.check_chamfer("rotation")


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


def measure(before, after, record, thresholds: Thresholds, diag: float) -> dict:
    if before.vertices.shape != after.vertices.shape:
        raise Refused("rotation: vertex count changed")
    m = {"angle_deg": kabsch_angle_deg(before.vertices, after.vertices)}
    require(m["angle_deg"], thresholds.min_angle_deg, "rotation.min_angle_deg", "rotation: angle (degrees)")
    m.update(measure_chamfer(before, after, record, thresholds.chamfer_points, diag))
    require(m["chamfer_rel"], thresholds.min_chamfer, "rotation.min_chamfer",
            "rotation: the part looks the same after rotation: Chamfer distance (share of the shape diagonal)")
    return m


CORRUPTION = CorruptionType("rotation", Params, Thresholds, ELIGIBILITY, eligible, sample, apply, measure)
