"""Load any mesh file into a ``Shape``: one part per OBJ group, GLB/GLTF node or component.

- OBJ (``.obj``): one part per ``g``/``o`` group (faces before the first group go to a
  part labelled ``default``); a file without groups is split into connected components.
- GLB/GLTF (``.glb``, ``.gltf``): one part per scene node that holds a triangle mesh, with
  the node's world transform applied; label = node name.
- PLY/STL/OFF (``.ply``, ``.stl``, ``.off``): one part per connected component (faces that
  share a vertex, after welding coincident vertices), labelled ``part_<k>``, largest first.

Labels are sanitized group/node names (characters outside ``[A-Za-z0-9_.-]`` become ``_``);
part names are ``<label>_<k>``, unique in the shape. Each part is cleaned
(``datagen.shapes.clean``: weld, degenerate/duplicate/two-sided faces, consistent winding,
closed parts outward; ``clean=False`` skips it), then the shape is normalized with
``normalize(shape, up=...)``: Z up, bbox centre at the origin, bbox diagonal 1.

The small mesh helpers here (``sanitize``, ``weld``, ``face_components``, ``submesh``,
``concat_meshes``) are shared by the PartNet and ABC loaders.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from datagen.errors import InputError
from datagen.shapes.model import Part, Shape
from datagen.shapes.normalize import normalize
from datagen.shapes.objio import read_obj

MESH_SUFFIXES = (".obj", ".glb", ".gltf", ".ply", ".stl", ".off")
# Default up axis per format when ``up="auto"``: glTF is Y up by specification, OBJ
# exports mostly Y up; STL/PLY/OFF come mostly from CAD or scanners, Z up.
AUTO_UP = {".obj": "y", ".glb": "y", ".gltf": "y", ".ply": "z", ".stl": "z", ".off": "z"}

_BAD_CHARS = re.compile(r"[^A-Za-z0-9_.\-]+")


# --- helpers shared by the loaders ----------------------------------------------------
def sanitize(name: str, fallback: str = "part") -> str:
    """A label/name made of ``[A-Za-z0-9_.-]`` only (other runs become ``_``), never empty."""
    s = _BAD_CHARS.sub("_", str(name).strip()).strip("_")
    return s or fallback


def unique_names(labels: list[str]) -> list[str]:
    """Part names ``<label>_<k>``, k counting from 0 per label, in order."""
    counts: dict[str, int] = {}
    names = []
    for label in labels:
        base = sanitize(label)
        k = counts.get(base, 0)
        counts[base] = k + 1
        names.append(f"{base}_{k}")
    return names


def weld(vertices: np.ndarray, tol: float | None = None) -> np.ndarray:
    """Ids that merge coincident vertices.

    vertices : (n, 3) float64.
    tol : float, same units as ``vertices``; default 1e-7 of the bbox diagonal.
    Returns (n,) int64: equal ids for vertices within ``tol`` (grid snapping, so two
    points closer than ``tol`` across a cell border may stay apart; fine for welding
    exact duplicates from STL or patch-split meshes).
    """
    v = np.asarray(vertices, dtype=np.float64)
    if len(v) == 0:
        return np.zeros(0, dtype=np.int64)
    if tol is None:
        diag = float(np.linalg.norm(v.max(0) - v.min(0)))
        tol = max(diag * 1e-7, 1e-12)
    keys = np.round(v / tol).astype(np.int64)
    _, inverse = np.unique(keys, axis=0, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64)


def face_components(vertices: np.ndarray, faces: np.ndarray, welded: bool = True) -> np.ndarray:
    """Connected-component id per face (faces sharing a vertex are connected).

    vertices : (n, 3) float64; faces : (k, 3) int64.
    welded : merge coincident vertices first (STL files and patch-split meshes repeat them).
    Returns (k,) int64 component ids, numbered by decreasing face count (0 = largest),
    ties broken by first face index.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    f = np.asarray(faces, dtype=np.int64)
    if len(f) == 0:
        return np.zeros(0, dtype=np.int64)
    vid = weld(vertices)[f] if welded else f
    nv = int(vid.max()) + 1
    nf = len(f)
    # bipartite graph faces <-> vertices: faces are nodes [0, nf), vertices [nf, nf+nv)
    rows = np.repeat(np.arange(nf), 3)
    cols = nf + vid.reshape(-1)
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(nf + nv, nf + nv))
    _, labels = connected_components(graph, directed=False)
    comp = labels[:nf]
    ids, first, counts = np.unique(comp, return_index=True, return_counts=True)
    order = np.lexsort((first, -counts))  # largest first, then first appearance
    remap = np.empty(int(comp.max()) + 1, dtype=np.int64)
    remap[ids[order]] = np.arange(len(ids))
    return remap[comp]


