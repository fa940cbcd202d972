"""Load ABC CAD models (one folder per model, ``<8-digit id>/``) into ``Shape``.

Files: ``<id>_<hash>_trimesh_<variant>.obj`` (triangles, raw CAD units, Z up) and,
optionally, ``<id>_<hash>_features_<variant>.yml`` whose ``surfaces`` list the B-rep
patches (``type`` and 0-based ``face_indices`` into the OBJ). ABC ships meshes and
features in separate archives; pass ``features_root`` when the yml lives in
``<features_root>/<id>/`` rather than beside the OBJ.

A folder from the ``stl`` chunks holds only an STL of the model (``<id>_<hash>_*.stl``,
binary or ASCII, one triangle per record, vertices repeated): it is read instead of the OBJ
(vertices welded) and split into components; the features yml is not used with an STL (its
face indices refer to the OBJ), so labels follow the geometry rule (3. below) and
``meta['abc']['mesh']`` says ``stl``. A folder with ABC files but no mesh (only STEP, yml)
is listed and fails with a message saying so: never skipped in silence.

Parts (``parts=``):

- ``"components"`` (default): one part per connected group of faces (faces sharing a
  vertex after welding coincident vertices), i.e. one per solid body; with a features yml
  this is one part per connected group of patches.
- ``"patches"``: one part per surface patch (needs the yml; without it, components).
  Faces that no patch claims form extra patches of type ``Other`` (per component).

Reduction to a manageable number of parts, smallest first: a part is *tiny* when it has
fewer than ``min_faces`` faces or less than ``min_area_frac`` of the total area. A tiny
part, or any part while there are more than ``max_parts``, is merged into the adjacent
part it shares the most vertices with (patches mode), or dropped when it touches no other
part (components are never adjacent, so extra components are dropped, smallest first).
``meta['abc']`` records what was merged and dropped.

Labels (mechanical), the rule:

1. each patch gets a kind from its surface type: Plane -> ``plate``; Cylinder -> ``shaft``
   when convex, ``hole`` when concave (area-weighted sign of face normal . (face centre -
   patch centre)); Cone -> ``taper``; Sphere -> ``dome``; Torus -> ``fillet``;
   Revolution -> ``turned``; Extrusion -> ``profile``; BSpline/Other -> ``freeform``.
2. a part takes the kind with the largest area among its patches; ``plate`` becomes
   ``block`` when the part is not thin (smallest PCA extent >= 0.2 x the middle one).
3. without a yml, from geometry alone (PCA extents e1 >= e2 >= e3): ``shaft`` when
   e1 > 3 e2, else ``plate`` when e3 < 0.2 e2, else ``block``.

Geometry is cleaned per part (``datagen.shapes.clean``: weld, degenerate and duplicate
faces, consistent winding, closed bodies outward; ``clean=False`` skips it) and normalized
with ``normalize(shape, up='z')``.
"""

from __future__ import annotations

import heapq
import os
import re
from pathlib import Path

import numpy as np

from datagen.errors import InputError
from datagen.shapes.clean import clean_shape
from datagen.shapes.meshfile import check_face_limit, face_components, sanitize, submesh, unique_names, weld
from datagen.shapes.model import Part, Shape
from datagen.shapes.normalize import normalize
from datagen.shapes.objio import read_obj

PART_MODES = ("components", "patches")
MESH_EXTS = (".obj", ".stl")
# <8-digit id>_<hash>_<type>_<variant>.<ext>: any ABC file marks a model folder
_ABC_NAME = re.compile(r"^\d+_[0-9a-fA-F]+_[A-Za-z0-9]+_\d+\.[A-Za-z0-9]+$")
SURFACE_KINDS = {
    "plane": "plate",
    "cone": "taper",
    "sphere": "dome",
    "torus": "fillet",
    "revolution": "turned",
    "extrusion": "profile",
    "bspline": "freeform",
    "other": "freeform",
}


# --- files -------------------------------------------------------------------------
def _is_model_dir(folder: Path) -> bool:
    """A folder with a mesh (.obj/.stl) or any file named like an ABC file."""
    try:
        return any(p.is_file() and (p.suffix.lower() in MESH_EXTS or _ABC_NAME.match(p.name)) for p in folder.iterdir())
    except OSError:
        return False


