"""Placing copies of an object on a floor without intersections, and cameras on a circle.

Frames: world Z up, metres, floor z = 0. An object's pose is the (4, 4) world-from-shape
transform ``[[s R, t], [0, 0, 0, 1]]`` of its normalized shape (bbox diagonal 1, centred).
Footprints are the convex hulls of the objects' vertices projected on the floor: two objects
whose footprints are apart cannot intersect (both stand on the floor), so the test on the
hulls is exact for "no overlap" and conservative near contact.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial import ConvexHull

from datagen.spec import Camera


def rotation_z(angle: float) -> np.ndarray:
    """(3, 3) rotation by ``angle`` radians about +Z."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def rotation_xy(rx: float, ry: float) -> np.ndarray:
    """(3, 3) rotation about X by ``rx`` then about Y by ``ry`` (radians): tilts and flips."""
    cx, sx, cy, sy = math.cos(rx), math.sin(rx), math.cos(ry), math.sin(ry)
    rot_x = np.array([[1.0, 0.0, 0.0], [0.0, cx, -sx], [0.0, sx, cx]])
    rot_y = np.array([[cy, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cy]])
    return rot_y @ rot_x


def pose_matrix(rotation: np.ndarray, scale: float, translation) -> np.ndarray:
    """(4, 4) world-from-shape: ``x_world = scale * rotation @ x + translation`` (metres)."""
    m = np.eye(4)
    m[:3, :3] = float(scale) * np.asarray(rotation, dtype=np.float64)
    m[:3, 3] = np.asarray(translation, dtype=np.float64)
    return m


def footprint(points_xy: np.ndarray) -> np.ndarray:
    """(k, 2) counter-clockwise convex hull of (n, 2) floor points (metres)."""
    pts = np.asarray(points_xy, dtype=np.float64)
    try:
        return pts[ConvexHull(pts).vertices]
    except Exception:  # noqa: BLE001 - degenerate (collinear) footprints: their bounding box
        lo, hi = pts.min(0), pts.max(0) + 1e-6
        return np.array([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]])


def separated(a: np.ndarray, b: np.ndarray, gap: float = 0.0) -> bool:
    """True if convex polygons ``a`` (k, 2) and ``b`` (m, 2) are at least ``gap`` apart along some
    edge normal (separating axis test; a conservative distance test: apart -> truly apart)."""
    for poly in (a, b):
        edges = np.roll(poly, -1, axis=0) - poly
        normals = np.stack([edges[:, 1], -edges[:, 0]], 1)
        norms = np.linalg.norm(normals, axis=1)
        ok = norms > 1e-12
        normals = normals[ok] / norms[ok, None]
        pa, pb = a @ normals.T, b @ normals.T  # (k, e), (m, e)
        gaps = np.maximum(pb.min(0) - pa.max(0), pa.min(0) - pb.max(0))
        if (gaps >= gap).any():
            return True
    return False


def place(footprints: list[np.ndarray], rng: np.random.Generator, spacing: float, tries: int = 60,
          grow: float = 1.15) -> np.ndarray:
    """(n, 2) floor positions (metres) for objects whose footprints (centred at their own origin)
    are ``footprints``, no two closer than ``spacing``, packed around the origin.

    Objects go one by one (largest first) at uniform random points of a disc whose radius starts
    at about the radius of their total area and grows by ``grow`` after ``tries`` failures.
    """
    areas = [0.5 * abs(np.cross(f, np.roll(f, -1, axis=0)).sum()) for f in footprints]
    reach = [float(np.linalg.norm(f, axis=1).max()) for f in footprints]
    radius = math.sqrt(sum(areas) / math.pi) * 1.2 + spacing
    out = np.zeros((len(footprints), 2))
    placed: list[int] = []

    def attempt(i: int) -> bool:
        for _ in range(tries):
            r = (radius + reach[i]) * math.sqrt(rng.random())
            a = rng.uniform(0, 2 * math.pi)
            p = np.array([r * math.cos(a), r * math.sin(a)])
            if all(separated(footprints[i] + p, footprints[j] + out[j], spacing) for j in placed):
                out[i] = p
                placed.append(i)
                return True
        return False

    for i in sorted(range(len(footprints)), key=lambda k: -areas[k]):
        while not attempt(i):
            radius *= grow
    return out


def circle_cameras(n: int, distance: float, elevation: float, phase: float, target, fx: float, size: int) -> list[Camera]:
    """``n`` cameras at azimuths ``phase + 2 pi k / n`` (radians), ``distance`` metres from ``target``
    (3,) at ``elevation`` radians above its horizontal plane, looking at it; square ``size`` px, focal ``fx`` px."""
    return [Camera.orbit(distance, phase + 2 * math.pi * k / n, elevation, fx, size, size, target=target)
            for k in range(n)]

