"""Geometry helpers shared by the corruption types: areas, random directions, rotations,
surface sampling, the measurements the significance checks use (Chamfer, Kabsch), a
part's oriented box, smooth weights and the thickness behind a surface point.

Data forms: vertices ``(n, 3) float64`` metres (shape frame, Z up), faces ``(k, 3) int64``;
angles in radians unless a name says ``_deg``.
"""

from __future__ import annotations

import math

import numpy as np

from datagen.errors import Refused
from datagen.shapes.model import Part, Shape


def part_area(part: Part) -> float:
    """Surface area, square metres."""
    if len(part.faces) == 0:
        return 0.0
    t = part.vertices[part.faces]
    return float(0.5 * np.linalg.norm(np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]), axis=1).sum())


def area_fractions(shape: Shape) -> dict[str, float]:
    """Part name -> its share of the shape's total surface area (sums to 1)."""
    areas = {p.name: part_area(p) for p in shape.parts}
    total = sum(areas.values())
    if total <= 0:
        return {k: 0.0 for k in areas}
    return {k: a / total for k, a in areas.items()}


def eligible_by_area(shape: Shape, min_area_fraction: float) -> list[str]:
    """Names of parts with faces whose area share is at least ``min_area_fraction``."""
    fr = area_fractions(shape)
    return [p.name for p in shape.parts if len(p.faces) and fr[p.name] >= min_area_fraction]


def diagonal(bounds: np.ndarray) -> float:
    """Length of an axis-aligned box's diagonal; ``bounds`` (2, 3) min/max corners, metres."""
    return float(np.linalg.norm(np.asarray(bounds)[1] - np.asarray(bounds)[0]))


def random_unit_vector(rng: np.random.Generator) -> np.ndarray:
    """(3,) float64, uniform on the unit sphere."""
    while True:
        v = rng.normal(size=3)
        n = float(np.linalg.norm(v))
        if n > 1e-9:
            return v / n


def axis_angle_matrix(axis, angle_rad: float) -> np.ndarray:
    """(3, 3) float64 rotation by ``angle_rad`` (right hand) about the unit ``axis`` (Rodrigues)."""
    a = np.asarray(axis, dtype=np.float64)
    a = a / np.linalg.norm(a)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + math.sin(angle_rad) * k + (1 - math.cos(angle_rad)) * (k @ k)


def sample_surface(vertices: np.ndarray, faces: np.ndarray, n: int, rng: np.random.Generator,
                   return_index: bool = False):
    """(n, 3) float64 points uniform on the surface (area-weighted triangle, uniform barycentric).

    return_index : also return the (n,) int64 index of each point's face (same draws from ``rng``).
    """
    t = np.asarray(vertices, dtype=np.float64)[np.asarray(faces)]
    area = 0.5 * np.linalg.norm(np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]), axis=1)
    total = area.sum()
    if not np.isfinite(total) or total <= 0:
        raise Refused("surface has zero area")
    cdf = np.cumsum(area) / total
    idx = np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(area) - 1)
    u = rng.random((n, 2))
    flip = u.sum(1) > 1
    u[flip] = 1 - u[flip]
    tri = t[idx]
    points = tri[:, 0] + u[:, :1] * (tri[:, 1] - tri[:, 0]) + u[:, 1:] * (tri[:, 2] - tri[:, 0])
    return (points, idx.astype(np.int64)) if return_index else points


def _to_trimesh(x):
    import trimesh

    if isinstance(x, trimesh.Trimesh):
        return x
    return trimesh.Trimesh(np.asarray(x.vertices), np.asarray(x.faces), process=False)


def _surface_distance(points: np.ndarray, mesh) -> np.ndarray | None:
    """Exact distances (metres) from ``points`` (n, 3) to a triangle surface; None without rtree."""
    try:
        import rtree  # noqa: F401 - trimesh.proximity needs it
        import trimesh
    except ImportError:
        return None
    _, d, _ = trimesh.proximity.closest_point(_to_trimesh(mesh), points)
    return np.asarray(d, dtype=np.float64)


