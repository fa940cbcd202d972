"""Fracture corruption: a piece of one part broken off along a rough surface.

The part is made watertight first (``repair.make_watertight``; the method is recorded). A
cut direction ``m`` is drawn uniformly among the directions along which the part is at
least ``min_extent_share`` of the longest side of its axis-aligned box (so a rod loses an
end, a plate an edge or a corner, never a skin of its face); ``a``, ``b`` complete the frame. The cutter
(``cutting.rough_cutter``) is a block whose floor is a rough surface, ``z = offset +
h(x, y)`` in the frame ``(a, b, m)``, over the part's footprint: ``h`` is a sum of
``modes`` sine waves (directions uniform, ``cycles_min``..``cycles_max`` cycles over the
footprint's longer side ``L``, random phases, amplitudes ``1 / cycles``) scaled to at most
``amplitude`` = a share in ``[rough_min, rough_max]`` of ``L``. The offset along ``m`` is
found by bisection so that the removed volume ``(V_before - V_after) / V_before`` is within
``tolerance * target`` of a target drawn in ``[min_fraction, max_fraction]`` (below one
half: the smaller side goes). The boolean runs in manifold3d (float64): the result is a
closed 2-manifold. A cut that leaves more pieces than the part had is refused.

Sampled parameters: ``repair`` (method), ``volume_before`` / ``volume_after`` (cubic
metres), ``frame`` (3x3 floats, unit rows ``a``, ``b``, ``m``), ``bounds`` (``x0, x1, y0,
y1``, metres, the footprint in ``a``, ``b``), ``grid`` (nodes along ``a`` and ``b``),
``amplitude`` (metres), ``modes`` (rows: direction radians, cycles per ``L``, phase
radians), ``height`` (metres, cutter top above its floor's zero), ``offset`` (metres,
along ``m``), ``target_fraction``, ``achieved_fraction``, ``iterations``.
Check: the part is watertight after the cut and lost at least ``min_removed_fraction`` of
its volume.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datagen.corrupt.base import CorruptionType, check_interval, check_range, final_refusal, require
from datagen.corrupt.cutting import removed_volume, rough_cutter, subtract, watertight
from datagen.corrupt.geometry import eligible_by_area, perpendicular, random_unit_vector
from datagen.corrupt.repair import from_manifold
from datagen.errors import Refused
from datagen.shapes.model import Shape

ELIGIBILITY = "parts with at least min_area_fraction of the surface area"


@dataclass(frozen=True)
class Params:
    """min_fraction, max_fraction : removed share of the part's volume, in [0.01, 0.49].
    rough_min, rough_max : roughness amplitude, share of the footprint's longer side, in [0, 0.5].
    cycles_min, cycles_max : wave cycles over the footprint's longer side, in [0.5, 16].
    modes : number of sine waves in the rough surface, in [1, 32].
    grid : nodes along the footprint's longer side (the other side in proportion), in [4, 256].
    min_extent_share : the part's extent along the cut direction is at least this share of
        the longest side of its axis-aligned box, in [0, 1].
    tolerance : accepted |achieved - target| / target, in (0, 0.5].
    max_iter : bisection steps before refusing, in [5, 200].
    hull_max_fraction : a non-repairable part may be replaced by its convex hull only if its
        bbox diagonal is at most this share of the shape's, in [0, 1].
    min_area_fraction : eligible parts cover at least this share of the surface, in [0, 1].
    """

    min_fraction: float = 0.1
    max_fraction: float = 0.35
    rough_min: float = 0.04
    rough_max: float = 0.1
    cycles_min: float = 1.0
    cycles_max: float = 5.0
    modes: int = 6
    grid: int = 32
    min_extent_share: float = 0.8
    tolerance: float = 0.05
    max_iter: int = 40
    hull_max_fraction: float = 0.1
    min_area_fraction: float = 0.005

    def __post_init__(self):
        check_interval("fracture.min_fraction", self.min_fraction, "fracture.max_fraction", self.max_fraction,
                       (0.01, 0.49))
        check_interval("fracture.rough_min", self.rough_min, "fracture.rough_max", self.rough_max, (0.0, 0.5))
        check_interval("fracture.cycles_min", self.cycles_min, "fracture.cycles_max", self.cycles_max, (0.5, 16.0))
        check_range("fracture.modes", self.modes, 1, 32)
        check_range("fracture.grid", self.grid, 4, 256)
        check_range("fracture.min_extent_share", self.min_extent_share, 0.0, 1.0)
        check_range("fracture.tolerance", self.tolerance, 1e-6, 0.5)
        check_range("fracture.max_iter", self.max_iter, 5, 200)
        check_range("fracture.hull_max_fraction", self.hull_max_fraction, 0.0, 1.0)
        check_range("fracture.min_area_fraction", self.min_area_fraction, 0.0, 1.0)


@dataclass(frozen=True)
class Thresholds:
    """min_removed_fraction : removed share of the part volume, in [0, 1]."""

    min_removed_fraction: float = 0.05

    def __post_init__(self):
        check_range("fracture.min_removed_fraction", self.min_removed_fraction, 0.0, 1.0)


def eligible(shape: Shape, params: Params, donors=None) -> list[str]:
    return eligible_by_area(shape, params.min_area_fraction)


def _direction(points: np.ndarray, rng: np.random.Generator, share: float) -> np.ndarray:
    longest = max(float(np.ptp(points @ axis)) for axis in np.eye(3))
    for _ in range(64):
        m = random_unit_vector(rng)
        if np.ptp(points @ m) >= share * longest:
            return m
    return np.eye(3)[int(np.argmax(np.ptp(points, axis=0)))]


def cutter(sampled: dict, offset: float):
    """The rough cutter of ``sampled`` with its floor's zero at ``offset`` (metres) along ``m``."""
    local = rough_cutter(sampled["bounds"], sampled["grid"], float(sampled["amplitude"]), sampled["modes"],
                         float(sampled["height"]))
    frame = np.asarray(sampled["frame"], dtype=np.float64)
    mat = np.zeros((3, 4))
    mat[:, :3] = frame.T  # local x, y, z -> a, b, m
    mat[:, 3] = frame[2] * float(offset)
    return local.transform(mat)