def submesh(vertices: np.ndarray, faces: np.ndarray, face_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The faces ``face_ids`` with only the vertices they use, re-indexed.

    Returns vertices (m, 3) float64 and faces (len(face_ids), 3) int64.
    """
    f = np.asarray(faces, dtype=np.int64)[np.asarray(face_ids, dtype=np.int64)]
    used, inverse = np.unique(f.reshape(-1), return_inverse=True)
    return np.asarray(vertices, dtype=np.float64)[used], inverse.reshape(-1, 3).astype(np.int64)


def concat_meshes(meshes: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate (vertices, faces) pairs into one mesh (face indices offset)."""
    vs, fs, offset = [], [], 0
    for v, f in meshes:
        vs.append(np.asarray(v, dtype=np.float64).reshape(-1, 3))
        fs.append(np.asarray(f, dtype=np.int64).reshape(-1, 3) + offset)
        offset += len(vs[-1])
    if not vs:
        return np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64)
    return np.concatenate(vs), np.concatenate(fs)


def check_face_limit(path, n_faces: int, max_faces: int | None) -> None:
    """Raise ``InputError`` when ``n_faces`` exceeds ``max_faces`` (None = no limit)."""
    if max_faces is not None and n_faces > max_faces:
        raise InputError(path, f"mesh too large: {n_faces} faces > limit {max_faces} (max_faces)")