def chamfer_distance(a, b, n: int, rng: np.random.Generator, surface: bool = True) -> float:
    """Symmetric Chamfer distance between two triangle surfaces, metres.

    a, b : ``Part`` or ``trimesh.Trimesh`` (same frame).
    n : points sampled area-weighted on each surface with ``rng``.
    surface : measure each sampled point's distance to the other *surface* (exact,
        ``trimesh.proximity``; identical surfaces give 0). False, or without ``rtree``:
        point-cloud Chamfer with ``scipy.spatial.cKDTree`` between the two samples, which
        has a sampling floor of about half the point spacing even for identical surfaces.
    Returns ``0.5 * (mean_p d(p, B) + mean_q d(q, A))`` (distances, not squared).
    """
    from scipy.spatial import cKDTree

    pa = sample_surface(np.asarray(a.vertices), np.asarray(a.faces), n, rng)
    pb = sample_surface(np.asarray(b.vertices), np.asarray(b.faces), n, rng)
    if surface:
        da = _surface_distance(pa, b)
        db = _surface_distance(pb, a) if da is not None else None
        if da is not None and db is not None:
            return float(0.5 * (da.mean() + db.mean()))
    da, _ = cKDTree(pb).query(pa)
    db, _ = cKDTree(pa).query(pb)
    return float(0.5 * (da.mean() + db.mean()))


def kabsch_angle_deg(before: np.ndarray, after: np.ndarray) -> float:
    """Angle (degrees) of the best-fit rotation taking centred ``before`` (n, 3) onto ``after`` (n, 3)."""
    a = before - before.mean(0)
    b = after - after.mean(0)
    u, _, vt = np.linalg.svd(a.T @ b)
    d = np.sign(np.linalg.det(vt.T @ u.T)) or 1.0
    r = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    return float(np.degrees(np.arccos(np.clip((np.trace(r) - 1) / 2, -1.0, 1.0))))


def part_frame(vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The oriented bounding box of ``vertices``: ``(center (3,), axes (3, 3), extents (3,))``.

    ``axes`` rows are unit vectors (shape frame), sorted by ``extents`` (metres), longest first.
    Flat or degenerate input falls back to the axis-aligned box.
    """
    import trimesh

    v = np.asarray(vertices, dtype=np.float64)
    try:
        to_origin, ext = trimesh.bounds.oriented_bounds(v)
        rot, t = to_origin[:3, :3], to_origin[:3, 3]
        center = -rot.T @ t
        ext = np.asarray(ext, dtype=np.float64)
    except Exception:  # noqa: BLE001 - qhull fails on flat or tiny input
        rot, lo, hi = np.eye(3), v.min(0), v.max(0)
        center, ext = 0.5 * (lo + hi), hi - lo
    order = np.argsort(-ext, kind="stable")
    return center, rot[order], ext[order]


def falloff(s: np.ndarray) -> np.ndarray:
    """``(1 - s**2)**2`` for ``|s| < 1``, else 0: 1 at the centre, smooth (C1) at the rim."""
    s = np.abs(np.asarray(s, dtype=np.float64))
    return np.where(s < 1.0, (1.0 - np.minimum(s, 1.0) ** 2) ** 2, 0.0)


def smoothstep(x: np.ndarray) -> np.ndarray:
    """``3x**2 - 2x**3`` of ``x`` clipped to [0, 1]; largest slope 1.5 (at 0.5)."""
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def thickness_along(vertices: np.ndarray, faces: np.ndarray, point, direction) -> float | None:
    """Distance (metres) from ``point`` on the surface to the next surface hit along the unit
    ``direction``, or None when the ray leaves the mesh (an open or inverted surface)."""
    import trimesh
    from trimesh.ray.ray_triangle import RayMeshIntersector  # not embree: float64, same on every machine

    mesh = trimesh.Trimesh(np.asarray(vertices), np.asarray(faces), process=False)
    d = np.asarray(direction, dtype=np.float64)
    eps = 1e-7 * max(diagonal(mesh.bounds), 1e-9)
    origin = np.asarray(point, dtype=np.float64) + eps * d
    locs, _, _ = RayMeshIntersector(mesh).intersects_location(origin[None], d[None], multiple_hits=True)
    if len(locs) == 0:
        return None
    dist = (locs - origin) @ d
    dist = dist[dist > 10 * eps]
    return float(dist.min()) if len(dist) else None


def perpendicular(n: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(3,) float64, a unit vector perpendicular to the unit ``n``, uniform in angle about it."""
    helper = np.eye(3)[int(np.argmin(np.abs(n)))]
    e1 = np.cross(n, helper)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(n, e1)
    a = float(rng.uniform(0.0, 2.0 * np.pi))
    return np.cos(a) * e1 + np.sin(a) * e2
