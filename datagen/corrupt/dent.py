"""Dent corruption: push a round region of one part's surface in.

A surface point ``p`` is drawn area-weighted on the part, with its face's outward normal
``n``; a radius ``r`` (a share of the part's bbox diagonal, in ``[radius_min, radius_max]``)
and a depth ``d`` (a share of the shape's diagonal, in ``[depth_min, depth_max]``). The
part's thickness ``t`` behind ``p`` (along ``-n``, to the next surface) bounds the dent:
the push fades out over ``b = min(t, r)`` below the surface, and ``d`` is clipped to
``max_thickness_share * b``. The part is first subdivided near the dent: edges that
come within ``r`` of ``p`` are split to at most ``edge_fraction`` of the part's diagonal (at
most ``max_faces`` faces). With ``h = (x - p) . n`` (height above the
tangent plane) and ``rho`` the distance from the normal line through ``p``:

    x' = x - n * d * falloff(rho / r) * smoothstep((h + b) / b)

(``geometry.falloff``: ``(1 - s^2)^2``; ``smoothstep``: 0 at ``h = -b``, 1 at ``h >= 0``).
No self-intersection: points move only along ``n`` and, on every line parallel to ``n``,
``h -> h - d * w * smoothstep`` is increasing because ``d * 1.5 / b <= 1.5 *
max_thickness_share < 1``; so the map is one-to-one and the surface behind the dent
(``h <= -t``) does not move: the dent cannot poke through.

Sampled parameters: ``center`` (3 floats, metres: ``p``), ``normal`` (3 floats, unit),
``radius``, ``depth``, ``thickness``, ``falloff_depth`` (``b``) (metres),
``depth_drawn`` (metres, before clipping), ``subdivision_edge`` (metres).
Check (``deform.measure_deformation``): largest vertex displacement at least
``min_displacement`` and Chamfer distance at least ``min_chamfer`` of the shape diagonal;
no fold (``deform.count_folds``); still watertight if it was.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datagen.corrupt.base import ChamferThresholds, CorruptionType, check_interval, check_range
from datagen.corrupt.deform import measure_deformation, subdivide, subdivision_edge
from datagen.corrupt.geometry import diagonal, eligible_by_area, falloff, sample_surface, smoothstep, thickness_along
from datagen.errors import Refused
from datagen.shapes.model import Shape

ELIGIBILITY = "parts with at least min_area_fraction of the surface area"


@dataclass(frozen=True)
class Params:
    """radius_min, radius_max : dent radius, share of the part's bbox diagonal, in [0.01, 1].
    depth_min, depth_max : dent depth, share of the shape's bbox diagonal, in [0.001, 0.5].
    max_thickness_share : the depth is at most this share of min(thickness behind the point,
        radius), in [0.05, 0.6] (below 2/3 the dent cannot fold or poke through).
    edge_fraction : subdivide to edges of at most this share of the part diagonal, in [0.005, 0.5].
    max_faces : face budget of the subdivision (the edge grows to keep under it), in [100, 1e6].
    min_area_fraction : eligible parts cover at least this share of the surface, in [0, 1].
    """

    radius_min: float = 0.15
    radius_max: float = 0.35
    depth_min: float = 0.03
    depth_max: float = 0.08
    max_thickness_share: float = 0.5
    edge_fraction: float = 0.03
    max_faces: int = 20000
    min_area_fraction: float = 0.005

    def __post_init__(self):
        check_interval("dent.radius_min", self.radius_min, "dent.radius_max", self.radius_max, (0.01, 1.0))
        check_interval("dent.depth_min", self.depth_min, "dent.depth_max", self.depth_max, (0.001, 0.5))
        check_range("dent.max_thickness_share", self.max_thickness_share, 0.05, 0.6)
        check_range("dent.edge_fraction", self.edge_fraction, 0.005, 0.5)
        check_range("dent.max_faces", self.max_faces, 100, 1_000_000)
        check_range("dent.min_area_fraction", self.min_area_fraction, 0.0, 1.0)


@dataclass(frozen=True)
class Thresholds(ChamferThresholds):
    """min_displacement : largest vertex displacement (the dent's depth), share of the shape
    diagonal, in [0, 1]; and the Chamfer check (a dent is local: a low default)."""

    min_displacement: float = 0.01
    min_chamfer: float = 0.0005

    def __post_init__(self):
        check_range("dent.min_displacement", self.min_displacement, 0.0, 1.0)
        self.check_chamfer("dent")


def eligible(shape: Shape, params: Params, donors=None) -> list[str]:
    return eligible_by_area(shape, params.min_area_fraction)


def sample(shape: Shape, part: str, rng: np.random.Generator, params: Params, donors=None) -> dict:
    p = shape.part(part)
    pts, idx = sample_surface(p.vertices, p.faces, 1, rng, return_index=True)
    center = pts[0]
    tri = p.vertices[p.faces[idx[0]]]
    normal = np.cross(tri[1] - tri[0], tri[2] - tri[0])
    normal /= np.linalg.norm(normal)
    radius = float(rng.uniform(params.radius_min, params.radius_max)) * diagonal(p.bounds)
    drawn = float(rng.uniform(params.depth_min, params.depth_max)) * diagonal(shape.bounds)
    thickness = thickness_along(p.vertices, p.faces, center, -normal)
    if thickness is None:
        raise Refused(f"dent: part {part}: no surface behind the drawn point (open or inverted mesh)")
    b = min(thickness, radius)
    return {
        "center": center.tolist(), "normal": normal.tolist(), "radius": radius,
        "depth": min(drawn, params.max_thickness_share * b), "depth_drawn": drawn,
        "thickness": thickness, "falloff_depth": b,
        "subdivision_edge": subdivision_edge(
            p, params.edge_fraction, params.max_faces, lambda v, f, e: subdivide(v, f, e, region=(center, radius))),
    }


def refine(vertices: np.ndarray, faces: np.ndarray, sampled: dict):
    """The part subdivided as ``sampled`` says: edges within ``radius`` of ``center`` split to ``subdivision_edge``."""
    region = (np.asarray(sampled["center"], dtype=np.float64), float(sampled["radius"]))
    return subdivide(vertices, faces, float(sampled["subdivision_edge"]), region=region)


def dent_points(points: np.ndarray, sampled: dict) -> np.ndarray:
    """(n, 3) float64: ``points`` (metres) dented as ``sampled`` says (the formula above)."""
    c = np.asarray(sampled["center"], dtype=np.float64)
    n = np.asarray(sampled["normal"], dtype=np.float64)
    b = float(sampled["falloff_depth"])
    rel = points - c
    h = rel @ n
    rho = np.linalg.norm(rel - np.outer(h, n), axis=1)
    push = float(sampled["depth"]) * falloff(rho / float(sampled["radius"])) * smoothstep((h + b) / b)
    return points - np.outer(push, n)


def apply(shape: Shape, part: str, sampled: dict, donors=None) -> Shape:
    p = shape.part(part)
    v, f = refine(p.vertices, p.faces, sampled)
    return shape.replace_part(part, p.with_geometry(dent_points(v, sampled), f))


def measure(before, after, record, thresholds: Thresholds, diag: float) -> dict:
    return measure_deformation(before, after, record, thresholds, diag, "dent", refine)


CORRUPTION = CorruptionType("dent", Params, Thresholds, ELIGIBILITY, eligible, sample, apply, measure)
