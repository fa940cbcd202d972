"""Load PartNet-Mobility (SAPIEN) model folders into ``Shape``.

A model folder ``<model_id>/`` holds ``result.json`` (PartNet's part hierarchy, same format:
nodes with ``name``, ``id`` and ``children`` or ``objs``), ``textured_objs/<stem>.obj``
(the part meshes, with ``mtllib``/``usemtl``/``vt``/``vn``; Y up like PartNet, source
units), ``mobility_v2.json`` (the articulation: one entry per link, ``{"id", "parent",
"joint", "name", "parts": [{"id": result.json node id, "name", "children"}], "jointData":
{"axis": {"origin", "direction"}, "limit": {"a", "b", "noLimit"}}}``), ``meta.json``
(``model_cat`` ...) and files we do not read (``mobility.urdf``, ``semantics.txt``,
``bounding_box.json``, images).

Parts (``level=``): ``"leaf"`` (default), an int depth or ``"merged"`` (no merged tree in
this layout: the leaves) follow ``result.json`` exactly as ``load_partnet`` does (labels =
node names, paths = names from the root). ``"link"`` makes one part per mobility link
(label = the link's ``name``, e.g. ``rotation_door``, ``drawer``, ``furniture_body``; path =
``<root>/<link name>``), with the OBJs of the result.json nodes the link lists.

``meta['mobility']`` keeps the articulation in *our* frame: per link ``{"link", "name",
"joint", "parent", "origin" (3 floats, metres, normalized frame), "direction" (unit 3-vector),
"limit"}``, and ``part_links`` (part name -> the link ids its nodes belong to). Geometry is
cleaned (``datagen.shapes.clean``; default) and normalized with ``normalize(shape, up='y')``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from datagen.errors import InputError
from datagen.io import read_json
from datagen.shapes.clean import clean_shape
from datagen.shapes.meshfile import sanitize, unique_names
from datagen.shapes.model import Part, Shape
from datagen.shapes.normalize import normalize
from datagen.shapes.partnet_tree import (
    _read_meta,
    group_mesh,
    is_mobility_folder,
    obj_reader,
    parse_level,
    partnet_groups_with_ids,
)

OBJ_DIR = "textured_objs"
SOURCE = "partnet-mobility"


def read_mobility(path: Path) -> list[dict]:
    """Parse ``mobility_v2.json`` into ``[{"link", "name", "joint", "parent", "nodes" (result.json
    ids), "axis": {"origin", "direction"} or None, "limit"}]``. ``InputError`` on a bad entry."""
    data = read_json(path)
    if not isinstance(data, list):
        raise InputError(path, "expected a list of links")
    links = []
    for i, e in enumerate(data):
        if not isinstance(e, dict) or "id" not in e:
            raise InputError(path, f"entry {i}: expected an object with 'id'")
        nodes = []
        for p in e.get("parts") or []:
            if not isinstance(p, dict) or "id" not in p:
                raise InputError(path, f"link {e['id']!r}: each of 'parts' needs an 'id'")
            nodes.append(p["id"])
            nodes += [c for c in p.get("children") or [] if isinstance(c, int)]
        jd = e.get("jointData") or {}
        axis = jd.get("axis") if isinstance(jd, dict) else None
        if axis is not None:
            try:
                o = np.asarray(axis["origin"], dtype=np.float64).reshape(3)
                d = np.asarray(axis["direction"], dtype=np.float64).reshape(3)
            except (KeyError, TypeError, ValueError):
                raise InputError(path, f"link {e['id']!r}: jointData.axis needs 3-vectors 'origin' and 'direction'") from None
            axis = {"origin": o, "direction": d}
        links.append({
            "link": e["id"],
            "name": str(e.get("name") or f"link_{e['id']}"),
            "joint": str(e.get("joint") or ""),
            "parent": e.get("parent"),
            "nodes": nodes,
            "axis": axis,
            "limit": jd.get("limit") if isinstance(jd, dict) else None,
        })
    return links


def _links_of(path_ids, below, links) -> list:
    """Ids of the links a group of nodes belongs to: the link that claims the deepest node
    on its path (root to itself; a node's own link wins over an ancestor's), then, in link
    order, the links that claim nodes below it (a group over several links)."""
    own = []
    for node in reversed([i for i in path_ids if i is not None]):
        own = [ln["link"] for ln in links if node in ln["nodes"]]
        if own:
            break
    s = set(i for i in below if i is not None)
    return own + [ln["link"] for ln in links if s & set(ln["nodes"]) and ln["link"] not in own]


def load_partnet_mobility(
    folder: str | os.PathLike,
    level: str | int = "leaf",
    max_faces: int | None = None,
    category: str | None = None,
    clean: bool = True,
) -> Shape:
    """Load one PartNet-Mobility model folder as a normalized ``Shape`` (source ``partnet-mobility``).

    level : ``"leaf"``, ``"merged"`` (= leaf), an int depth, or ``"link"`` (see module docstring).
    max_faces : int or None, refuse shapes with more faces in total (per OBJ too).
    category : str or None, overrides meta.json ``model_cat`` (lower-cased, like PartNet).
    clean : clean each part (``datagen.shapes.clean.clean_shape``) before normalizing.
    Returns a Shape: vertices (n, 3) float64, Z up, bbox centre at origin, bbox diagonal 1;
    id = the folder name (the model id). Raises ``InputError`` naming the file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "PartNet-Mobility folder not found")
    if not is_mobility_folder(folder):
        raise InputError(folder, f"not a PartNet-Mobility folder (no mobility_v2.json or {OBJ_DIR}/)")
    by_link = level == "link"
    if not by_link:
        try:
            lvl = parse_level(level)
        except ValueError as e:
            raise InputError(folder, f"{e} (or 'link')") from None
    meta_json = _read_meta(folder, category)
    tree_file = folder / "result.json"
    if not tree_file.is_file():
        raise InputError(tree_file, "file not found (PartNet-Mobility keeps its part hierarchy there)")
    tree = read_json(tree_file)
    mob_file = folder / "mobility_v2.json"
    links = read_mobility(mob_file) if mob_file.is_file() else []

    leaves = partnet_groups_with_ids(tree, "leaf", tree_file)
    if by_link:
        if not links:
            raise InputError(mob_file, "file not found (needed for level='link')")
        root = leaves[0][1].split("/")[0] if leaves else "object"
        groups, claimed = [], set()
        for ln in links:
            stems = []
            for _, _, objs, ids, below in leaves:
                if ln["link"] in _links_of(ids, below, links)[:1]:
                    stems += [s for s in objs if s not in stems]
            if stems:
                claimed.update(stems)
                groups.append((sanitize(ln["name"]), f"{root}/{ln['name']}", stems, [ln["link"]]))
        rest = [s for _, _, objs, _, _ in leaves for s in objs if s not in claimed]
        if rest:
            groups.append(("unlinked", f"{root}/unlinked", list(dict.fromkeys(rest)), []))
        level_used = "link"
    else:
        level_used = "leaf" if lvl == "merged" else lvl
        raw = partnet_groups_with_ids(tree, level_used, tree_file)
        groups = [(label, path, stems, _links_of(ids, below, links)) for label, path, stems, ids, below in raw]

    mesh_of = obj_reader(folder, OBJ_DIR, max_faces)
    meshes = [group_mesh(folder, OBJ_DIR, label, stems, mesh_of) for label, _, stems, _ in groups]
    labels = [g[0] for g in groups]
    names = unique_names(labels)
    cat = category or meta_json.get("model_cat")
    if not cat:
        raise InputError(folder / "meta.json", "no 'model_cat' (pass category=)")
    meta = {k: meta_json[k] for k in ("model_id", "anno_id", "model_cat", "version") if k in meta_json}
    meta["partnet_level"] = level_used if isinstance(level_used, str) else int(level_used)
    meta["partnet_file"] = tree_file.name
    try:
        parts = tuple(Part(n, lab, v, f, g[1]) for n, lab, g, (v, f) in zip(names, labels, groups, meshes))
        shape = Shape(sanitize(folder.name, fallback="shape"), str(cat).lower(), parts, source=SOURCE, meta=meta)
        if clean:
            shape = clean_shape(shape)
        shape = normalize(shape, up="y")
    except ValueError as e:
        raise InputError(folder, str(e)) from None
    kept = {p.name for p in shape.parts}
    mobility = {
        "file": mob_file.name if links else None,
        "links": [_link_record(ln, shape.meta["normalization"]) for ln in links],
        "part_links": {n: g[3] for n, g in zip(names, groups) if n in kept},
    }
    return shape.replace(meta={**shape.meta, "mobility": mobility})


def _link_record(ln: dict, norm: dict) -> dict:
    """A link's joint in the normalized frame: origin -> scale * (R o - center), direction -> R d."""
    rec = {"link": ln["link"], "name": ln["name"], "joint": ln["joint"], "parent": ln["parent"], "limit": ln["limit"]}
    if ln["axis"] is not None:
        R = np.asarray(norm["rotation"], dtype=np.float64)
        o = float(norm["scale"]) * (R @ ln["axis"]["origin"] - np.asarray(norm["center"], dtype=np.float64))
        d = R @ ln["axis"]["direction"]
        n = np.linalg.norm(d)
        rec["origin"] = [round(float(x), 9) for x in o]
        rec["direction"] = [round(float(x), 9) for x in (d / n if n > 0 else d)]
    else:
        rec["origin"] = rec["direction"] = None
    return rec
