"""The shape library: one folder per shape, in PartNet's layout plus our ``parts.json``.

```
<root>/<shape_id>/
    result.json   PartNet hierarchy: [{"text","name","id","children"|"objs"}]; one leaf per part
    objs/<part>.obj
    meta.json     PartNet-style {"model_id","anno_id","model_cat","version",...}
    parts.json    ours: {"format", "shape_id", "category", "source", "normalization",
                         "parts": [{"name","label","path","obj"[,"clean"]}], "meta"}
```
``clean`` (optional, per part) is the ``datagen.shapes.clean.CleanReport`` of an imported
part (what cleaning changed); the cleaning parameters sit in ``meta.clean``. In memory both
live in ``Shape.meta['clean']`` (``{"version", "weld_tol", "parts": {name: report}}``).
Files without them (older libraries, procedural shapes) load as before.
Everything ``datagen shapes`` writes (procedural or imported) uses it, so a library loads
back without the original data, and the PartNet loader reads it too. Each shape folder
is written atomically (temp folder, then rename).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

from datagen.version import __version__
from datagen.errors import InputError
from datagen.io import atomic_dir, dumps_json, read_json
from datagen.shapes.model import Part, Shape
from datagen.shapes.objio import read_obj, write_obj

LIBRARY_FORMAT = 1
PARTS_JSON = "parts.json"


def hierarchy(shape: Shape) -> list[dict]:
    """PartNet ``result.json`` tree of a shape: internal nodes from path prefixes, one leaf per part."""
    next_id = [0]

    def new_node(name: str) -> dict:
        node = {"text": name.replace("_", " ").title(), "name": name, "id": next_id[0]}
        next_id[0] += 1
        return node

    root = new_node(shape.category)
    root["children"] = []
    index: dict[tuple, dict] = {(): root}
    for p in shape.parts:
        segs = [s for s in p.path.split("/") if s]
        if segs and segs[0] == shape.category:
            segs = segs[1:]
        if not segs:
            segs = [p.label]
        parent = root
        for depth in range(len(segs) - 1):
            key = tuple(segs[: depth + 1])
            if key not in index:
                node = new_node(segs[depth])
                node["children"] = []
                parent["children"].append(node)
                index[key] = node
            parent = index[key]
        leaf = new_node(segs[-1])
        leaf["objs"] = [p.name]
        parent["children"].append(leaf)
    return [root]


def write_shape(shape: Shape, root: str | os.PathLike, if_exists: str = "replace") -> Path:
    """Write ``shape`` to ``root/<shape.id>/`` atomically; returns the folder. ``if_exists`` (``atomic_dir``):
    ``replace`` an existing folder, or ``keep`` it (write-once: for shapes that are the same whoever
    writes them, e.g. procedural shape i, written by several processes at once)."""
    final = Path(root) / shape.id
    with atomic_dir(final, if_exists=if_exists) as tmp:
        write_shape_into(shape, tmp)
    return final


def write_shape_into(shape: Shape, folder: Path) -> None:
    """Write the library files of ``shape`` into an existing (temporary) ``folder``; not atomic by itself."""
    tmp = Path(folder)
    (tmp / "objs").mkdir()
    for p in shape.parts:
        write_obj(tmp / "objs" / f"{p.name}.obj", p.vertices, p.faces)
    (tmp / "result.json").write_text(dumps_json(hierarchy(shape)))
    meta = {
        "model_id": shape.meta.get("model_id", shape.id),
        "anno_id": shape.id,
        "model_cat": shape.category,
        "version": f"datagen-{__version__}",
    }
    (tmp / "meta.json").write_text(dumps_json(meta))
    clean = shape.meta.get("clean")
    reports = clean.get("parts", {}) if isinstance(clean, dict) else {}
    entries = []
    for p in shape.parts:
        entry = {"name": p.name, "label": p.label, "path": p.path, "obj": f"objs/{p.name}.obj"}
        if p.name in reports:
            entry["clean"] = reports[p.name]
        entries.append(entry)
    meta = {k: v for k, v in shape.meta.items() if k != "normalization"}
    if isinstance(clean, dict):
        meta["clean"] = {k: v for k, v in clean.items() if k != "parts"}
    info = {
        "format": LIBRARY_FORMAT,
        "shape_id": shape.id,
        "category": shape.category,
        "source": shape.source,
        "normalization": shape.meta.get("normalization"),
        "parts": entries,
        "meta": meta,
    }
    (tmp / PARTS_JSON).write_text(dumps_json(info))


def is_shape_dir(folder: str | os.PathLike) -> bool:
    return (Path(folder) / PARTS_JSON).is_file()


def read_shape(folder: str | os.PathLike, max_faces: int | None = None) -> Shape:
    """Load a shape written by ``write_shape``. Errors name the file and the problem."""
    folder = Path(folder)
    info = read_json(folder / PARTS_JSON)
    where = folder / PARTS_JSON
    try:
        parts_info = info["parts"]
        shape_id = info["shape_id"]
        category = info["category"]
    except (KeyError, TypeError) as e:
        raise InputError(where, f"missing key {e}") from None
    parts = []
    for entry in parts_info:
        try:
            obj = folder / entry["obj"]
            data = read_obj(obj, max_faces=max_faces)
            if len(data.faces) == 0:
                raise InputError(obj, "empty part (no faces)")
            parts.append(Part(entry["name"], entry["label"], data.vertices, data.faces, entry.get("path", "")))
        except (KeyError, TypeError) as e:
            raise InputError(where, f"bad part entry {entry!r}: missing {e}") from None
        except ValueError as e:
            raise InputError(where, str(e)) from None
    meta = dict(info.get("meta") or {})
    if info.get("normalization") is not None:
        meta["normalization"] = info["normalization"]
    attach_clean_reports(meta, parts_info)
    try:
        return Shape(shape_id, category, tuple(parts), source=info.get("source", "unknown"), meta=meta)
    except ValueError as e:
        raise InputError(where, str(e)) from None


def attach_clean_reports(meta: dict, entries, names=None) -> None:
    """Put the per-part ``clean`` reports of parts.json ``entries`` back into
    ``meta['clean']['parts']`` (in place); only parts in ``names`` when given."""
    reports = {}
    for e in entries or []:
        if isinstance(e, dict) and isinstance(e.get("clean"), dict) and "name" in e:
            if names is None or e["name"] in names:
                reports[e["name"]] = e["clean"]
    if reports:
        clean = meta.get("clean")
        meta["clean"] = {**(clean if isinstance(clean, dict) else {}), "parts": reports}


def list_shapes(root: str | os.PathLike) -> list[Path]:
    """Shape folders under ``root`` (sorted by name); ``root`` may itself be one shape folder."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(root, "shape library folder not found")
    if is_shape_dir(root):
        return [root]
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and is_shape_dir(p))


def read_category(folder: str | os.PathLike) -> str:
    """The category of the shape in ``folder`` from its parts.json alone (no mesh is read)."""
    folder = Path(folder)
    info = read_json(folder / PARTS_JSON)
    if not isinstance(info, dict) or not isinstance(info.get("category"), str):
        raise InputError(folder / PARTS_JSON, "no category")
    return info["category"]


def iter_library(root: str | os.PathLike) -> Iterator[Shape]:
    for folder in list_shapes(root):
        yield read_shape(folder)
