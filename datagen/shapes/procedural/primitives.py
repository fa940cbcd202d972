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


# --- solids of revolution, sweeps, ellipsoids (used by the toy categories) ----------------
def revolve(profile_rz, segments: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Solid of revolution about the Z axis whose profile starts and ends on the axis.

    profile_rz : (k, 2) float64, metres, k >= 3: a polyline in the (radius, z) half-plane
        from a point on the axis (radius 0) through points with radius > 0 back to another
        point on the axis. With the axis segment it must bound a simple polygon (no
        self-crossing); concave profiles (a mug's cavity, a lamp shade's dome) are fine.
    Returns a closed genus-0 mesh: ``(segments*(k-2) + 2, 3)`` vertices (the two end points
    become poles), ``2*segments*(k-2)`` faces, outward oriented.
    """
    prof = np.asarray(profile_rz, dtype=np.float64)
    if len(prof) < 3 or abs(prof[0, 0]) > 1e-12 or abs(prof[-1, 0]) > 1e-12:
        raise ValueError("revolve: the profile must start and end on the axis (radius 0)")
    inner = prof[1:-1]
    if np.any(inner[:, 0] <= 0):
        raise ValueError("revolve: interior profile points need radius > 0")
    k = len(inner)
    t = np.linspace(0.0, 2.0 * np.pi, segments, endpoint=False)
    rings = np.empty((k, segments, 3))
    rings[..., 0] = inner[:, :1] * np.cos(t)
    rings[..., 1] = inner[:, :1] * np.sin(t)
    rings[..., 2] = inner[:, 1:2]
    v = np.concatenate([rings.reshape(-1, 3), [[0.0, 0.0, prof[0, 1]], [0.0, 0.0, prof[-1, 1]]]])
    f = _side_faces(k, segments)
    return v, (f if signed_volume(v, f) > 0 else f[:, ::-1]).copy()


def axis_matrix(axis, origin=(0.0, 0.0, 0.0)) -> np.ndarray:
    """(4, 4) proper rotation taking +Z to the unit ``axis`` (3,), then a translation to ``origin``."""
    a = np.asarray(axis, dtype=np.float64)
    a = a / np.linalg.norm(a)
    u, w = frame_for_axis(a)
    m = np.eye(4)
    m[:3, :3] = np.stack([u, w, a], axis=1)
    m[:3, 3] = np.asarray(origin, dtype=np.float64)
    return m


def revolve_along(profile_rz, origin, axis, segments: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """:func:`revolve` with its Z axis mapped onto ``axis`` (3,) through ``origin`` (3,), metres."""
    v, f = revolve(profile_rz, segments)
    return transform(v, axis_matrix(axis, origin)), f


def ellipsoid(center, radii, segments: int = 24, rings: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Axis-aligned ellipsoid: ``center`` (3,) and semi-axes ``radii`` (3,), metres.

    ``segments`` around Z, ``rings`` - 1 latitude rings: ``2*segments*(rings-1)`` faces.
    """
    a = np.linspace(0.0, np.pi, rings + 1)
    v, f = revolve(np.stack([np.sin(a), -np.cos(a)], 1), segments)
    v[:, 0] = np.where(np.abs(v[:, 0]) < 1e-15, 0.0, v[:, 0])
    return v * np.asarray(radii, dtype=np.float64) + np.asarray(center, dtype=np.float64), f


def sweep(path, profile: np.ndarray, scales=None, up=None) -> tuple[np.ndarray, np.ndarray]:
    """Closed tube along a polyline: ``profile`` (m, 2) carried by rotation-minimizing frames.

    path : (n, 3) float64, metres, n >= 2 distinct points; keep the bend radius above the
        profile's size so consecutive rings do not cross. profile : (m, 2) star-shaped
        cross-section. scales : optional (n,) or (n, 2) per-point scale of the profile
        (tapering). up : optional (3,) direction for the profile's second axis at the start.
    Returns a loft of n rings with flat end caps (see :func:`loft`).
    """
    pts = np.asarray(path, dtype=np.float64)
    n = len(pts)
    tang = np.gradient(pts, axis=0)
    tang /= np.linalg.norm(tang, axis=1, keepdims=True)
    if up is None:
        u, w = frame_for_axis(tang[0])
    else:
        w = np.asarray(up, dtype=np.float64) - tang[0] * np.dot(up, tang[0])
        w /= np.linalg.norm(w)
        u = np.cross(w, tang[0])
    sc = np.ones((n, 2)) if scales is None else np.broadcast_to(np.asarray(scales, dtype=np.float64).reshape(n, -1), (n, 2))
    prof = np.asarray(profile, dtype=np.float64)
    out = []
    for i in range(n):
        if i:
            u = u - tang[i] * np.dot(u, tang[i])
            u /= np.linalg.norm(u)
            w = np.cross(tang[i], u)
        out.append(place_profile(prof * sc[i], pts[i], u, w))
    return loft(np.stack(out))


def _manifold64(vertices: np.ndarray, faces: np.ndarray):
    import manifold3d

    mesh = manifold3d.Mesh64(  # fresh writable copies: the binding rejects read-only arrays
        vert_properties=np.array(vertices, dtype=np.float64, order="C"),
        tri_verts=np.array(faces, dtype=np.uint64, order="C"),
    )
    return manifold3d.Manifold(mesh)


def _mesh64(man) -> tuple[np.ndarray, np.ndarray]:
    # float64 out: rounding manifold3d's result to float32 can fold slivers into
    # zero-area or crossing triangles.
    mesh = man.to_mesh64()
    v = np.array(np.asarray(mesh.vert_properties)[:, :3], dtype=np.float64, order="C")
    f = np.array(mesh.tri_verts, dtype=np.int64, order="C")
    if len(f) == 0:
        raise ValueError("manifold operation produced an empty mesh")
    return v, f


def min_bend_radius(path) -> float:
    """Smallest circumradius (metres) of consecutive point triples of a (k, 3) polyline:
    a :func:`sweep` profile smaller than this does not fold over itself."""
    pts = np.asarray(path, dtype=np.float64)
    a, b, c = pts[:-2], pts[1:-1], pts[2:]
    ab, bc, ca = (np.linalg.norm(x, axis=1) for x in (b - a, c - b, a - c))
    area2 = np.linalg.norm(np.cross(b - a, c - a), axis=1)
    return float(np.min(ab * bc * ca / np.maximum(2 * area2, 1e-300))) if len(a) else float("inf")


def union(meshes: list) -> tuple[np.ndarray, np.ndarray]:
    """Boolean union (manifold3d, float64) of closed meshes ``[(vertices, faces), ...]``."""
    import manifold3d

    return _mesh64(manifold3d.Manifold.batch_boolean([_manifold64(*m) for m in meshes], manifold3d.OpType.Add))


def difference(solid: tuple, cutters: list) -> tuple[np.ndarray, np.ndarray]:
    """``solid`` minus the union of ``cutters`` (closed meshes), via manifold3d (float64)."""
    if not cutters:
        return solid
    body = _manifold64(*solid)
    for c in cutters:
        body = body - _manifold64(*c)
    return _mesh64(body)


def extrude_polygon(polygon, y0: float, y1: float) -> tuple[np.ndarray, np.ndarray]:
    """Prism of a simple polygon drawn in the XZ plane, from ``y = y0`` to ``y = y1`` (metres).

    polygon : (m, 2) float64, (x, z) points, any simple polygon (concave allowed, either
    orientation); triangulated by manifold3d, so no star-shape restriction.
    """
    import manifold3d

    poly = np.asarray(polygon, dtype=np.float64)
    area = 0.5 * np.sum(poly[:, 0] * np.roll(poly[:, 1], -1) - np.roll(poly[:, 0], -1) * poly[:, 1])
    if area < 0:
        poly = poly[::-1]
    man = manifold3d.Manifold.extrude(manifold3d.CrossSection([poly]), float(y1 - y0))
    v, f = _mesh64(man)  # polygon (x, z) in its XY plane, extruded along +Z
    m = np.array([[1.0, 0, 0, 0], [0, 0, -1, 0], [0, 1, 0, 0], [0, 0, 0, 1]])  # (x, y, z) -> (x, -z, y)
    v = transform(v, m)
    v[:, 1] += y1
    return v, f