# --- the loader ---------------------------------------------------------------------
def load_meshfile(
    path: str | os.PathLike,
    category: str = "object",
    up: str = "auto",
    max_faces: int | None = None,
    shape_id: str | None = None,
    max_parts: int = 64,
    clean: bool = True,
) -> Shape:
    """Load one mesh file as a normalized ``Shape`` (source ``meshfile``).

    path : an ``.obj``, ``.glb``, ``.gltf``, ``.ply``, ``.stl`` or ``.off`` file.
    category : str, the shape's category.
    up : "x" | "y" | "z" | "auto", the file's up axis; ``auto`` = Y for OBJ/GLB/GLTF, Z for
        PLY/STL/OFF.
    max_faces : int or None, refuse meshes with more faces in total.
    shape_id : str or None, default the sanitized file stem.
    max_parts : int, components beyond the ``max_parts - 1`` largest are merged into one
        part labelled ``part_rest`` (scans can have thousands of specks). Groups and nodes
        are never merged.
    clean : clean each part (``datagen.shapes.clean.clean_shape``) before normalizing.
    Returns a Shape: vertices (n, 3) float64, unit bbox diagonal, Z up, bbox centre at origin.
    Raises ``InputError`` (naming the file) for a missing, unreadable, unknown-type, empty
    or too-large file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in MESH_SUFFIXES:
        raise InputError(path, f"unknown mesh file type {path.suffix or '(none)'!r}; use one of {', '.join(MESH_SUFFIXES)}")
    if not path.is_file():
        raise InputError(path, "file not found")
    if up == "auto":
        up = AUTO_UP[suffix]
    if up not in ("x", "y", "z"):
        raise InputError(path, f"up axis must be x, y, z or auto, got {up!r}")
    if suffix == ".obj":
        pieces = _obj_pieces(path, max_faces, max_parts)
    elif suffix in (".glb", ".gltf"):
        pieces = _scene_pieces(path, max_faces)
    else:
        v, f = _load_single_mesh(path, max_faces)
        pieces = _component_pieces(v, f, max_parts)
    pieces = [(label, v, f) for label, v, f in pieces if len(f)]
    if not pieces:
        raise InputError(path, "no triangles in file (empty mesh)")
    check_face_limit(path, sum(len(f) for _, _, f in pieces), max_faces)
    labels = [sanitize(label) for label, _, _ in pieces]
    names = unique_names(labels)
    try:
        parts = tuple(Part(n, lab, v, f) for n, lab, (_, v, f) in zip(names, labels, pieces))
        sid = sanitize(shape_id if shape_id is not None else path.stem, fallback="shape")
        shape = Shape(sid, category, parts, source="meshfile", meta={"file": str(path), "up": up})
        if clean:
            from datagen.shapes.clean import clean_shape

            shape = clean_shape(shape)
        return normalize(shape, up=up)
    except ValueError as e:
        raise InputError(path, str(e)) from None


def _obj_pieces(path: Path, max_faces, max_parts):
    data = read_obj(path, max_faces=max_faces)
    groups = np.array(data.groups, dtype=object)
    if len(data.faces) == 0:
        raise InputError(path, "no faces in OBJ (empty mesh)")
    if all(g == "" for g in data.groups):
        return _component_pieces(data.vertices, data.faces, max_parts)
    pieces = []
    for g in dict.fromkeys(data.groups):  # first-appearance order
        ids = np.flatnonzero(groups == g)
        v, f = submesh(data.vertices, data.faces, ids)
        pieces.append((g or "default", v, f))
    return pieces


def _load_single_mesh(path: Path, max_faces):
    import trimesh

    try:
        mesh = trimesh.load(str(path), force="mesh", process=False)
    except Exception as e:  # noqa: BLE001 - any parser failure is a bad file
        raise InputError(path, f"cannot read mesh: {type(e).__name__}: {e}") from None
    faces = getattr(mesh, "faces", None)
    if faces is None or len(faces) == 0:
        raise InputError(path, "no triangles in file (empty mesh or point cloud)")
    check_face_limit(path, len(faces), max_faces)
    return np.asarray(mesh.vertices, dtype=np.float64), np.asarray(faces, dtype=np.int64)


def _component_pieces(vertices, faces, max_parts):
    comp = face_components(vertices, faces)
    n = int(comp.max()) + 1 if len(comp) else 0
    pieces = []
    keep = n if n <= max_parts else max(max_parts - 1, 1)
    for k in range(min(n, keep)):
        v, f = submesh(vertices, faces, np.flatnonzero(comp == k))
        pieces.append((f"part_{k}", v, f))
    if n > keep:
        v, f = submesh(vertices, faces, np.flatnonzero(comp >= keep))
        pieces.append(("part_rest", v, f))
    return pieces


def _scene_pieces(path: Path, max_faces):
    import trimesh

    try:
        scene = trimesh.load(str(path), force="scene", process=False)
    except Exception as e:  # noqa: BLE001
        raise InputError(path, f"cannot read scene: {type(e).__name__}: {e}") from None
    pieces = []
    total = 0
    for node in sorted(scene.graph.nodes_geometry):
        transform, geom_name = scene.graph[node]
        geom = scene.geometry.get(geom_name)
        if not isinstance(geom, trimesh.Trimesh) or len(geom.faces) == 0:
            continue  # points, paths, empty meshes carry no surface
        total += len(geom.faces)
        check_face_limit(path, total, max_faces)
        m = np.asarray(transform, dtype=np.float64)
        v = np.asarray(geom.vertices, dtype=np.float64) @ m[:3, :3].T + m[:3, 3]
        f = np.asarray(geom.faces, dtype=np.int64)
        if np.linalg.det(m[:3, :3]) < 0:  # mirrored node: keep outward winding
            f = f[:, ::-1]
        pieces.append((node, v, f))
    return pieces
