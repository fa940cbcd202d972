"""Crack corruption: a thin wedge-shaped cut into one part from its surface.

The part is made watertight first (``repair.make_watertight``; the method is recorded). A
point ``p`` is drawn area-weighted on its surface, with the face's outward normal ``n``; the
crack plane contains ``n`` and a direction ``a`` uniform in angle about it (``m = a x n`` is
the plane's normal). The crack is the convex hull of a rectangle just outside the surface
(``p + o n +- a W / 2 +- m t / 2``, ``o = t``: it opens at the surface) and a tip edge
inside (``p - D n +- a W tip_share / 2``): a wedge ``t`` wide at the surface, ``W`` long and
``D`` deep. ``t`` is a share in ``[opening_min, opening_max]`` of the shape's diagonal, ``W``
a share in ``[width_min, width_max]`` of the part's diagonal and ``D`` a share in
``[depth_min, depth_max]`` of the part's thickness behind ``p`` (along ``-n`` to the next
surface). It is subtracted in manifold3d (float64): the result is a closed 2-manifold.

Sampled parameters: ``repair`` (method), ``volume_before`` (cubic metres), ``area_before``
(square metres), ``center`` (3 floats, metres: ``p``), ``normal`` (``n``), ``direction``
(``a``) (3 floats, unit), ``opening`` (``t``), ``width`` (``W``), ``depth`` (``D``),
``thickness`` (metres), ``tip_share``.
Check: the part is watertight after the cut; it lost a volume share in
``[min_removed_fraction, max_removed_fraction]`` (a crack takes little) and its surface
area grew by at least ``min_area_gain`` (the crack's walls).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datagen.corrupt.base import CorruptionType, check_interval, check_range, final_refusal, require
from datagen.corrupt.cutting import removed_volume, subtract, watertight
from datagen.corrupt.geometry import diagonal, eligible_by_area, perpendicular, sample_surface, thickness_along
from datagen.corrupt.repair import from_manifold
from datagen.errors import Refused
from datagen.shapes.model import Shape

ELIGIBILITY = "parts with at least min_area_fraction of the surface area"


@dataclass(frozen=True)
class Params:
    """opening_min, opening_max : width of the crack at the surface, share of the shape diagonal, in [0.0005, 0.1].
    width_min, width_max : length of the crack along the surface, share of the part diagonal, in [0.01, 1].
    depth_min, depth_max : depth, share of the part's thickness behind the point, in [0.05, 0.95].
    tip_share : the crack's length at its deepest, share of its length at the surface, in [0, 1].
    hull_max_fraction : a non-repairable part may be replaced by its convex hull only if its
        bbox diagonal is at most this share of the shape's, in [0, 1].
    min_area_fraction : eligible parts cover at least this share of the surface, in [0, 1].
    """

    opening_min: float = 0.005
    opening_max: float = 0.015
    width_min: float = 0.2
    width_max: float = 0.5
    depth_min: float = 0.3
    depth_max: float = 0.7
    tip_share: float = 0.5
    hull_max_fraction: float = 0.1
    min_area_fraction: float = 0.005

    def __post_init__(self):
        check_interval("crack.opening_min", self.opening_min, "crack.opening_max", self.opening_max, (0.0005, 0.1))
        check_interval("crack.width_min", self.width_min, "crack.width_max", self.width_max, (0.01, 1.0))
        check_interval("crack.depth_min", self.depth_min, "crack.depth_max", self.depth_max, (0.05, 0.95))
        check_range("crack.tip_share", self.tip_share, 0.0, 1.0)
        check_range("crack.hull_max_fraction", self.hull_max_fraction, 0.0, 1.0)
        check_range("crack.min_area_fraction", self.min_area_fraction, 0.0, 1.0)


@dataclass(frozen=True)
class Thresholds:
    """min_removed_fraction, max_removed_fraction : removed share of the part volume, in [0, 1].
    min_area_gain : relative growth of the part's surface area, in [0, 10].
    """

    min_removed_fraction: float = 1e-5
    max_removed_fraction: float = 0.1
    min_area_gain: float = 0.005

    def __post_init__(self):
        check_interval("crack.min_removed_fraction", self.min_removed_fraction,
                       "crack.max_removed_fraction", self.max_removed_fraction, (0.0, 1.0))
        check_range("crack.min_area_gain", self.min_area_gain, 0.0, 10.0)


def eligible(shape: Shape, params: Params, donors=None) -> list[str]:
    return eligible_by_area(shape, params.min_area_fraction)


def wedge(sampled: dict):
    """The crack's ``manifold3d.Manifold`` (convex hull of its six corners, metres)."""
    import manifold3d

    p, n, a = (np.asarray(sampled[k], dtype=np.float64) for k in ("center", "normal", "direction"))
    m = np.cross(a, n)
    t, w, d = float(sampled["opening"]), float(sampled["width"]), float(sampled["depth"])
    tip = 0.5 * w * float(sampled["tip_share"])
    corners = [p + t * n + sa * 0.5 * w * a + sm * 0.5 * t * m for sa in (-1, 1) for sm in (-1, 1)]
    corners += [p - d * n - tip * a, p - d * n + tip * a]
    return manifold3d.Manifold.hull_points(np.ascontiguousarray(corners, dtype=np.float64))


def sample(shape: Shape, part: str, rng: np.random.Generator, params: Params, donors=None) -> dict:
    p = shape.part(part)
    try:
        solid, method = watertight(shape, part, None, params.hull_max_fraction)
    except Refused as e:
        raise final_refusal(f"crack: {e}") from None
    surf = from_manifold(solid)
    pts, idx = sample_surface(surf.vertices, surf.faces, 1, rng, return_index=True)
    center = pts[0]
    normal = surf.face_normals[idx[0]]
    direction = perpendicular(normal, rng)
    thickness = thickness_along(surf.vertices, surf.faces, center, -normal)
    if thickness is None:
        raise Refused(f"crack: part {part}: no surface behind the drawn point")
    return {
        "repair": method, "volume_before": float(solid.volume()), "area_before": float(solid.surface_area()),
        "center": center.tolist(), "normal": normal.tolist(), "direction": direction.tolist(),
        "opening": float(rng.uniform(params.opening_min, params.opening_max)) * diagonal(shape.bounds),
        "width": float(rng.uniform(params.width_min, params.width_max)) * diagonal(p.bounds),
        "depth": float(rng.uniform(params.depth_min, params.depth_max)) * thickness,
        "thickness": thickness, "tip_share": float(params.tip_share),
    }


def apply(shape: Shape, part: str, sampled: dict, donors=None) -> Shape:
    return subtract(shape, part, sampled, wedge(sampled), "crack")


def measure(before, after, record, thresholds: Thresholds, diag: float) -> dict:
    m = removed_volume(after, record, "crack")
    a0, a1 = float(record.params["area_before"]), float(after.mesh().area)
    m.update(area_after=a1, area_gain=(a1 - a0) / a0 if a0 > 0 else 0.0)
    require(m["removed_fraction"], thresholds.min_removed_fraction, "crack.min_removed_fraction",
            "crack: removed volume fraction")
    if m["removed_fraction"] > thresholds.max_removed_fraction:
        raise Refused(f"crack: removed volume fraction {m['removed_fraction']:.5g} > crack.max_removed_fraction "
                      f"{thresholds.max_removed_fraction}: not a thin crack")
    require(m["area_gain"], thresholds.min_area_gain, "crack.min_area_gain", "crack: relative surface area gain")
    return m


CORRUPTION = CorruptionType("crack", Params, Thresholds, ELIGIBILITY, eligible, sample, apply, measure)
