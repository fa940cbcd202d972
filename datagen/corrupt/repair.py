"""Make a part mesh watertight (closed, consistently oriented 2-manifold) for booleans.

Steps, first success wins (each step is deterministic, so replaying a record repairs the
same way):

1. ``none``: merge duplicate vertices, drop degenerate and duplicate faces, fix winding.
2. ``trimesh``: step 1 + ``trimesh.repair.fill_holes``.
3. ``pymeshlab``: remove duplicates, repair non-manifold edges/vertices, close holes,
   re-orient (pymeshlab is imported here, lazily: importing it before bpy breaks bpy).
4. ``convex_hull``: only for a small part (bbox diagonal <= ``hull_max_fraction`` of the
   shape diagonal), where the hull changes little that a viewer would see.

A mesh counts as repaired when trimesh calls it a watertight volume *and* manifold3d
accepts it (``Manifold.status() == NoError``) with a positive volume.
"""

from __future__ import annotations

import numpy as np
import trimesh

from datagen.errors import Refused

METHODS = ("none", "trimesh", "pymeshlab", "convex_hull")


def to_manifold(mesh: trimesh.Trimesh):
    """A ``manifold3d.Manifold`` of ``mesh`` (float64), or None if manifold3d rejects it."""
    import manifold3d

    if len(mesh.faces) == 0:
        return None
    m = manifold3d.Manifold(
        manifold3d.Mesh64(
            vert_properties=np.ascontiguousarray(mesh.vertices, dtype=np.float64),
            tri_verts=np.ascontiguousarray(mesh.faces, dtype=np.uint64),
        )
    )
    if m.status() != manifold3d.Error.NoError or m.is_empty() or m.volume() <= 0:
        return None
    return m


def from_manifold(m) -> trimesh.Trimesh:
    """(vertices (n, 3) float64, faces (k, 3) int64) of a Manifold, as an unprocessed Trimesh."""
    out = m.to_mesh64()
    v = np.asarray(out.vert_properties, dtype=np.float64)[:, :3]
    f = np.asarray(out.tri_verts, dtype=np.int64)
    return trimesh.Trimesh(v, f, process=False)


def _is_volume(mesh: trimesh.Trimesh) -> bool:
    return len(mesh.faces) > 0 and mesh.is_watertight and mesh.is_winding_consistent and mesh.volume > 0


def _clean(vertices, faces) -> trimesh.Trimesh:
    m = trimesh.Trimesh(np.array(vertices, dtype=np.float64), np.array(faces, dtype=np.int64), process=True)
    m.update_faces(m.nondegenerate_faces())
    m.update_faces(m.unique_faces())
    m.remove_unreferenced_vertices()
    m.merge_vertices()
    trimesh.repair.fix_winding(m)
    trimesh.repair.fix_inversion(m)
    return m


def _accept(mesh: trimesh.Trimesh):
    with np.errstate(invalid="ignore", divide="ignore"):  # zero-volume shells
        if not _is_volume(mesh):
            return None
    return to_manifold(mesh)


def _pymeshlab(mesh: trimesh.Trimesh) -> trimesh.Trimesh | None:
    try:
        import pymeshlab  # lazy: must never be imported before bpy in one process
    except ImportError:  # pragma: no cover - a declared dependency
        return None
    ms = pymeshlab.MeshSet()
    ms.add_mesh(pymeshlab.Mesh(vertex_matrix=np.asarray(mesh.vertices, dtype=np.float64),
                               face_matrix=np.asarray(mesh.faces, dtype=np.int32)))
    steps = [
        ("meshing_remove_duplicate_vertices", {}),
        ("meshing_remove_duplicate_faces", {}),
        ("meshing_remove_null_faces", {}),
        ("meshing_repair_non_manifold_edges", {}),
        ("meshing_repair_non_manifold_vertices", {}),
        ("meshing_remove_unreferenced_vertices", {}),
        ("meshing_close_holes", {"maxholesize": 100000}),
        ("meshing_re_orient_faces_coherently", {}),
    ]
    for name, kwargs in steps:
        fn = getattr(ms, name, None)
        if fn is None:
            continue
        try:
            fn(**kwargs)
        except Exception:  # noqa: BLE001 - pymeshlab raises its own types; try the next step
            continue
    cur = ms.current_mesh()
    if cur.face_number() == 0:
        return None
    return _clean(cur.vertex_matrix(), cur.face_matrix())


def _try(method: str, mesh: trimesh.Trimesh, part_fraction: float, hull_max_fraction: float):
    if method == "none":
        return _accept(mesh)
    if method == "trimesh":
        filled = mesh.copy()
        trimesh.repair.fill_holes(filled)
        trimesh.repair.fix_winding(filled)
        trimesh.repair.fix_inversion(filled)
        return _accept(filled)
    if method == "pymeshlab":
        fixed = _pymeshlab(mesh)
        return None if fixed is None else _accept(fixed)
    if method == "convex_hull":
        if part_fraction > hull_max_fraction or len(mesh.vertices) < 4:
            return None
        try:
            hull = mesh.convex_hull
        except Exception:  # noqa: BLE001 - qhull fails on flat input
            return None
        return _accept(hull)
    raise ValueError(f"repair method {method!r}: expected one of {', '.join(METHODS)}")


def make_watertight(
    vertices: np.ndarray,
    faces: np.ndarray,
    name: str = "part",
    part_fraction: float = 0.0,
    hull_max_fraction: float = 0.1,
    method: str | None = None,
):
    """Return ``(manifold3d.Manifold, method)`` for a part mesh; ``method`` in ``METHODS``.

    vertices : (n, 3) float64, metres. faces : (k, 3) int64.
    part_fraction : the part's bbox diagonal over the shape's (decides whether the convex
        hull is an acceptable last resort: ``part_fraction <= hull_max_fraction``).
    method : None tries the methods in order; a name runs only that one (replay).
    Raises ``Refused("part X not watertight and could not be repaired")``.
    """
    with np.errstate(invalid="ignore", divide="ignore"):  # zero-volume shells warn in trimesh
        mesh = _clean(vertices, faces)
        for meth in METHODS if method is None else (method,):
            m = _try(meth, mesh, part_fraction, hull_max_fraction)
            if m is not None:
                return m, meth
    raise Refused(f"part {name} not watertight and could not be repaired")
