"""Watertight mesh primitives for the procedural generators, in plain numpy (fast).

Every builder returns ``(vertices, faces)``: ``vertices : (n, 3) float64`` metres,
``faces : (k, 3) int64``, a closed, consistently oriented (outward normals, positive
volume) triangle mesh made of one connected component.

The workhorse is :func:`loft`: a stack of closed rings with the same vertex count,
joined side to side and closed by a fan around each end ring's centroid. Any stack of
star-shaped rings (convex polygons, gear outlines, circles) gives a watertight solid:
boxes, cylinders, tapered or splayed legs, stepped shafts, rounded cushions, bolts.
Shapes with holes or non-star outlines use manifold3d (:func:`from_manifold`).
"""

from __future__ import annotations

import numpy as np


# --- 2D profiles: (m, 2) float64, counter-clockwise ------------------------------------
def circle_profile(radius: float, segments: int = 16) -> np.ndarray:
    """(segments, 2) float64: regular polygon of circumradius ``radius``, CCW."""
    t = np.linspace(0.0, 2.0 * np.pi, segments, endpoint=False)
    return np.stack([radius * np.cos(t), radius * np.sin(t)], axis=1)


def rect_profile(sx: float, sy: float) -> np.ndarray:
    """(4, 2) float64: axis-aligned rectangle of size ``sx`` x ``sy`` centred at 0, CCW."""
    hx, hy = sx / 2.0, sy / 2.0
    return np.array([[-hx, -hy], [hx, -hy], [hx, hy], [-hx, hy]], dtype=np.float64)


def rounded_rect_profile(sx: float, sy: float, radius: float, corner_segments: int = 4, top_only: bool = False) -> np.ndarray:
    """(4 * (corner_segments + 1), 2) float64: rectangle with rounded corners, CCW.

    ``radius`` is clipped to half the smaller side. The vertex count depends only on
    ``corner_segments``, so profiles of different sizes can be lofted together.
    ``top_only`` rounds only the two corners at +y ((2 * corner_segments + 4, 2) points).
    """
    r = float(min(max(radius, 1e-6), 0.5 * min(sx, sy) - 1e-6))
    hx, hy = sx / 2.0 - r, sy / 2.0 - r
    pts = []
    centres = [(hx, -hy, -0.5 * np.pi), (hx, hy, 0.0), (-hx, hy, 0.5 * np.pi), (-hx, -hy, np.pi)]
    for k, (cx, cy, a0) in enumerate(centres):
        if top_only and k in (0, 3):  # square bottom corners
            pts.append((np.sign(cx) * sx / 2.0, -sy / 2.0))
            continue
        for a in np.linspace(a0, a0 + 0.5 * np.pi, corner_segments + 1):
            pts.append((cx + r * np.cos(a), cy + r * np.sin(a)))
    return np.asarray(pts, dtype=np.float64)


# --- lofting ------------------------------------------------------------------------
_SIDE_CACHE: dict[tuple[int, int], np.ndarray] = {}


def _side_faces(n_rings: int, m: int) -> np.ndarray:
    key = (n_rings, m)
    if key not in _SIDE_CACHE:
        i = np.arange(m)
        j = (i + 1) % m
        quads = []
        for r in range(n_rings - 1):
            a, b = r * m + i, r * m + j
            c, d = (r + 1) * m + j, (r + 1) * m + i
            quads.append(np.stack([a, b, c], 1))
            quads.append(np.stack([a, c, d], 1))
        bottom_c, top_c = n_rings * m, n_rings * m + 1
        caps = [
            np.stack([np.full(m, bottom_c), j, i], 1),  # bottom ring, reversed
            np.stack([np.full(m, top_c), (n_rings - 1) * m + i, (n_rings - 1) * m + j], 1),
        ]
        _SIDE_CACHE[key] = np.concatenate(quads + caps).astype(np.int64)
    return _SIDE_CACHE[key]