def list_abc(root: str | os.PathLike) -> list[Path]:
    """Model folders under ``root`` (sorted): sub-folders holding an ``.obj`` or ``.stl``, or
    any ABC-named file (a folder without a mesh is listed so that loading it says why);
    ``root`` itself when it is such a folder."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(root, "ABC root folder not found")
    if any(p.is_file() and p.suffix.lower() in MESH_EXTS for p in root.iterdir()):
        return [root]
    subs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and _is_model_dir(p))
    return subs if subs or not _is_model_dir(root) else [root]


def _pick_mesh(folder: Path, variant: str | None) -> Path:
    objs = sorted(folder.glob("*_trimesh_*.obj"))
    if variant is not None:
        objs = [p for p in objs if p.stem.endswith(f"_trimesh_{variant}")]
    if objs:
        return objs[0]
    any_obj = sorted(p for p in folder.glob("*") if p.suffix.lower() == ".obj")
    if len(any_obj) == 1 and variant is None:
        return any_obj[0]
    stls = sorted(p for p in folder.glob("*") if p.suffix.lower() == ".stl" and p.is_file())
    if variant is not None:
        stls = [p for p in stls if p.stem.endswith(f"_{variant}")]
    if stls:
        return stls[0]
    what = "" if variant is None else f" of variant {variant}"
    others = sorted(p.suffix.lower() for p in folder.iterdir() if p.is_file())
    has = f" (it holds only {', '.join(dict.fromkeys(others))} files)" if others else " (empty folder)"
    raise InputError(folder, f"no ABC mesh{what} '<id>_<hash>_trimesh_<variant>.obj' or '.stl' found{has}; STEP is not read")


def find_abc_files(
    folder: str | os.PathLike, features_root: str | os.PathLike | None = None, variant: str | None = None
) -> tuple[Path, Path | None]:
    """The mesh file of a model folder and its features yml (or None).

    Picks ``*_trimesh_<variant>.obj`` (the first variant by name when ``variant`` is None;
    any single ``.obj`` when no file follows the ABC naming), else an ``.stl`` (the ABC
    ``stl`` chunks; first by name), then, for an OBJ, the yml with the same ``<id>_<hash>``
    and variant, beside the OBJ or in ``<features_root>/<folder name>/``. An STL gets no
    yml (its triangles are not in the OBJ's order).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "ABC model folder not found")
    obj = _pick_mesh(folder, variant)
    if obj.suffix.lower() == ".stl":
        return obj, None
    prefix, sep, var = obj.stem.rpartition("_trimesh_")
    search = [folder]
    if features_root is not None:
        search += [Path(features_root) / folder.name, Path(features_root)]
    for d in search:
        if not d.is_dir():
            continue
        if sep:
            exact = d / f"{prefix}_features_{var}.yml"
            if exact.is_file():
                return obj, exact
            same_var = sorted(d.glob(f"*_features_{var}.yml"))
            if len(same_var) == 1:
                return obj, same_var[0]
        ymls = sorted(d.glob("*features*.yml")) or sorted(d.glob("*.yml"))
        ymls = [y for y in ymls if "_stat" not in y.name and "_metadata" not in y.name]
        if len(ymls) == 1:
            return obj, ymls[0]
    return obj, None


def read_stl(path: Path, max_faces: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """vertices (n, 3) float64 and faces (k, 3) int64 of an STL (binary or ASCII), as stored
    (three vertices per triangle; ``clean`` welds them). ``InputError`` on a bad file."""
    import trimesh

    try:
        mesh = trimesh.load(str(path), file_type="stl", force="mesh", process=False)
    except Exception as e:  # noqa: BLE001 - any parser failure is a bad file
        raise InputError(path, f"cannot read STL: {type(e).__name__}: {e}") from None
    faces = getattr(mesh, "faces", None)
    if faces is None or len(faces) == 0:
        raise InputError(path, "no triangles in STL (empty mesh)")
    check_face_limit(path, len(faces), max_faces)
    v = np.asarray(mesh.vertices, dtype=np.float64)
    if not np.all(np.isfinite(v)):
        raise InputError(path, "non-finite vertex coordinates")
    return v, np.asarray(faces, dtype=np.int64)


def read_features(path: str | os.PathLike, n_faces: int) -> list[tuple[str, np.ndarray]]:
    """Surface patches of an ABC features yml: [(type, face ids (m,) int64)], file order.

    n_faces : faces in the OBJ, to check indices. Uses ``yaml.CSafeLoader`` when built.
    """
    import yaml

    path = Path(path)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        with open(path, "rb") as fh:
            data = yaml.load(fh, Loader=loader)
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except yaml.YAMLError as e:
        raise InputError(path, f"bad YAML: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    if not isinstance(data, dict) or not isinstance(data.get("surfaces"), list):
        raise InputError(path, "expected a mapping with a 'surfaces' list")
    patches = []
    for i, s in enumerate(data["surfaces"]):
        if not isinstance(s, dict):
            raise InputError(path, f"surface {i}: expected a mapping")
        fi = s.get("face_indices") or []
        try:
            ids = np.asarray(fi, dtype=np.int64).reshape(-1)
        except (TypeError, ValueError):
            raise InputError(path, f"surface {i}: face_indices must be integers") from None
        if len(ids) and (ids.min() < 0 or ids.max() >= n_faces):
            raise InputError(path, f"surface {i}: face index out of range (OBJ has {n_faces} faces)")
        patches.append((str(s.get("type") or "Other"), ids))
    return patches


# --- geometry helpers ------------------------------------------------------------------
def _face_geometry(v: np.ndarray, f: np.ndarray):
    tri = v[f]
    cross = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    area = 0.5 * np.linalg.norm(cross, axis=1)
    return area, cross, tri.mean(1)


def _pca_extents(points: np.ndarray) -> np.ndarray:
    """(3,) extents along principal axes, descending."""
    if len(points) < 2:
        return np.zeros(3)
    c = points - points.mean(0)
    _, _, vt = np.linalg.svd(c, full_matrices=False)
    proj = c @ vt.T
    ext = np.zeros(3)
    ext[: proj.shape[1]] = proj.max(0) - proj.min(0)
    return np.sort(ext)[::-1]


def _patch_kind(stype: str, ids, area, cross, centers) -> str:
    t = stype.lower()
    if t == "cylinder":
        c = centers[ids]
        w = area[ids]
        if w.sum() <= 0:
            return "shaft"
        mid = (c * w[:, None]).sum(0) / w.sum()
        sign = float(np.sum(np.einsum("ij,ij->i", cross[ids], c - mid)))
        return "shaft" if sign >= 0 else "hole"
    return SURFACE_KINDS.get(t, "freeform")


def _geometry_label(points: np.ndarray) -> str:
    e1, e2, e3 = _pca_extents(points)
    if e2 <= 0 or e1 > 3 * e2:
        return "shaft"
    return "plate" if e3 < 0.2 * e2 else "block"


# --- grouping ----------------------------------------------------------------------------
def _reduce(groups, area, adjacency, min_faces, min_area, max_parts):
    """Merge/drop groups smallest first. groups: {gid: face id list}; area: {gid: float};
    adjacency: {gid: {gid: shared vertex count}}. Returns (groups, merged, dropped faces)."""
    version = {g: 0 for g in groups}
    heap = [(area[g], len(groups[g]), g, 0) for g in groups]
    heapq.heapify(heap)
    merged = dropped = 0
    while heap and len(groups) > 1:
        a, _, g, ver = heapq.heappop(heap)
        if g not in groups or ver != version[g]:
            continue
        tiny = len(groups[g]) < min_faces or a < min_area
        if not tiny and len(groups) <= max_parts:
            break
        nbrs = {n: c for n, c in adjacency.get(g, {}).items() if n in groups and n != g}
        if nbrs:
            b = max(nbrs, key=lambda n: (nbrs[n], area[n], -n))
            groups[b] = groups[b] + groups.pop(g)
            area[b] += area[g]
            for n, c in nbrs.items():
                if n == b:
                    continue
                adjacency[b][n] = adjacency[b].get(n, 0) + c
                adjacency[n][b] = adjacency[n].get(b, 0) + c
            adjacency[b].pop(g, None)
            version[b] += 1
            heapq.heappush(heap, (area[b], len(groups[b]), b, version[b]))
            merged += 1
        else:
            dropped += len(groups.pop(g))
    return groups, merged, dropped


def _adjacency(patch_of_face: np.ndarray, vid: np.ndarray, n_patches: int) -> dict:
    from scipy.sparse import coo_matrix

    rows = np.repeat(patch_of_face, 3)
    cols = vid.reshape(-1)
    inc = coo_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)), shape=(n_patches, int(cols.max()) + 1)).tocsr()
    inc.data[:] = 1  # duplicates were summed by tocsr; a vertex counts once per patch
    shared = (inc @ inc.T).tocoo()
    adj: dict[int, dict[int, int]] = {g: {} for g in range(n_patches)}
    for i, j, c in zip(shared.row.tolist(), shared.col.tolist(), shared.data.tolist()):
        if i != j:
            adj[i][j] = c
    return adj