def sample(shape: Shape, part: str, rng: np.random.Generator, params: Params, donors=None) -> dict:
    try:
        solid, method = watertight(shape, part, None, params.hull_max_fraction)
    except Refused as e:
        raise final_refusal(f"fracture: {e}") from None
    v0 = solid.volume()
    pieces = len(solid.decompose())
    pts = from_manifold(solid).vertices
    m = _direction(pts, rng, params.min_extent_share)
    a = perpendicular(m, rng)
    frame = np.stack([a, np.cross(m, a), m])
    x, y, z = (pts @ frame.T).T
    size = max(float(np.ptp(x)), float(np.ptp(y)), 1e-9)
    pad = 0.02 * size
    bounds = [float(x.min() - pad), float(x.max() + pad), float(y.min() - pad), float(y.max() + pad)]
    grid = [max(2, int(np.ceil(params.grid * (b1 - b0) / (size + 2 * pad)))) for b0, b1 in (bounds[:2], bounds[2:])]
    amp = float(rng.uniform(params.rough_min, params.rough_max)) * size
    modes = np.stack([rng.uniform(0, np.pi, params.modes),
                      rng.uniform(params.cycles_min, params.cycles_max, params.modes),
                      rng.uniform(0, 2 * np.pi, params.modes)], axis=1)
    target = float(rng.uniform(params.min_fraction, params.max_fraction))
    sampled = {
        "repair": method, "volume_before": float(v0), "frame": frame.tolist(), "bounds": bounds, "grid": grid,
        "amplitude": amp, "modes": modes.tolist(), "height": float(np.ptp(z) + 4 * amp + pad),
        "target_fraction": target,
    }
    lo, hi = float(z.min() - amp - pad), float(z.max() + amp)  # removes all / nothing
    best = None
    for it in range(1, int(params.max_iter) + 1):
        mid = 0.5 * (lo + hi)
        left = solid - cutter(sampled, mid)
        f = (v0 - left.volume()) / v0
        if abs(f - target) <= params.tolerance * target:
            best = (mid, f, left, it)
            break
        lo, hi = (lo, mid) if f < target else (mid, hi)
    if best is None:
        raise Refused(f"fracture: part {part}: the cut offset search did not reach removed fraction "
                      f"{target:.3f} within {params.tolerance:.0%} in {params.max_iter} steps")
    offset, f, left, it = best
    n = len(left.decompose())
    if n > pieces:
        raise Refused(f"fracture: part {part}: the cut leaves {n} pieces (the part had {pieces})")
    sampled.update(offset=float(offset), achieved_fraction=float(f), volume_after=float(left.volume()), iterations=it)
    return sampled


def apply(shape: Shape, part: str, sampled: dict, donors=None) -> Shape:
    return subtract(shape, part, sampled, cutter(sampled, float(sampled["offset"])), "fracture")


def measure(before, after, record, thresholds: Thresholds, diag: float) -> dict:
    m = removed_volume(after, record, "fracture")
    require(m["removed_fraction"], thresholds.min_removed_fraction, "fracture.min_removed_fraction",
            "fracture: removed volume fraction")
    return m


CORRUPTION = CorruptionType("fracture", Params, Thresholds, ELIGIBILITY, eligible, sample, apply, measure)
