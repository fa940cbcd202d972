"""Mesh refinement and the check the deformation corruptions (bend, twist, dent) share.

- ``subdivide``: split long edges (optionally only near a point) at shared midpoints.
- ``slice_planes`` / ``slice_refine``: cut faces by families of parallel planes, both sides kept.
- ``subdivision_edge``: the refinement size under a face budget.
- ``draw_axial``: the frame, angle and fixed section that bend and twist draw.
- ``measure_deformation``, ``count_folds``: displacement, folds, watertightness, Chamfer.

All refinements are conforming (no T-junctions): a watertight part stays watertight, and
the input vertices come first, in order. Deterministic; results are cached (pure functions
that ``sample``, ``apply`` and ``measure`` each ask for).
Data forms: vertices ``(n, 3) float64`` metres (shape frame, Z up), faces ``(k, 3) int64``.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

from datagen.corrupt.base import final_refusal, measure_chamfer, require
from datagen.corrupt.geometry import diagonal, part_frame
from datagen.errors import Refused
from datagen.shapes.model import Part

#: ``slice_planes``: a vertex closer than this share of the spacing to a plane is taken as on it.
SNAP = 0.05
#: ``count_folds`` ignores slivers: faces of quality (4 sqrt(3) area / sum of squared edges) below this.
SLIVER = 0.02
#: Most rounds of edge splitting ``subdivide`` runs (each halves the long edges).
MAX_ROUNDS = 24


def subdivide(vertices: np.ndarray, faces: np.ndarray, max_edge: float, region=None):
    """Split every edge longer than ``max_edge`` (metres) at its midpoint until none is.

    region : ``(center (3,), radius)`` or None: only edges that come within ``radius``
        (metres) of ``center`` are split.
    Returns ``(vertices (m, 3) float64, faces (q, 3) int64)``, the input vertices first, in
    order. The split is conforming (an edge gets one midpoint shared by its two faces; a face
    with 1, 2 or 3 split edges becomes 2, 3 or 4 triangles of the same winding; the quad of
    the 2-split case is cut along its shorter diagonal): a watertight mesh stays watertight.
    Deterministic; cached like ``slice_refine``.
    """
    key = ("subdivide", np.asarray(vertices, dtype=np.float64), np.asarray(faces, dtype=np.int64), float(max_edge),
           None if region is None else (np.asarray(region[0], dtype=np.float64).tolist(), float(region[1])))
    return _cached(key, lambda: _subdivide(vertices, faces, max_edge, region))


def _subdivide(vertices, faces, max_edge: float, region):
    v = np.array(vertices, dtype=np.float64)
    f = np.array(faces, dtype=np.int64).reshape(-1, 3)
    for _ in range(MAX_ROUNDS):
        e = np.sort(f[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
        keys, first, inverse = np.unique(e[:, 0] * len(v) + e[:, 1], return_index=True, return_inverse=True)
        ue = e[first]
        d = v[ue[:, 1]] - v[ue[:, 0]]
        long = np.linalg.norm(d, axis=1) > max_edge
        if region is not None:
            mid = 0.5 * (v[ue[:, 0]] + v[ue[:, 1]])
            reach = float(region[1]) + 0.5 * np.linalg.norm(d, axis=1)
            long &= np.linalg.norm(mid - np.asarray(region[0], dtype=np.float64), axis=1) <= reach
        if not long.any():
            return v, f
        index = np.full(len(ue), -1, dtype=np.int64)
        index[long] = len(v) + np.arange(int(long.sum()))
        v = np.vstack([v, 0.5 * (v[ue[long, 0]] + v[ue[long, 1]])])
        f = _split_faces(v, f, index[inverse].reshape(-1, 3))
    raise Refused(f"subdivision to edge {max_edge:.3g} m did not finish in {MAX_ROUNDS} rounds")


def _split_faces(v: np.ndarray, f: np.ndarray, mids: np.ndarray) -> np.ndarray:
    """Faces after splitting; ``mids[i, j]`` is the new vertex on edge ``j`` (``f[i, j] -> f[i, j+1]``) or -1."""
    split = mids >= 0
    count = split.sum(1)
    out = [f[count == 0]]
    rows = np.flatnonzero(count == 1)
    j = np.argmax(split[rows], axis=1)
    a, b, c, p = f[rows, j], f[rows, (j + 1) % 3], f[rows, (j + 2) % 3], mids[rows, j]
    out += [np.column_stack([a, p, c]), np.column_stack([p, b, c])]
    rows = np.flatnonzero(count == 2)
    j = (np.argmin(split[rows], axis=1) + 1) % 3  # rotate: the unsplit edge is (c, a)
    a, b, c = f[rows, j], f[rows, (j + 1) % 3], f[rows, (j + 2) % 3]
    p, q = mids[rows, j], mids[rows, (j + 1) % 3]
    aq = np.linalg.norm(v[a] - v[q], axis=1) <= np.linalg.norm(v[p] - v[c], axis=1)
    out += [np.column_stack([p, b, q]),
            np.where(aq[:, None], np.column_stack([a, p, q]), np.column_stack([a, p, c])),
            np.where(aq[:, None], np.column_stack([a, q, c]), np.column_stack([p, q, c]))]
    rows = np.flatnonzero(count == 3)
    (a, b, c), (p, q, r) = f[rows].T, mids[rows].T
    out += [np.column_stack([a, p, r]), np.column_stack([p, b, q]), np.column_stack([r, q, c]),
            np.column_stack([p, q, r])]
    return np.concatenate(out).astype(np.int64)


def slice_planes(vertices: np.ndarray, faces: np.ndarray, origin, axis, spacing: float):
    """Cut every face by the planes ``(x - origin) . axis = k * spacing`` (k integer), keeping both sides.

    A vertex within ``SNAP * spacing`` of a plane counts as lying on it (the cut passes
    through it: no sliver next to it). Each edge gets a vertex where it crosses a plane
    (shared by its two faces); each face is cut into the convex pieces between consecutive
    planes, fan-triangulated in the face's winding. Conforming: a watertight mesh stays
    watertight. Returns ``(vertices (m, 3) float64, faces (q, 3) int64)``, the input
    vertices first, in order. Deterministic.
    origin : (3,) metres. axis : (3,) unit. spacing : metres, > 0.
    """
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    u = (v - np.asarray(origin, dtype=np.float64)) @ np.asarray(axis, dtype=np.float64) / float(spacing)
    near = np.abs(u - np.round(u)) < SNAP
    u[near] = np.round(u[near])
    e = np.sort(f[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    _, first, inverse = np.unique(e[:, 0] * len(v) + e[:, 1], return_index=True, return_inverse=True)
    ue = e[first]
    ua, ub = u[ue[:, 0]], u[ue[:, 1]]
    kmin = np.floor(np.minimum(ua, ub)).astype(np.int64) + 1  # the planes strictly inside each edge
    count = np.maximum(np.ceil(np.maximum(ua, ub)).astype(np.int64) - kmin, 0)
    if not count.any():
        return v.copy(), f.copy()
    start = len(v) + np.concatenate([[0], np.cumsum(count)[:-1]])
    edge = np.repeat(np.arange(len(ue)), count)
    k = kmin[edge] + np.arange(len(edge)) - np.repeat(start - len(v), count)
    t = (k - ua[edge]) / (ub[edge] - ua[edge])
    a, b = v[ue[edge, 0]], v[ue[edge, 1]]
    v = np.vstack([v, a + t[:, None] * (b - a)])
    level = np.concatenate([u, k.astype(np.float64)]).tolist()  # plane coordinate of every vertex
    per_face = inverse.reshape(-1, 3)
    crossed = count[per_face].sum(1) > 0
    out = [f[~crossed]]
    tris = []
    for face, eids in zip(f[crossed].tolist(), per_face[crossed].tolist()):
        ring = []
        for j in range(3):
            pts = list(range(start[eids[j]], start[eids[j]] + count[eids[j]]))  # ascending level
            if level[face[j]] > level[face[(j + 1) % 3]]:
                pts.reverse()
            ring.append(face[j])
            ring += pts
        lv = [level[r] for r in ring]
        for band in range(math.floor(min(lv)), math.ceil(max(lv))):
            poly = [r for r, x in zip(ring, lv) if band <= x <= band + 1]
            tris += [(poly[0], poly[m], poly[m + 1]) for m in range(1, len(poly) - 1)]
    out.append(np.array(tris, dtype=np.int64).reshape(-1, 3))
    return v, np.concatenate(out)


def slice_refine(vertices: np.ndarray, faces: np.ndarray, origin, axes, spacings):
    """``slice_planes`` along each of ``axes`` (unit (3,) vectors) with its spacing (metres), in turn.

    The result is cached (a pure function; ``sample``, ``apply`` and ``measure`` ask for the same one).
    """
    def run():
        v, f = vertices, faces
        for axis, spacing in zip(axes, spacings):
            v, f = slice_planes(v, f, origin, axis, spacing)
        return v, f

    return _cached(("slice", vertices, faces, origin, axes, spacings), run)


_CACHE: dict = {}
_CACHE_SIZE = 4


def _cached(key: tuple, run):
    """``run()`` memoized on ``key`` (arrays by content); results are read-only arrays."""
    h = hashlib.sha1()
    for k in key:
        h.update(np.ascontiguousarray(k).tobytes() if isinstance(k, np.ndarray) else repr(k).encode())
    digest = h.hexdigest()
    if digest not in _CACHE:
        out = tuple(np.array(a) for a in run())
        for a in out:
            a.setflags(write=False)
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[digest] = out
    return _CACHE[digest]


def subdivision_edge(part: Part, fraction: float, max_faces: int, refine) -> float:
    """The edge length (metres) to subdivide ``part`` to: ``fraction`` of its bbox diagonal,
    grown by 1.5x until ``refine(vertices, faces, edge) -> (vertices, faces)`` gives at most
    ``max_faces`` faces (or splits nothing)."""
    size = max(fraction * diagonal(part.bounds), 1e-9)
    for _ in range(64):
        _, f = refine(part.vertices, part.faces, size)
        if len(f) <= max_faces or len(f) == len(part.faces):
            return float(size)
        size *= 1.5
    raise Refused(f"part {part.name}: no subdivision under {max_faces} faces")


def draw_axial(vertices: np.ndarray, rng: np.random.Generator, min_deg: float, max_deg: float, end_prob: float,
               kind: str) -> dict:
    """The draws bend and twist share, about the part's longest box axis (``geometry.part_frame``).

    Returns ``center`` (3 floats, metres: the box centre), ``axes`` (3x3, unit rows, longest
    first), ``u_range`` (the part's extent along ``axes[0]`` about ``center``, metres),
    ``angle_deg`` (magnitude uniform in ``[min_deg, max_deg]``, random sign) and ``u0`` (the
    section kept in place: one end with probability ``end_prob``, else uniform in ``u_range``).
    """
    center, axes, _ = part_frame(vertices)
    u = (np.asarray(vertices) - center) @ axes[0]
    lo, hi = float(u.min()), float(u.max())
    if hi - lo <= 1e-9:
        raise final_refusal(f"{kind}: the part has no length")
    angle = float(rng.uniform(min_deg, max_deg)) * (1.0 if rng.random() < 0.5 else -1.0)
    u0 = (lo, hi)[int(rng.integers(2))] if rng.random() < end_prob else float(rng.uniform(lo, hi))
    return {"center": center.tolist(), "axes": axes.tolist(), "u_range": [lo, hi], "u0": u0, "angle_deg": angle}


def measure_deformation(before: Part, after: Part, record, thresholds, diag: float, kind: str, refine) -> dict:
    """The check of a vertex-moving deformation; ``thresholds`` has ``min_displacement``,
    ``min_chamfer`` and ``chamfer_points``; refusals name ``<kind>.<field>``.

    ``refine(vertices, faces, sampled) -> (vertices, faces)`` subdivides the part before as
    ``apply`` did, to pair its vertices with the deformed ones. Refuses: a mesh that does not
    match, a fold (two faces sharing an edge whose normals' dot product drops by more than 1:
    a cheap sign of a self-intersection), a watertight part that is no longer watertight,
    then too small a largest displacement (share of the shape diagonal) or Chamfer distance.
    """
    v0, f0 = refine(before.vertices, before.faces, record.params)
    if v0.shape != after.vertices.shape or not np.array_equal(f0, after.faces):
        raise Refused(f"{kind}: part {record.part}: deformed mesh does not match its subdivision")
    folds = count_folds(v0, after.vertices, f0)
    if folds:
        raise Refused(f"{kind}: part {record.part}: {folds} edges folded over")
    if before.mesh().is_watertight and not after.mesh().is_watertight:
        raise Refused(f"{kind}: part {record.part} is no longer watertight")
    disp = float(np.linalg.norm(after.vertices - v0, axis=1).max())
    m = {"max_displacement": disp, "max_displacement_rel": disp / diag, "faces_after": len(f0)}
    require(m["max_displacement_rel"], thresholds.min_displacement, f"{kind}.min_displacement",
            f"{kind}: largest vertex displacement (share of the shape diagonal)")
    m.update(measure_chamfer(before, after, record, thresholds.chamfer_points, diag))
    require(m["chamfer_rel"], thresholds.min_chamfer, f"{kind}.min_chamfer",
            f"{kind}: Chamfer distance (share of the shape diagonal)")
    return m


def count_folds(v0: np.ndarray, v1: np.ndarray, faces: np.ndarray) -> int:
    """Edges shared by two faces whose normals' dot product drops by more than 1 from
    ``v0`` to ``v1`` (same faces): a smooth deformation turns neighbours alike. Slivers
    (quality below ``SLIVER``) are left out: a smooth map may flip a sliver in place, a
    sub-pixel artefact."""
    e = np.sort(faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    order = np.lexsort((e[:, 1], e[:, 0]))
    es = e[order]
    same = np.flatnonzero((es[1:] == es[:-1]).all(1))
    fa, fb = order[same] // 3, order[same + 1] // 3
    n0, n1 = _normals(v0, faces), _normals(v1, faces)
    drop = (n0[fa] * n0[fb]).sum(1) - (n1[fa] * n1[fb]).sum(1)
    ok = np.minimum(_quality(v0, faces), _quality(v1, faces)) >= SLIVER
    return int((drop[ok[fa] & ok[fb]] > 1.0).sum())


def _quality(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    """(k,) float64: ``4 sqrt(3) area / sum of squared edges``: 1 equilateral, 0 degenerate."""
    t = v[f]
    area2 = np.linalg.norm(np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]), axis=1)
    sq = ((t - np.roll(t, 1, axis=1)) ** 2).sum(2).sum(1)
    return np.divide(2.0 * np.sqrt(3.0) * area2, sq, out=np.zeros_like(sq), where=sq > 0)


def _normals(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    t = v[f]
    n = np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0])
    ln = np.linalg.norm(n, axis=1, keepdims=True)
    return np.divide(n, ln, out=np.zeros_like(n), where=ln > 1e-300)


