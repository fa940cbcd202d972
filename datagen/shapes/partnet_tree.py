"""PartNet's ``result.json`` hierarchy and folder helpers, shared by the PartNet and
PartNet-Mobility loaders (``partnet``, ``partnet_mobility``): the walk (``children`` first,
else ``objs``), semantic levels, OBJ reading with a face limit, ids and ``meta.json``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from datagen.errors import InputError
from datagen.io import read_json
from datagen.shapes.meshfile import check_face_limit, concat_meshes, sanitize
from datagen.shapes.objio import read_obj


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
    return [g[:3] for g in partnet_groups_with_ids(tree, level, where)]


def _subtree_ids(node) -> list:
    out = [node.get("id")]
    for c in _children(node) or []:
        if isinstance(c, dict):
            out += _subtree_ids(c)
    return out


def partnet_groups_with_ids(tree, level: str | int, where: Path) -> list[tuple[str, str, list[str], list, list]]:
    """``partnet_groups`` plus, per group, the node ids it covers: ``(label, path, stems,
    path_ids, subtree_ids)`` with path_ids = its ancestors (root first) and itself,
    subtree_ids = the nodes below it (empty for a leaf); ``None`` for nodes without an id."""
    if not isinstance(tree, list) or not tree:
        raise InputError(where, "expected a non-empty list of root nodes")
    depth_limit = None if level in ("leaf", "merged") else int(level)
    groups: list[tuple[str, str, list[str], list, list]] = []

    def walk(node, prefix: tuple, ids: tuple, depth: int):
        name = _node_name(node, where)
        path = prefix + (name,)
        ch = _children(node)
        if depth_limit is not None and depth == depth_limit:
            below = _subtree_ids(node)[1:]
            groups.append((name, "/".join(path), _subtree_objs(node, where), list(ids) + [node.get("id")], below))
            return
        if ch is not None:
            for c in ch:
                walk(c, path, ids + (node.get("id"),), depth + 1)
            return
        objs = _objs(node, where)
        if not objs:
            raise InputError(where, f"node {name!r} (id {node.get('id')!r}) has neither 'children' nor 'objs'")
        groups.append((name, "/".join(path), objs, list(ids) + [node.get("id")], []))

    for root in tree:
        walk(root, (), (), 0)
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
def obj_reader(folder: Path, obj_dir: str, max_faces: int | None):
    """A cached reader ``stem -> (vertices, faces)`` of ``folder/obj_dir/<stem>.obj`` that
    refuses more than ``max_faces`` faces in total (per OBJ too)."""
    cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    total = [0]

    def mesh_of(stem: str):
        if stem not in cache:
            data = read_obj(folder / obj_dir / f"{stem}.obj", max_faces=max_faces)
            total[0] += len(data.faces)
            check_face_limit(folder, total[0], max_faces)
            cache[stem] = (data.vertices, data.faces)
        return cache[stem]

    return mesh_of


def group_mesh(folder: Path, obj_dir: str, label: str, stems: list[str], mesh_of):
    """The OBJs ``stems`` of one part concatenated; ``InputError`` when they hold no face."""
    v, f = concat_meshes([mesh_of(s) for s in stems])
    if len(f) == 0:
        files = ", ".join(str(folder / obj_dir / f"{s}.obj") for s in stems)
        raise InputError(files, f"empty part {label!r} (no faces)")
    return v, f


def partnet_shape_id(folder: str | os.PathLike) -> str:
    """The shape id ``load_partnet`` gives a folder: the folder name (PartNet's anno_id),
    or ``shape_id`` from ``parts.json`` for a library folder. Cheap (no mesh reading)."""
    folder = Path(folder)
    if (folder / "parts.json").is_file():
        info = read_json(folder / "parts.json")
        if isinstance(info, dict) and isinstance(info.get("shape_id"), str):
            return info["shape_id"]
    return sanitize(folder.name, fallback="shape")


def is_mobility_folder(folder: str | os.PathLike) -> bool:
    """A PartNet-Mobility model folder: ``mobility_v2.json``, or ``textured_objs/`` without ``objs/``."""
    folder = Path(folder)
    return (folder / "mobility_v2.json").is_file() or ((folder / "textured_objs").is_dir() and not (folder / "objs").is_dir())


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


