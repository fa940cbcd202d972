"""Twist corruption: turn a part's cross-sections about its longest axis, more along it.

The part's frame is its oriented bounding box (``geometry.part_frame``): ``u`` along the
longest axis through the box centre. The part is first cut (``deform.slice_refine``) by
planes across ``u`` every ``s = edge_fraction`` of its diagonal and across the two other
box axes every ``2 s`` (grown until at most ``max_faces`` faces). The section at ``u`` turns
(right hand about ``u``) by

    phi(u) = angle * (u - u0) / L

where ``angle`` is the total twist over the part's length ``L`` and ``u0`` the section that
stays put (one end with probability ``end_prob``, else uniform along the part). Every
section turns rigidly in its own plane, so the map is one-to-one for any angle: no
self-intersection can occur.

Sampled parameters: ``center`` (3 floats, metres), ``axes`` (3x3 floats, unit rows: the
twist axis ``u`` first, then the two other box axes), ``u_range``
(2 floats, metres about ``center``), ``u0`` (metres), ``angle_deg`` (signed total twist,
degrees), ``subdivision_edge`` (metres).
Check (``deform.measure_deformation``): largest vertex displacement at least
``min_displacement`` and Chamfer distance at least ``min_chamfer`` of the shape diagonal
(a part rotationally symmetric about the axis, a cylinder about its own axis, looks the
same twisted: the Chamfer check refuses it); no fold (``deform.count_folds``); still
watertight if it was.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from datagen.corrupt.base import ChamferThresholds, CorruptionType, check_interval, check_range
from datagen.corrupt.deform import draw_axial, measure_deformation, slice_refine, subdivision_edge
from datagen.corrupt.geometry import diagonal, eligible_by_area
from datagen.shapes.model import Shape

ELIGIBILITY = ("parts with at least min_area_fraction of the surface area whose second-largest bbox extent is at "
               "least min_width_fraction of the shape diagonal (a thin rod twisted looks the same)")


@dataclass(frozen=True)
class Params:
    """min_deg, max_deg : total twist magnitude over the part's length, degrees, in [0, 360].
    end_prob : probability that the section kept in place is one end of the part, in [0, 1].
    edge_fraction : cut across the twist axis every this share of the part diagonal, in [0.005, 0.5].
    max_faces : face budget of the subdivision (the edge grows to keep under it), in [100, 1e6].
    min_area_fraction : eligible parts cover at least this share of the surface, in [0, 1].
    min_width_fraction : eligible parts' second-largest axis-aligned bbox extent is at least
        this share of the shape's bbox diagonal, in [0, 1].
    """

    min_deg: float = 30.0
    max_deg: float = 120.0
    end_prob: float = 0.5
    edge_fraction: float = 0.03
    max_faces: int = 20000
    min_area_fraction: float = 0.005
    min_width_fraction: float = 0.06

    def __post_init__(self):
        check_interval("twist.min_deg", self.min_deg, "twist.max_deg", self.max_deg, (0.0, 360.0))
        check_range("twist.end_prob", self.end_prob, 0.0, 1.0)
        check_range("twist.edge_fraction", self.edge_fraction, 0.005, 0.5)
        check_range("twist.max_faces", self.max_faces, 100, 1_000_000)
        check_range("twist.min_area_fraction", self.min_area_fraction, 0.0, 1.0)
        check_range("twist.min_width_fraction", self.min_width_fraction, 0.0, 1.0)


@dataclass(frozen=True)
class Thresholds(ChamferThresholds):
    """min_displacement : largest vertex displacement, share of the shape diagonal, in [0, 1];
    and the Chamfer check."""

    min_displacement: float = 0.01
    min_chamfer: float = 0.003

    def __post_init__(self):
        check_range("twist.min_displacement", self.min_displacement, 0.0, 1.0)
        self.check_chamfer("twist")


def eligible(shape: Shape, params: Params, donors=None) -> list[str]:
    width = params.min_width_fraction * diagonal(shape.bounds)
    parts = eligible_by_area(shape, params.min_area_fraction)
    return [n for n in parts if np.sort(shape.part(n).extents)[1] >= width]


def sample(shape: Shape, part: str, rng: np.random.Generator, params: Params, donors=None) -> dict:
    p = shape.part(part)
    sampled = draw_axial(p.vertices, rng, params.min_deg, params.max_deg, params.end_prob, "twist")
    sampled["subdivision_edge"] = subdivision_edge(
        p, params.edge_fraction, params.max_faces, lambda v, f, e: refine(v, f, {**sampled, "subdivision_edge": e}))
    return sampled


def refine(vertices: np.ndarray, faces: np.ndarray, sampled: dict):
    """The part cut as ``sampled`` says: across ``axes[0]`` every ``subdivision_edge`` (metres),
    across the two others every twice that."""
    e = float(sampled["subdivision_edge"])
    return slice_refine(vertices, faces, sampled["center"], sampled["axes"], [e, 2 * e, 2 * e])


def twist_points(points: np.ndarray, sampled: dict) -> np.ndarray:
    """(n, 3) float64: ``points`` (metres) twisted as ``sampled`` says (Rodrigues per point)."""
    c = np.asarray(sampled["center"], dtype=np.float64)
    e = np.asarray(sampled["axes"][0], dtype=np.float64)
    lo, hi = sampled["u_range"]
    rate = math.radians(float(sampled["angle_deg"])) / (float(hi) - float(lo))
    rel = points - c
    u = rel @ e
    phi = rate * (u - float(sampled["u0"]))
    cos, sin = np.cos(phi)[:, None], np.sin(phi)[:, None]
    out = rel * cos + np.cross(e, rel) * sin + np.outer(u, e) * (1.0 - cos)
    return c + out


def apply(shape: Shape, part: str, sampled: dict, donors=None) -> Shape:
    p = shape.part(part)
    v, f = refine(p.vertices, p.faces, sampled)
    return shape.replace_part(part, p.with_geometry(twist_points(v, sampled), f))


def measure(before, after, record, thresholds: Thresholds, diag: float) -> dict:
    return measure_deformation(before, after, record, thresholds, diag, "twist", refine)


CORRUPTION = CorruptionType("twist", Params, Thresholds, ELIGIBILITY, eligible, sample, apply, measure)
