"""OBJ files -> Blender meshes, fast (numpy parse + ``foreach_set``; no importer operator).

``parse_obj`` reads the common case (``v x y z`` and triangle/polygon ``f`` records with
plain or ``a/b/c`` indices) with numpy string splitting; anything else (negative
indices, ``v`` with colours, mixed polygon sizes) goes to the strict reader
``datagen.shapes.objio.read_obj``. Both give the same arrays.
"""

from __future__ import annotations

import os
from pathlib import Path

import bpy
import numpy as np

from datagen.errors import InputError


def _fast_parse(text: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(vertices, faces) or None when the file needs the strict reader."""
    vlines = []
    flines = []
    for line in text.splitlines():
        if line.startswith("v "):
            vlines.append(line[2:])
        elif line.startswith("f "):
            flines.append(line[2:])
    try:
        v = np.array(" ".join(vlines).split(), dtype=np.float64)
    except ValueError:
        return None
    if v.size != 3 * len(vlines):
        return None
    v = v.reshape(-1, 3)
    if not flines:
        return v, np.zeros((0, 3), dtype=np.int64)
    tokens = " ".join(flines).split()
    if len(tokens) != 3 * len(flines):  # polygons: let the strict reader fan them
        return None
    if "/" in flines[0]:
        tokens = [t.split("/", 1)[0] for t in tokens]
    try:
        f = np.array(tokens, dtype=np.int64).reshape(-1, 3)
    except ValueError:
        return None
    if f.size and (f.min() < 1 or f.max() > len(v)):
        return None  # negative (relative) or out-of-range indices: strict reader decides
    return v, f - 1


def parse_obj(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read an OBJ's geometry.

    Returns vertices : (n, 3) float64 (file units, metres by convention) and
    faces : (k, 3) int64, 0-based. Raises ``InputError`` naming the file on a missing file,
    a malformed record or an empty mesh.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise InputError(path, "mesh file not found") from None
    except OSError as e:
        raise InputError(path, f"cannot read mesh: {e.strerror}") from None
    got = _fast_parse(text)
    if got is None:
        from datagen.shapes.objio import read_obj

        data = read_obj(path)
        got = (np.asarray(data.vertices, np.float64), np.asarray(data.faces, np.int64))
    v, f = got
    if len(f) == 0 or len(v) == 0:
        raise InputError(path, "mesh has no faces")
    if not np.all(np.isfinite(v)):
        raise InputError(path, "mesh has non-finite vertex coordinates")
    return v, f


def mesh_from_arrays(name: str, vertices: np.ndarray, faces: np.ndarray) -> "bpy.types.Mesh":
    """A new ``bpy.types.Mesh`` from vertices (n, 3) float and triangle faces (k, 3) int, 0-based."""
    v = np.ascontiguousarray(vertices, dtype=np.float32).reshape(-1)
    f = np.ascontiguousarray(faces, dtype=np.int32).reshape(-1)
    k = f.size // 3
    me = bpy.data.meshes.new(name)
    me.vertices.add(v.size // 3)
    me.vertices.foreach_set("co", v)
    me.loops.add(f.size)
    me.loops.foreach_set("vertex_index", f)
    me.polygons.add(k)
    me.polygons.foreach_set("loop_start", np.arange(0, f.size, 3, dtype=np.int32))
    me.update(calc_edges=True)
    return me


def load_mesh(name: str, path: str | os.PathLike) -> "bpy.types.Mesh":
    """Parse an OBJ and make a Blender mesh datablock named ``name``."""
    v, f = parse_obj(path)
    return mesh_from_arrays(name, v, f)