# --- the loader --------------------------------------------------------------------------
def load_abc(
    folder: str | os.PathLike,
    parts: str = "components",
    features_root: str | os.PathLike | None = None,
    variant: str | None = None,
    min_faces: int = 4,
    min_area_frac: float = 0.001,
    max_parts: int = 16,
    max_faces: int | None = None,
    category: str = "mechanical",
    clean: bool = True,
) -> Shape:
    """Load one ABC model folder as a normalized ``Shape`` (source ``abc``).

    parts : ``"components"`` or ``"patches"`` (see module docstring).
    min_faces, min_area_frac : a part with fewer faces, or less than this fraction of the
        total surface area, is merged into a neighbour or dropped.
    max_parts : int >= 1, cap on the part count.
    max_faces : int or None, refuse larger meshes.
    clean : clean each part (``datagen.shapes.clean``) before normalizing.
    Returns a Shape: vertices (n, 3) float64, Z up, bbox centre at origin, diagonal 1;
    id = the folder name; parts ordered by decreasing area.
    """
    folder = Path(folder)
    if parts not in PART_MODES:
        raise InputError(folder, f"parts must be one of {PART_MODES}, got {parts!r}")
    if max_parts < 1:
        raise InputError(folder, f"max_parts must be >= 1, got {max_parts}")
    obj, yml = find_abc_files(folder, features_root, variant)
    is_stl = obj.suffix.lower() == ".stl"
    if is_stl:
        v, f = read_stl(obj, max_faces=max_faces)
    else:
        data = read_obj(obj, max_faces=max_faces)
        v, f = data.vertices, data.faces
    if len(f) == 0:
        raise InputError(obj, "no faces in OBJ (empty mesh)")
    check_face_limit(obj, len(f), max_faces)
    area, cross, centers = _face_geometry(v, f)
    total_area = float(area.sum())
    if total_area <= 0:
        raise InputError(obj, "degenerate mesh (zero surface area)")

    # 1. patches: (kind or None, face ids)
    patch_of_face = np.full(len(f), -1, dtype=np.int64)
    kinds: list[str | None] = []
    if yml is not None:
        for stype, ids in read_features(yml, len(f)):
            ids = ids[patch_of_face[ids] < 0]  # a face claimed twice keeps its first patch
            if len(ids) == 0:
                continue
            patch_of_face[ids] = len(kinds)
            kinds.append(_patch_kind(stype, ids, area, cross, centers))
    comp = face_components(v, f)
    rest = np.flatnonzero(patch_of_face < 0)
    for c in np.unique(comp[rest]):
        ids = rest[comp[rest] == c]
        patch_of_face[ids] = len(kinds)
        kinds.append("freeform" if yml is not None else None)
    n_patches = len(kinds)

    # 2. groups of patches
    if parts == "patches" and yml is not None:
        group_of_patch = np.arange(n_patches)
        adjacency = _adjacency(patch_of_face, weld(v)[f], n_patches)
    else:
        # a patch lies in one component (its faces are connected); take its first face's
        group_of_patch = np.zeros(n_patches, dtype=np.int64)
        first = np.full(n_patches, -1, dtype=np.int64)
        order = np.arange(len(f))[::-1]
        first[patch_of_face[order]] = order
        group_of_patch = comp[first]
        adjacency = {}
    face_group = group_of_patch[patch_of_face]
    groups = {int(g): np.flatnonzero(face_group == g).tolist() for g in np.unique(face_group)}
    garea = {g: float(area[ids].sum()) for g, ids in groups.items()}
    n_before = len(groups)
    groups, merged, dropped = _reduce(groups, garea, adjacency, min_faces, min_area_frac * total_area, max_parts)

    # 3. parts, largest area first
    pieces = []
    for g in sorted(groups, key=lambda g: (-garea[g], g)):
        ids = np.asarray(sorted(groups[g]), dtype=np.int64)
        pv, pf = submesh(v, f, ids)
        pieces.append((_group_label(ids, patch_of_face, kinds, area, pv), pv, pf))
    labels = [p[0] for p in pieces]
    names = unique_names(labels)
    meta = {
        "abc": {
            "obj": obj.name,
            "mesh": "stl" if is_stl else "obj",
            "features": yml.name if yml is not None else None,
            "parts_mode": parts if yml is not None else "components",
            "patches": n_patches if yml is not None else 0,
            "groups_before_reduction": n_before,
            "merged": merged,
            "dropped_faces": dropped,
            "dropped_area_frac": round(max(0.0, 1 - sum(garea[g] for g in groups) / total_area), 6),
        }
    }
    try:
        part_list = tuple(Part(n, lab, pv, pf) for n, (lab, pv, pf) in zip(names, pieces))
        shape = Shape(sanitize(folder.name, fallback="shape"), category, part_list, source="abc", meta=meta)
        if clean:
            shape = clean_shape(shape)
        return normalize(shape, up="z")
    except ValueError as e:
        raise InputError(obj, str(e)) from None


def _group_label(face_ids, patch_of_face, kinds, area, points) -> str:
    patches = patch_of_face[face_ids]
    by_kind: dict[str, float] = {}
    for p, a in zip(patches.tolist(), area[face_ids].tolist()):
        k = kinds[p]
        if k is not None:
            by_kind[k] = by_kind.get(k, 0.0) + a
    if not by_kind:
        return _geometry_label(points)
    kind = max(sorted(by_kind), key=lambda k: by_kind[k])
    if kind == "plate":
        e1, e2, e3 = _pca_extents(points)
        if e2 > 0 and e3 >= 0.2 * e2:
            return "block"
    return kind
