"""Load PartNet annotations (``data_v0/<anno_id>/``) into ``Shape``.

A PartNet folder holds ``result.json`` (the part hierarchy: nodes with ``name``, ``id`` and
either ``children`` or ``objs``), ``objs/<stem>.obj`` (part meshes, Y up, source units),
``meta.json`` (``model_cat``, ``anno_id`` ...) and optionally ``result_after_merging.json``.
The walk follows PartNet's own scripts: ``children`` first, else ``objs``; a node with
neither is an error naming the file.

Semantic levels (``level=``):

- ``"leaf"``: one part per leaf node; label = the leaf's ``name``, path = the names from the
  root joined by ``/`` (e.g. ``chair/chair_base/regular_leg_base/leg``). A leaf owning
  several OBJs becomes one part (meshes concatenated).
- an int ``d`` >= 0: one part per node at depth ``d`` (root = 0) with every OBJ of its
  subtree merged; leaves shallower than ``d`` stay as they are. ``1`` gives chair_back,
  chair_seat, chair_base, chair_arm ... for chairs.
- ``"merged"``: the leaves of ``result_after_merging.json`` (falls back to ``result.json``
  when absent; ``meta['level_used']`` says which).

Part names are ``<label>_<k>`` (unique, ``[A-Za-z0-9_.-]``). Geometry is normalized with
``normalize(shape, up='y')`` (PartNet is Y up). A folder written by our own
``write_shape`` (it has ``parts.json``) is already normalized and Z up: it is read with
``up='z'`` and its part names, labels and paths are kept.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import numpy as np

from datagen.errors import InputError
from datagen.io import read_json
from datagen.shapes.meshfile import check_face_limit, concat_meshes, sanitize, unique_names
from datagen.shapes.model import Part, Shape
from datagen.shapes.normalize import is_normalized, normalize
from datagen.shapes.objio import read_obj

SPLITS = ("train", "val", "test")


# --- the hierarchy walk --------------------------------------------------------------
def _node_name(node, where: Path) -> str:
    if not isinstance(node, dict):
        raise InputError(where, f"hierarchy node must be an object, got {type(node).__name__}")
    name = node.get("name") or node.get("text")
    if not isinstance(name, str) or not name.strip():
        raise InputError(where, f"node id {node.get('id')!r} has no 'name'")
    return name.strip()


def _children(node) -> list | None:
    ch = node.get("children")
    return ch if isinstance(ch, list) and ch else None


def _objs(node, where: Path) -> list[str]:
    objs = node.get("objs")
    if objs is None:
        return []
    if not isinstance(objs, list) or not all(isinstance(o, str) and o for o in objs):
        raise InputError(where, f"node {node.get('name')!r} (id {node.get('id')!r}): 'objs' must be a list of file stems")
    return objs


def _subtree_objs(node, where: Path) -> list[str]:
    """All OBJ stems of a subtree, walked like PartNet (children first, else objs)."""
    ch = _children(node)
    if ch is not None:
        out: list[str] = []
        for c in ch:
            _node_name(c, where)
            out += _subtree_objs(c, where)
        return out
    objs = _objs(node, where)
    if not objs:
        raise InputError(where, f"node {node.get('name')!r} (id {node.get('id')!r}) has neither 'children' nor 'objs'")
    return objs


def partnet_groups(tree, level: str | int, where: Path) -> list[tuple[str, str, list[str]]]:
    """Flatten a PartNet tree into parts at ``level``.

    tree : the parsed ``result.json`` (a list of root nodes, normally one).
    level : ``"leaf"`` (also used for ``"merged"`` trees) or an int depth >= 0.
    Returns a list of (label, path, obj stems), in depth-first order.
    """
    if not isinstance(tree, list) or not tree:
        raise InputError(where, "expected a non-empty list of root nodes")
    depth_limit = None if level in ("leaf", "merged") else int(level)
    groups: list[tuple[str, str, list[str]]] = []

    def walk(node, prefix: tuple, depth: int):
        name = _node_name(node, where)
        path = prefix + (name,)
        ch = _children(node)
        if depth_limit is not None and depth == depth_limit:
            groups.append((name, "/".join(path), _subtree_objs(node, where)))
            return
        if ch is not None:
            for c in ch:
                walk(c, path, depth + 1)
            return
        objs = _objs(node, where)
        if not objs:
            raise InputError(where, f"node {name!r} (id {node.get('id')!r}) has neither 'children' nor 'objs'")
        groups.append((name, "/".join(path), objs))

    for root in tree:
        walk(root, (), 0)
    return groups


def parse_level(level) -> str | int:
    """``"leaf"``, ``"merged"``, or a depth >= 0 (int or digit string)."""
    if isinstance(level, str) and level in ("leaf", "merged"):
        return level
    if isinstance(level, int) and not isinstance(level, bool) and level >= 0:
        return level
    if isinstance(level, str) and level.strip().isdigit():
        return int(level)
    raise ValueError(f"level must be 'leaf', 'merged' or a depth >= 0, got {level!r}")


# --- loading -----------------------------------------------------------------------
def partnet_shape_id(folder: str | os.PathLike) -> str:
    """The shape id ``load_partnet`` gives a folder: the folder name (PartNet's anno_id),
    or ``shape_id`` from ``parts.json`` for a library folder. Cheap (no mesh reading)."""
    folder = Path(folder)
    if (folder / "parts.json").is_file():
        info = read_json(folder / "parts.json")
        if isinstance(info, dict) and isinstance(info.get("shape_id"), str):
            return info["shape_id"]
    return sanitize(folder.name, fallback="shape")


def _read_meta(folder: Path, category: str | None) -> dict:
    meta_path = folder / "meta.json"
    if not meta_path.is_file():
        if category is None:
            raise InputError(meta_path, "file not found (needed for the category; or pass category=)")
        return {}
    meta = read_json(meta_path)
    if not isinstance(meta, dict):
        raise InputError(meta_path, "expected a JSON object")
    return meta


def load_partnet(
    folder: str | os.PathLike,
    level: str | int = "leaf",
    max_faces: int | None = None,
    category: str | None = None,
) -> Shape:
    """Load one PartNet annotation folder (or one of our library folders) as a ``Shape``.

    folder : ``data_v0/<anno_id>/`` with result.json, objs/, meta.json.
    level : ``"leaf"``, ``"merged"`` or an int depth (see module docstring).
    max_faces : int or None, refuse shapes with more faces in total (per OBJ too).
    category : str or None, overrides meta.json ``model_cat``; PartNet categories are
        lower-cased (``Chair`` -> ``chair``, like the root node's name).
    Returns a Shape (source ``partnet``, or the library's source): part vertices
    (n, 3) float64, Z up, bbox centre at origin, bbox diagonal 1; id = anno_id
    (folder name). Raises ``InputError`` naming the file for any bad input.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "PartNet folder not found")
    try:
        lvl = parse_level(level)
    except ValueError as e:
        raise InputError(folder, str(e)) from None
    meta_json = _read_meta(folder, category)
    library = (folder / "parts.json").is_file()
    info = read_json(folder / "parts.json") if library else {}
    if library and not isinstance(info, dict):
        raise InputError(folder / "parts.json", "expected a JSON object")

    tree_file = folder / "result.json"
    level_used = "leaf" if lvl == "merged" else lvl
    if lvl == "merged" and (folder / "result_after_merging.json").is_file():
        tree_file = folder / "result_after_merging.json"
        level_used = "merged"
    if not tree_file.is_file():
        raise InputError(tree_file, "file not found (not a PartNet annotation folder?)")
    groups = partnet_groups(read_json(tree_file), lvl, tree_file)

    by_obj = {}
    if library:
        for entry in info.get("parts") or []:
            if isinstance(entry, dict) and "name" in entry:
                by_obj[entry["name"]] = entry

    cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    total = 0

    def mesh_of(stem: str):
        nonlocal total
        if stem not in cache:
            obj = folder / "objs" / f"{stem}.obj"
            data = read_obj(obj, max_faces=max_faces)
            total += len(data.faces)
            check_face_limit(folder, total, max_faces)
            cache[stem] = (data.vertices, data.faces)
        return cache[stem]

    labels, paths, meshes, lib_names = [], [], [], []
    for label, path, stems in groups:
        v, f = concat_meshes([mesh_of(s) for s in stems])
        if len(f) == 0:
            files = ", ".join(str(folder / "objs" / f"{s}.obj") for s in stems)
            raise InputError(files, f"empty part {label!r} (no faces)")
        entry = by_obj.get(stems[0]) if (library and len(stems) == 1 and level_used == "leaf") else None
        if entry is not None:
            label = entry.get("label") or label
            path = entry.get("path") or path
            lib_names.append(entry["name"])
        else:
            lib_names.append(None)
        labels.append(label)
        paths.append(path)
        meshes.append((v, f))
    names = unique_names(labels)
    names = [ln if ln is not None else n for ln, n in zip(lib_names, names)]
    if len(set(names)) != len(names):  # library names mixed with generated ones collide
        names = unique_names(labels)
    if library and all(ln is not None for ln in lib_names):
        # every leaf is one library part: keep parts.json order (the tree groups by path)
        rank = {name: i for i, name in enumerate(by_obj)}
        order = sorted(range(len(names)), key=lambda i: rank[lib_names[i]])
        names, labels, paths, meshes = ([seq[i] for i in order] for seq in (names, labels, paths, meshes))

    if library:
        shape_id = partnet_shape_id(folder)
        cat = category or info.get("category") or meta_json.get("model_cat")
        source = info.get("source") or "library"
        meta = dict(info.get("meta") or {})
    else:
        shape_id = sanitize(folder.name, fallback="shape")
        cat = category or meta_json.get("model_cat")
        if not cat:
            raise InputError(folder / "meta.json", "no 'model_cat' (pass category=)")
        cat = str(cat).lower()
        source = "partnet"
        meta = {k: meta_json[k] for k in ("model_id", "anno_id", "model_cat", "version") if k in meta_json}
    meta["partnet_level"] = level_used if isinstance(level_used, str) else int(level_used)
    meta["partnet_file"] = tree_file.name
    try:
        parts = tuple(Part(n, lab, v, f, p) for n, lab, p, (v, f) in zip(names, labels, paths, meshes))
        shape = Shape(shape_id, str(cat), parts, source=source, meta=meta)
        if library:
            return _renormalize_library(shape, info.get("normalization"))
        return normalize(shape, up="y")
    except ValueError as e:
        raise InputError(folder, str(e)) from None


def _renormalize_library(shape: Shape, record: dict | None) -> Shape:
    """Library folders are already normalized (Z up): keep their record; if a merge level
    moved nothing this is a no-op, otherwise compose the new centring/scale into it."""
    if record is not None and is_normalized(shape, tol=1e-6):
        return shape.replace(meta={**shape.meta, "normalization": record})
    out = normalize(shape, up="z")
    if record is None:
        return out
    n = out.meta["normalization"]
    s1, c1 = float(record["scale"]), np.asarray(record["center"], dtype=np.float64)
    s2, c2 = float(n["scale"]), np.asarray(n["center"], dtype=np.float64)
    composed = dict(record, center=(c1 + c2 / s1).tolist(), scale=s1 * s2)
    return out.replace(meta={**out.meta, "normalization": composed})


# --- folders and splits ----------------------------------------------------------------
def _model_cat(folder: Path) -> str | None:
    for name in ("meta.json", "parts.json"):
        p = folder / name
        if p.is_file():
            try:
                m = read_json(p)
            except InputError:
                return None
            if isinstance(m, dict):
                cat = m.get("model_cat", m.get("category"))
                if isinstance(cat, str):
                    return cat
    return None


def list_partnet(root: str | os.PathLike, category: str | None = None) -> list[Path]:
    """Annotation folders under ``root`` (sorted by name): sub-folders with a result.json.

    ``root`` may itself be one annotation folder. With ``category``, keep folders whose
    meta.json ``model_cat`` matches case-insensitively; folders whose meta.json is missing
    or unreadable are kept, so that loading them reports the problem.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(root, "PartNet root folder not found")
    if (root / "result.json").is_file():
        folders = [root]
    else:
        folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / "result.json").is_file())
    if category is None:
        return folders
    want = category.lower()
    out = []
    for f in folders:
        cat = _model_cat(f)
        if cat is None or cat.lower() == want:
            out.append(f)
    return out


def iter_partnet(
    root: str | os.PathLike,
    category: str | None = None,
    level: str | int = "leaf",
    max_faces: int | None = None,
) -> Iterator[Shape]:
    """Load every annotation folder of ``list_partnet(root, category)`` in turn."""
    for folder in list_partnet(root, category):
        yield load_partnet(folder, level=level, max_faces=max_faces, category=None)


def _split_file(split_dir: Path, category: str, split: str) -> Path | None:
    exact = split_dir / f"{category}.{split}.json"
    if exact.is_file():
        return exact
    want = f"{category}.{split}.json".lower()
    for p in sorted(split_dir.iterdir()):
        if p.name.lower() == want and p.is_file():
            return p
    return None


def read_partnet_splits(split_dir: str | os.PathLike, category: str) -> dict[str, list[str]]:
    """Read PartNet's official split files ``<Category>.{train,val,test}.json``.

    split_dir : e.g. ``stats/train_val_test_split/``; category : e.g. ``Chair`` (file
    names are matched case-insensitively). Each file is a list of
    ``{"model_id", "anno_id"}``. Returns ``{"train": [anno_id str], "val": [...],
    "test": [...]}`` (a split whose file is absent is an empty list). Raises
    ``InputError`` if the folder or all three files are missing, or on a bad entry.
    """
    split_dir = Path(split_dir)
    if not split_dir.is_dir():
        raise InputError(split_dir, "split folder not found")
    out: dict[str, list[str]] = {}
    found = 0
    for split in SPLITS:
        path = _split_file(split_dir, category, split)
        if path is None:
            out[split] = []
            continue
        found += 1
        data = read_json(path)
        if not isinstance(data, list):
            raise InputError(path, "expected a list of {'model_id', 'anno_id'}")
        ids = []
        for i, entry in enumerate(data):
            if not isinstance(entry, dict) or "anno_id" not in entry:
                raise InputError(path, f"entry {i}: expected an object with 'anno_id', got {entry!r}")
            ids.append(str(entry["anno_id"]))
        out[split] = ids
    if not found:
        raise InputError(split_dir, f"no split files {category}.{{train,val,test}}.json")
    return out
