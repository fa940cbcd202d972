"""OBJ files -> Blender meshes, fast (``datagen.shapes.objio.read_obj``, whose common case is a
numpy parse, + ``foreach_set``; no importer operator)."""

from __future__ import annotations

import os
from pathlib import Path

import bpy
import numpy as np

from datagen.errors import InputError
from datagen.shapes.objio import read_obj


def parse_obj(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read an OBJ's geometry.

    Returns vertices : (n, 3) float64 (file units, metres by convention) and
    faces : (k, 3) int64, 0-based. Raises ``InputError`` naming the file on a missing file,
    a malformed record or an empty mesh.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "mesh file not found")
    data = read_obj(path)
    if len(data.faces) == 0 or len(data.vertices) == 0:
        raise InputError(path, "mesh has no faces")
    return data.vertices, data.faces


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