def signed_volume(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Signed volume (m^3) of a closed triangle mesh; positive when normals point outward."""
    t = vertices[faces]
    return float(np.einsum("ij,ij->i", t[:, 0], np.cross(t[:, 1], t[:, 2])).sum() / 6.0)


def loft(rings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closed solid through a stack of rings.

    rings : (r, m, 3) float64, metres; r >= 2 rings of m >= 3 points each, every ring a
        closed loop (star-shaped about its centroid), consecutive rings matched index by
        index. Orientation is fixed afterwards, so rings may run either way round.
    Returns ``(vertices (r*m + 2, 3) float64, faces (2*m*(r-1) + 2*m, 3) int64)``.
    """
    rings = np.asarray(rings, dtype=np.float64)
    r, m, _ = rings.shape
    v = np.concatenate([rings.reshape(-1, 3), rings[0].mean(0, keepdims=True), rings[-1].mean(0, keepdims=True)])
    f = _side_faces(r, m)
    if signed_volume(v, f) < 0:
        f = f[:, ::-1]
    return v, f.copy()


def frame_for_axis(axis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors ``(u, w)`` with ``u, w, axis`` orthonormal (right-handed)."""
    a = np.asarray(axis, dtype=np.float64)
    a = a / np.linalg.norm(a)
    helper = np.array([1.0, 0.0, 0.0]) if abs(a[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u = np.cross(helper, a)
    u /= np.linalg.norm(u)
    w = np.cross(a, u)
    return u, w


def place_profile(profile: np.ndarray, origin, u, w) -> np.ndarray:
    """(m, 3): 2D ``profile`` (m, 2) placed at ``origin`` in the plane spanned by ``u``, ``w``."""
    p = np.asarray(profile, dtype=np.float64)
    return np.asarray(origin, dtype=np.float64) + p[:, :1] * np.asarray(u) + p[:, 1:2] * np.asarray(w)


def box(center, size) -> tuple[np.ndarray, np.ndarray]:
    """Axis-aligned box: ``center`` (3,), ``size`` (3,) metres."""
    c = np.asarray(center, dtype=np.float64)
    s = np.asarray(size, dtype=np.float64)
    prof = rect_profile(s[0], s[1])
    z0, z1 = c[2] - s[2] / 2, c[2] + s[2] / 2
    rings = np.stack([np.c_[prof + c[:2], np.full(4, z0)], np.c_[prof + c[:2], np.full(4, z1)]])
    return loft(rings)


def bar(p0, p1, profile0: np.ndarray, profile1: np.ndarray | None = None, up=None) -> tuple[np.ndarray, np.ndarray]:
    """Prism (or frustum) from point ``p0`` to ``p1`` with cross-sections ``profile0`` / ``profile1``.

    p0, p1 : (3,) metres, ends of the axis. profile0/1 : (m, 2) cross-sections (same m).
    up : optional (3,) direction for the profile's second axis (keeps rectangular bars
        aligned with the world, e.g. a horizontal rail with its height along Z).
    """
    p0 = np.asarray(p0, dtype=np.float64)
    p1 = np.asarray(p1, dtype=np.float64)
    axis = p1 - p0
    if up is not None:
        a = axis / np.linalg.norm(axis)
        w = np.asarray(up, dtype=np.float64) - a * np.dot(up, a)
        if np.linalg.norm(w) < 1e-9:
            u, w = frame_for_axis(axis)
        else:
            w /= np.linalg.norm(w)
            u = np.cross(w, a)
    else:
        u, w = frame_for_axis(axis)
    profile1 = profile0 if profile1 is None else profile1
    return loft(np.stack([place_profile(profile0, p0, u, w), place_profile(profile1, p1, u, w)]))


def cylinder(p0, p1, radius: float, segments: int = 16, radius1: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Cylinder (cone frustum if ``radius1`` differs) from ``p0`` to ``p1``."""
    r1 = radius if radius1 is None else radius1
    return bar(p0, p1, circle_profile(radius, segments), circle_profile(r1, segments))


def vertical_stack(profiles: list[np.ndarray], heights: list[float], center_xy=(0.0, 0.0)) -> tuple[np.ndarray, np.ndarray]:
    """Loft of horizontal profiles (each (m, 2)) at heights ``heights`` (metres, non-decreasing)."""
    cx, cy = center_xy
    rings = np.stack([np.c_[p[:, 0] + cx, p[:, 1] + cy, np.full(len(p), z)] for p, z in zip(profiles, heights)])
    return loft(rings)


def rounded_slab(sx: float, sy: float, thickness: float, radius: float, bevel: float, center) -> tuple[np.ndarray, np.ndarray]:
    """Cushion-like slab: rounded-rectangle footprint, edges bevelled by a quarter circle.

    sx, sy : footprint size; thickness : Z size; radius : corner radius; bevel : rounding of
    the top and bottom edges (clipped to a third of the thickness). center : (3,) metres.
    """
    b = float(min(bevel, thickness / 3.0, 0.3 * min(sx, sy)))
    c = np.asarray(center, dtype=np.float64)
    z0 = c[2] - thickness / 2
    profiles, heights = [], []
    angles = np.linspace(0.0, 0.5 * np.pi, 3)
    for a in angles:  # bottom bevel: inset b*(1-sin a)
        inset = b * (1 - np.sin(a))
        profiles.append(rounded_rect_profile(sx - 2 * inset, sy - 2 * inset, max(radius - inset, 1e-3)))
        heights.append(z0 + b * (1 - np.cos(a)))
    for a in angles[::-1]:
        inset = b * (1 - np.sin(a))
        profiles.append(rounded_rect_profile(sx - 2 * inset, sy - 2 * inset, max(radius - inset, 1e-3)))
        heights.append(z0 + thickness - b * (1 - np.cos(a)))
    return vertical_stack(profiles, heights, center_xy=c[:2])


def transform(vertices: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a (4, 4) homogeneous transform to (n, 3) vertices."""
    return vertices @ matrix[:3, :3].T + matrix[:3, 3]


def rotation_x(angle: float, pivot=(0.0, 0.0, 0.0)) -> np.ndarray:
    """(4, 4): rotation by ``angle`` radians about the X axis through ``pivot``."""
    c, s = np.cos(angle), np.sin(angle)
    m = np.eye(4)
    m[1:3, 1:3] = [[c, -s], [s, c]]
    p = np.asarray(pivot, dtype=np.float64)
    m[:3, 3] = p - m[:3, :3] @ p
    return m


def rotation_z(angle: float) -> np.ndarray:
    """(4, 4): rotation by ``angle`` radians about the Z axis through the origin."""
    c, s = np.cos(angle), np.sin(angle)
    m = np.eye(4)
    m[:2, :2] = [[c, -s], [s, c]]
    return m


# --- manifold3d bridge ------------------------------------------------------------------
def to_manifold(vertices: np.ndarray, faces: np.ndarray):
    """A ``manifold3d.Manifold`` from a closed mesh (float32 inside manifold)."""
    import manifold3d

    mesh = manifold3d.Mesh(
        vert_properties=np.ascontiguousarray(vertices, dtype=np.float32),
        tri_verts=np.ascontiguousarray(faces, dtype=np.uint32),
    )
    return manifold3d.Manifold(mesh)


def from_manifold(man) -> tuple[np.ndarray, np.ndarray]:
    """``(vertices float64, faces int64)`` of a ``manifold3d.Manifold``; raises if empty."""
    mesh = man.to_mesh()
    v = np.asarray(mesh.vert_properties, dtype=np.float64)[:, :3]
    f = np.asarray(mesh.tri_verts, dtype=np.int64)
    if len(f) == 0:
        raise ValueError("manifold operation produced an empty mesh")
    return v, f


def lathe(profile_rz: np.ndarray, segments: int = 24, center=(0.0, 0.0, 0.0)) -> tuple[np.ndarray, np.ndarray]:
    """Solid of revolution about the Z axis with a hole along it (a ring: tube, collar, washer).

    profile_rz : (k, 2) float64, a closed polygon in the (radius, z) half-plane with
        every radius > 0 (it must not touch the axis; use :func:`vertical_stack` for that).
    Returns a torus-topology closed mesh: ``(k*segments, 3)`` vertices, ``2*k*segments`` faces.
    """
    prof = np.asarray(profile_rz, dtype=np.float64)
    k = len(prof)
    t = np.linspace(0.0, 2.0 * np.pi, segments, endpoint=False)
    c, s = np.cos(t), np.sin(t)
    v = np.empty((k, segments, 3))
    v[..., 0] = prof[:, :1] * c
    v[..., 1] = prof[:, :1] * s
    v[..., 2] = prof[:, 1:2]
    v = v.reshape(-1, 3) + np.asarray(center, dtype=np.float64)
    i = np.arange(k)[:, None]
    j = np.arange(segments)[None, :]
    a = i * segments + j
    b = i * segments + (j + 1) % segments
    cc = ((i + 1) % k) * segments + (j + 1) % segments
    d = ((i + 1) % k) * segments + j
    f = np.concatenate([np.stack([a, b, cc], -1).reshape(-1, 3), np.stack([a, cc, d], -1).reshape(-1, 3)]).astype(np.int64)
    if signed_volume(v, f) < 0:
        f = f[:, ::-1].copy()
    return v, f


def tube(z0: float, z1: float, r_out: float, r_in: float, segments: int = 24, center_xy=(0.0, 0.0)) -> tuple[np.ndarray, np.ndarray]:
    """Hollow cylinder along Z from ``z0`` to ``z1``, radii ``r_in < r_out`` (metres)."""
    prof = [(r_in, z0), (r_out, z0), (r_out, z1), (r_in, z1)]
    return lathe(np.array(prof), segments, (center_xy[0], center_xy[1], 0.0))


def hex12_profile(across_flats: float) -> np.ndarray:
    """(12, 2): a hexagon (corners + edge midpoints) whose point k lies at angle 30 deg * k.

    Its points match :func:`circle_profile` (12 segments) index by index, so a hex head
    and a round shank loft into one bolt.
    """
    r_mid = across_flats / 2.0
    r_corner = r_mid / np.cos(np.pi / 6)
    t = np.arange(12) * np.pi / 6
    r = np.where(np.arange(12) % 2 == 0, r_corner, r_mid)
    return np.stack([r * np.cos(t), r * np.sin(t)], 1)
