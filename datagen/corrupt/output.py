"""Write a corrupted shape with its record and the anomalous part before/after.

```
<out_root>/<shape_id>__<type>__<k>/     a shape folder (datagen.shapes.library layout)
    parts.json, result.json, meta.json, objs/<part>.obj
    corruption.json       the CorruptionRecord (canonical JSON)
    anomaly/before.obj    the anomalous part in the original shape
    anomaly/after.obj     that part after corruption (absent when the type removes it: missing)
```
The whole folder is written atomically: it exists complete or not at all.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from datagen.corrupt.base import CorruptionRecord
from datagen.io import atomic_dir
from datagen.shapes.library import write_shape
from datagen.shapes.model import Shape
from datagen.shapes.objio import format_obj

RECORD_FILE = "corruption.json"


def corrupted_id(shape_id: str, kind: str, k: int) -> str:
    """Id (and folder name) of the k-th corruption of type ``kind`` of ``shape_id``."""
    return f"{shape_id}__{kind}__{k}"


def write_corrupted(
    out_root: str | os.PathLike, original: Shape, corrupted: Shape, record: CorruptionRecord, k: int = 0
) -> Path:
    """Write ``corrupted`` (renamed ``corrupted_id``) + record + anomaly meshes; returns the folder."""
    new_id = corrupted_id(record.shape_id, record.type, k)
    meta = dict(corrupted.meta)
    meta["corrupted_from"] = record.shape_id
    meta["corruption"] = {"type": record.type, "part": record.part, "label": record.label, "k": k}
    shape = corrupted.replace(id=new_id, meta=meta)
    final = Path(out_root) / new_id
    with atomic_dir(final) as tmp:
        inner = write_shape(shape, tmp)  # tmp/<new_id>/..., then lifted into tmp
        for entry in sorted(inner.iterdir()):
            os.replace(entry, tmp / entry.name)
        shutil.rmtree(inner)
        (tmp / RECORD_FILE).write_text(record.to_json(), encoding="utf-8")
        (tmp / "anomaly").mkdir()
        before = original.part(record.part)
        (tmp / "anomaly" / "before.obj").write_text(format_obj(before.vertices, before.faces), encoding="utf-8")
        if any(q.name == record.part for q in corrupted.parts):  # absent when the type removes the part
            after = corrupted.part(record.part)
            (tmp / "anomaly" / "after.obj").write_text(format_obj(after.vertices, after.faces), encoding="utf-8")
    return final


def read_record(folder: str | os.PathLike) -> CorruptionRecord:
    """The ``corruption.json`` of a corrupted-shape folder (``InputError`` if missing or bad)."""
    from datagen.errors import InputError
    from datagen.io import read_json

    path = Path(folder) / RECORD_FILE
    try:
        return CorruptionRecord.from_dict(read_json(path))
    except (ValueError, TypeError) as e:
        raise InputError(path, str(e)) from None
