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

Part names are ``<label>_<k>`` (unique, ``[A-Za-z0-9_.-]``). Each part is cleaned
(``datagen.shapes.clean``: ShapeNet-derived parts are often double-sided or flip their
winding; ``clean=False`` keeps them as they are; reports in ``meta['clean']``), then the
shape is normalized with ``normalize(shape, up='y')`` (PartNet is Y up). A PartNet-Mobility
folder (``mobility_v2.json``, ``textured_objs/``) is handed to
``datagen.shapes.partnet_mobility.load_partnet_mobility``. A folder written by our own
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
from datagen.shapes.clean import clean_shape
from datagen.shapes.library import attach_clean_reports
from datagen.shapes.meshfile import sanitize, unique_names
from datagen.shapes.model import Part, Shape
from datagen.shapes.normalize import is_normalized, normalize
from datagen.shapes.partnet_mobility import load_partnet_mobility
from datagen.shapes.partnet_tree import (  # noqa: F401 - partnet_groups, parse_level, partnet_shape_id: public here too
    _read_meta,
    group_mesh,
    is_mobility_folder,
    obj_reader,
    parse_level,
    partnet_groups,
    partnet_shape_id,
)

SPLITS = ("train", "val", "test")


def load_partnet(
    folder: str | os.PathLike,
    level: str | int = "leaf",
    max_faces: int | None = None,
    category: str | None = None,
    clean: bool = True,
) -> Shape:
    """Load one PartNet annotation folder (or one of our library folders) as a ``Shape``.

    folder : ``data_v0/<anno_id>/`` with result.json, objs/, meta.json. A PartNet-Mobility
        folder (``mobility_v2.json``, ``textured_objs/``) goes to ``load_partnet_mobility``.
    level : ``"leaf"``, ``"merged"`` or an int depth (see module docstring).
    max_faces : int or None, refuse shapes with more faces in total (per OBJ too).
    category : str or None, overrides meta.json ``model_cat``; PartNet categories are
        lower-cased (``Chair`` -> ``chair``, like the root node's name).
    clean : run ``datagen.shapes.clean.clean_shape`` on the parts (source units, before
        normalization; reports in ``meta['clean']``). Library folders are never re-cleaned.
    Returns a Shape (source ``partnet``, or the library's source): part vertices
    (n, 3) float64, Z up, bbox centre at origin, bbox diagonal 1; id = anno_id
    (folder name). Raises ``InputError`` naming the file for any bad input.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "PartNet folder not found")
    library = (folder / "parts.json").is_file()
    if not library and is_mobility_folder(folder):
        return load_partnet_mobility(folder, level=level, max_faces=max_faces, category=category, clean=clean)
    try:
        lvl = parse_level(level)
    except ValueError as e:
        raise InputError(folder, str(e)) from None
    meta_json = _read_meta(folder, category)
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

    mesh_of = obj_reader(folder, "objs", max_faces)

    labels, paths, meshes, lib_names = [], [], [], []
    for label, path, stems in groups:
        v, f = group_mesh(folder, "objs", label, stems, mesh_of)
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
        if all(ln is not None for ln in lib_names):
            attach_clean_reports(meta, info.get("parts"), names=set(names))
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
        if clean:
            shape = clean_shape(shape)
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
    clean: bool = True,
) -> Iterator[Shape]:
    """Load every annotation folder of ``list_partnet(root, category)`` in turn."""
    for folder in list_partnet(root, category):
        yield load_partnet(folder, level=level, max_faces=max_faces, category=None, clean=clean)


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
