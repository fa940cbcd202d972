"""OBJ files -> Blender meshes, fast (``datagen.shapes.objio.read_obj``, whose common case is a
numpy parse, + ``foreach_set``; no importer operator).

Shading (``set_shading``, applied by ``load_mesh``): smooth by angle. Faces are smooth and
every edge whose two faces meet at more than ``SMOOTH_ANGLE_DEG`` is sharp, so CAD edges
(90 degrees) stay crisp while tessellated curves (a 24-segment cylinder: 15 degrees) shade
smooth. Blender's sharp-by-angle also marks sharp every edge whose two faces disagree in
winding (their normals are ~180 degrees apart) and every non-manifold edge (3+ faces, e.g. a
double-sided copy on the same vertices), and corner normals never average across a sharp
edge, so opposite normals can no longer cancel into black patches. Coincident opposite
faces still self-shadow in Cycles: ``datagen.shapes.clean`` removes them on import.
Blender renders back faces (no backface culling), so an open sheet shows from both sides.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import bpy
import numpy as np

from datagen.errors import InputError
from datagen.shapes.objio import read_obj

SMOOTH_ANGLE_DEG = 30.0  # Blender's "Smooth by Angle" default


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


def set_shading(me: "bpy.types.Mesh", smooth_angle_deg: float | None = SMOOTH_ANGLE_DEG) -> None:
    """Smooth faces, sharp edges above ``smooth_angle_deg`` (degrees, in [0, 180]).

    ``None`` makes the mesh flat (every face sharp: one normal per face)."""
    if smooth_angle_deg is None:
        me.shade_flat()
        return
    if not 0.0 <= smooth_angle_deg <= 180.0:
        raise ValueError(f"smooth angle must be in [0, 180] degrees, got {smooth_angle_deg}")
    me.shade_smooth()
    me.set_sharp_from_angle(angle=math.radians(smooth_angle_deg))


def load_mesh(name: str, path: str | os.PathLike, smooth_angle_deg: float | None = SMOOTH_ANGLE_DEG) -> "bpy.types.Mesh":
    """Parse an OBJ and make a Blender mesh datablock named ``name``, shaded smooth by angle."""
    v, f = parse_obj(path)
    me = mesh_from_arrays(name, v, f)
    set_shading(me, smooth_angle_deg)
    return me
