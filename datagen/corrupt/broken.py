"""Broken corruption: subtract a sphere or a cube placed on the part's surface.

The part is made watertight first (``repair.make_watertight``; the method is recorded).
A cutter centre is drawn area-weighted on the (repaired) surface; the cutter type is drawn
from ``params.cutters``; a cube gets a random orientation. The cutter size (sphere radius
or cube half-edge, metres) is found by bisection so that the removed volume
``(V_before - V_after) / V_before`` is within ``tolerance * target`` of a target fraction
drawn uniformly in ``[min_fraction, max_fraction]``. The boolean runs in manifold3d
(float64), so the result is a closed 2-manifold.

Sampled parameters: ``cutter`` (``sphere`` | ``cube``), ``center`` (3 floats, metres),
``size`` (radius or half-edge, metres), ``rotation`` (3x3 floats, cube orientation;
identity for a sphere), ``segments`` (sphere tessellation), ``target_fraction``,
``achieved_fraction``, ``volume_before`` / ``volume_after`` (cubic metres), ``repair``
(method in ``repair.METHODS``), ``iterations`` (bisection steps).
Check: the part is watertight after the cut and lost at least ``min_removed_fraction`` of
its volume.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datagen.corrupt.base import CorruptionType, check_interval, check_range, final_refusal, require
from datagen.corrupt.cutting import removed_volume, subtract, watertight
from datagen.corrupt.geometry import axis_angle_matrix, diagonal, eligible_by_area, random_unit_vector, sample_surface
from datagen.corrupt.repair import from_manifold
from datagen.errors import Refused
from datagen.shapes.model import Shape

ELIGIBILITY = "parts with at least min_area_fraction of the surface area"
CUTTERS = ("sphere", "cube")


@dataclass(frozen=True)
class Params:
    """min_fraction, max_fraction : removed share of the part's volume, in [0.01, 0.9].
    cutters : cutter types to draw from, a non-empty subset of ``("sphere", "cube")``.
    tolerance : accepted |achieved - target| / target, in (0, 0.5].
    max_iter : bisection steps before refusing, in [5, 200].
    segments : sphere tessellation (manifold3d circular segments), in [8, 256].
    hull_max_fraction : a non-repairable part may be replaced by its convex hull only if its
        bbox diagonal is at most this share of the shape's, in [0, 1].
    min_area_fraction : eligible parts cover at least this share of the surface, in [0, 1].
    """

    min_fraction: float = 0.1
    max_fraction: float = 0.35
    cutters: tuple = CUTTERS
    tolerance: float = 0.05
    max_iter: int = 40
    segments: int = 32
    hull_max_fraction: float = 0.1
    min_area_fraction: float = 0.005

    def __post_init__(self):
        check_interval("broken.min_fraction", self.min_fraction, "broken.max_fraction", self.max_fraction, (0.01, 0.9))
        cutters = tuple(self.cutters)
        if not cutters or any(c not in CUTTERS for c in cutters) or len(set(cutters)) != len(cutters):
            raise ValueError(f"broken.cutters={self.cutters!r}: expected a non-empty subset of {CUTTERS}")
        object.__setattr__(self, "cutters", tuple(c for c in CUTTERS if c in cutters))
        check_range("broken.tolerance", self.tolerance, 1e-6, 0.5)
        check_range("broken.max_iter", self.max_iter, 5, 200)
        check_range("broken.segments", self.segments, 8, 256)
        check_range("broken.hull_max_fraction", self.hull_max_fraction, 0.0, 1.0)
        check_range("broken.min_area_fraction", self.min_area_fraction, 0.0, 1.0)


@dataclass(frozen=True)
class Thresholds:
    """min_removed_fraction : removed share of the part volume, in [0, 1]."""

    min_removed_fraction: float = 0.05

    def __post_init__(self):
        check_range("broken.min_removed_fraction", self.min_removed_fraction, 0.0, 1.0)


def eligible(shape: Shape, params: Params, donors=None) -> list[str]:
    return eligible_by_area(shape, params.min_area_fraction)


def make_cutter(sampled: dict, size: float):
    """The cutter Manifold for ``sampled`` parameters at ``size`` (radius / half-edge, metres)."""
    import manifold3d

    if sampled["cutter"] == "sphere":
        c = manifold3d.Manifold.sphere(float(size), int(sampled["segments"]))
    else:
        c = manifold3d.Manifold.cube([2.0 * size] * 3, True)
    m = np.zeros((3, 4))
    m[:, :3] = np.asarray(sampled["rotation"], dtype=np.float64)
    m[:, 3] = np.asarray(sampled["center"], dtype=np.float64)
    return c.transform(m)


def sample(shape: Shape, part: str, rng: np.random.Generator, params: Params, donors=None) -> dict:
    p = shape.part(part)
    try:
        solid, method = watertight(shape, part, None, params.hull_max_fraction)
    except Refused as e:
        raise final_refusal(f"broken: {e}") from None
    v0 = solid.volume()
    surf = from_manifold(solid)
    center = sample_surface(surf.vertices, surf.faces, 1, rng)[0]
    cutter = params.cutters[int(rng.integers(len(params.cutters)))]
    if cutter == "cube":
        rot = axis_angle_matrix(random_unit_vector(rng), float(rng.uniform(0.0, 2 * np.pi)))
    else:
        rot = np.eye(3)
    target = float(rng.uniform(params.min_fraction, params.max_fraction))
    sampled = {
        "cutter": cutter,
        "center": center.tolist(),
        "rotation": rot.tolist(),
        "segments": int(params.segments),
        "target_fraction": target,
        "repair": method,
        "volume_before": float(v0),
    }
    # JSON floats are Python floats already: apply() will rebuild the very same cutter.

    def removed(size: float) -> tuple[float, float]:
        left = solid - make_cutter(sampled, size)
        v = left.volume()
        return (v0 - v) / v0, v

    lo, hi = 0.0, 1.01 * diagonal(p.bounds) + 1e-9
    f_hi, _ = removed(hi)
    if f_hi < target * (1 - params.tolerance):
        raise Refused(f"broken: part {part}: largest cutter removes only {f_hi:.3f} < target {target:.3f}")
    best = None
    for it in range(1, int(params.max_iter) + 1):
        mid = 0.5 * (lo + hi)
        f, v = removed(mid)
        if abs(f - target) <= params.tolerance * target:
            best = (mid, f, v, it)
            break
        if f < target:
            lo = mid
        else:
            hi = mid
    if best is None:
        raise Refused(
            f"broken: part {part}: cutter size search did not reach removed fraction {target:.3f} "
            f"within {params.tolerance:.0%} in {params.max_iter} steps"
        )
    size, f, v, it = best
    sampled.update(size=float(size), achieved_fraction=float(f), volume_after=float(v), iterations=it)
    return sampled


def apply(shape: Shape, part: str, sampled: dict, donors=None) -> Shape:
    return subtract(shape, part, sampled, make_cutter(sampled, float(sampled["size"])), "broken")


def measure(before, after, record, thresholds: Thresholds, diag: float) -> dict:
    m = removed_volume(after, record, "broken")
    require(m["removed_fraction"], thresholds.min_removed_fraction, "broken.min_removed_fraction",
            "broken: removed volume fraction")
    return m


CORRUPTION = CorruptionType("broken", Params, Thresholds, ELIGIBILITY, eligible, sample, apply, measure)
