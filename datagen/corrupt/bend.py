"""Bend corruption: bend one part about an axis perpendicular to its longest axis.

The part's frame is its oriented bounding box (``geometry.part_frame``): ``u`` along the
longest axis, ``w`` along one of the two others (drawn: the bend direction), the third axis
unchanged. The part is first cut (``deform.slice_refine``) by planes across ``u`` every
``s = edge_fraction`` of its diagonal and across ``w`` every ``2 s`` (grown until at most
``max_faces`` faces), so that it bends smoothly. A classic (Barr) bend of curvature
``k = angle / L`` (``L``: the part's length along ``u``) maps the line ``w = 0`` onto a
circular arc of radius ``1 / k`` that is tangent to it at ``u0``, the section that stays
put (one end with probability ``end_prob``, else uniform along the part):

    theta = k (u - u0);  u' = u0 + (1/k - w) sin(theta);  w' = 1/k - (1/k - w) cos(theta)

No self-intersection: this is polar coordinates (angle ``theta``, radius ``1/k - w``); the
angle spans at most ``max_deg`` <= 90 degrees over the part and the radius stays positive
(``|w| <= L / 2 < 1/k = L / angle`` since ``angle <= pi / 2``), so the map is one-to-one.

Sampled parameters: ``center`` (3 floats, metres: the box centre), ``axis`` (3 floats, unit:
``u``), ``direction`` (3 floats, unit: ``w``), ``u_range`` (2 floats, metres: the part's
extent along ``u`` about ``center``), ``u0`` (metres, same coordinate), ``angle_deg`` (signed
bend angle over the length, degrees), ``subdivision_edge`` (metres).
Check (``deform.measure_deformation``): largest vertex displacement at least
``min_displacement`` and Chamfer distance at least ``min_chamfer`` of the shape diagonal; no
fold (``deform.count_folds``); still watertight if it was.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from datagen.corrupt.base import ChamferThresholds, CorruptionType, check_interval, check_range
from datagen.corrupt.deform import draw_axial, measure_deformation, slice_refine, subdivision_edge
from datagen.corrupt.geometry import eligible_by_area
from datagen.shapes.model import Shape

ELIGIBILITY = "parts with at least min_area_fraction of the surface area"


@dataclass(frozen=True)
class Params:
    """min_deg, max_deg : bend angle magnitude over the part's length, degrees, in [0, 90].
    end_prob : probability that the section kept in place is one end of the part, in [0, 1].
    edge_fraction : cut across the long axis every this share of the part diagonal, in [0.005, 0.5].
    max_faces : face budget of the subdivision (the edge grows to keep under it), in [100, 1e6].
    min_area_fraction : eligible parts cover at least this share of the surface, in [0, 1].
    """

    min_deg: float = 20.0
    max_deg: float = 60.0
    end_prob: float = 0.5
    edge_fraction: float = 0.03
    max_faces: int = 20000
    min_area_fraction: float = 0.005

    def __post_init__(self):
        check_interval("bend.min_deg", self.min_deg, "bend.max_deg", self.max_deg, (0.0, 90.0))
        check_range("bend.end_prob", self.end_prob, 0.0, 1.0)
        check_range("bend.edge_fraction", self.edge_fraction, 0.005, 0.5)
        check_range("bend.max_faces", self.max_faces, 100, 1_000_000)
        check_range("bend.min_area_fraction", self.min_area_fraction, 0.0, 1.0)


@dataclass(frozen=True)
class Thresholds(ChamferThresholds):
    """min_displacement : largest vertex displacement, share of the shape diagonal, in [0, 1];
    and the Chamfer check."""

    min_displacement: float = 0.02

    def __post_init__(self):
        check_range("bend.min_displacement", self.min_displacement, 0.0, 1.0)
        self.check_chamfer("bend")


def eligible(shape: Shape, params: Params, donors=None) -> list[str]:
    return eligible_by_area(shape, params.min_area_fraction)


def sample(shape: Shape, part: str, rng: np.random.Generator, params: Params, donors=None) -> dict:
    p = shape.part(part)
    sampled = draw_axial(p.vertices, rng, params.min_deg, params.max_deg, params.end_prob, "bend")
    axes = sampled.pop("axes")
    sampled.update(axis=axes[0], direction=axes[1 + int(rng.integers(2))])
    sampled["subdivision_edge"] = subdivision_edge(
        p, params.edge_fraction, params.max_faces, lambda v, f, e: refine(v, f, {**sampled, "subdivision_edge": e}))
    return sampled


def refine(vertices: np.ndarray, faces: np.ndarray, sampled: dict):
    """The part cut as ``sampled`` says: across ``axis`` every ``subdivision_edge`` (metres),
    across ``direction`` every twice that."""
    e = float(sampled["subdivision_edge"])
    return slice_refine(vertices, faces, sampled["center"], [sampled["axis"], sampled["direction"]], [e, 2 * e])


def bend_points(points: np.ndarray, sampled: dict) -> np.ndarray:
    """(n, 3) float64: ``points`` (metres) bent as ``sampled`` says (the formula above)."""
    c = np.asarray(sampled["center"], dtype=np.float64)
    eu = np.asarray(sampled["axis"], dtype=np.float64)
    ew = np.asarray(sampled["direction"], dtype=np.float64)
    lo, hi = sampled["u_range"]
    k = math.radians(float(sampled["angle_deg"])) / (float(hi) - float(lo))
    u0 = float(sampled["u0"])
    rel = points - c
    u, w = rel @ eu, rel @ ew
    rest = rel - np.outer(u, eu) - np.outer(w, ew)
    if k == 0.0:
        return np.array(points, dtype=np.float64)
    theta = k * (u - u0)
    r = 1.0 / k - w
    u1 = u0 + r * np.sin(theta)
    w1 = 1.0 / k - r * np.cos(theta)
    return c + np.outer(u1, eu) + np.outer(w1, ew) + rest


def apply(shape: Shape, part: str, sampled: dict, donors=None) -> Shape:
    p = shape.part(part)
    v, f = refine(p.vertices, p.faces, sampled)
    return shape.replace_part(part, p.with_geometry(bend_points(v, sampled), f))


def measure(before, after, record, thresholds: Thresholds, diag: float) -> dict:
    return measure_deformation(before, after, record, thresholds, diag, "bend", refine)


CORRUPTION = CorruptionType("bend", Params, Thresholds, ELIGIBILITY, eligible, sample, apply, measure)
