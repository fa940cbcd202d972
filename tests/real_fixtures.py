"""Hand-built meshes and folders that look like real data (PartNet/ShapeNet, PartNet-Mobility, ABC).

Meshes are ``(vertices (n, 3) float64, faces (k, 3) int64)`` pairs, a few faces each:

- ``box``: a closed, outward-wound box (12 triangles, 8 shared vertices).
- ``cylinder``: a closed, outward-wound cylinder (curved side: tests smooth shading).
- ``double_sided``: every triangle stored twice with opposite winding, the back copy on its
  own vertices (what ShapeNet files do; welding puts both copies on the same vertices).
- ``flip_patch``: some faces with reversed winding.
- ``seat_sheet``: a thin open sheet (a slightly curved seat surface), single layer.
- ``soup``: every triangle on its own three vertices (unwelded).
- ``with_degenerate``: extra faces with a repeated vertex, or collinear vertices.

Folders: ``make_mobility`` (PartNet-Mobility: ``mobility_v2.json``, ``result.json``,
``textured_objs/*.obj`` with ``mtllib``/``usemtl``/``vt``/``vn``, ``meta.json``) and
``make_abc_stl`` (an ABC model folder holding only a binary STL of two disconnected bodies).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np


def box(lo=(0.0, 0.0, 0.0), hi=(1.0, 1.0, 1.0)) -> tuple[np.ndarray, np.ndarray]:
    (x0, y0, z0), (x1, y1, z1) = lo, hi
    v = np.array([[x, y, z] for x in (x0, x1) for y in (y0, y1) for z in (z0, z1)], dtype=np.float64)
    # vertex i = (x bit 4, y bit 2, z bit 1); outward winding
    f = np.array(
        [[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
         [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]],
        dtype=np.int64,
    )
    return v, f


def cylinder(radius=0.2, height=0.6, sections=24, center=(0.0, 0.0, 0.0)) -> tuple[np.ndarray, np.ndarray]:
    """Closed cylinder along Z, outward winding; caps fanned from a centre vertex."""
    a = 2 * np.pi * np.arange(sections) / sections
    ring = np.stack([radius * np.cos(a), radius * np.sin(a)], 1)
    bottom = np.column_stack([ring, np.full(sections, -height / 2)])
    top = np.column_stack([ring, np.full(sections, height / 2)])
    v = np.concatenate([bottom, top, [[0, 0, -height / 2], [0, 0, height / 2]]]) + np.asarray(center, dtype=float)
    i = np.arange(sections)
    j = (i + 1) % sections
    cb, ct = 2 * sections, 2 * sections + 1
    side = np.concatenate([np.stack([i, j, sections + j], 1), np.stack([i, sections + j, sections + i], 1)])
    caps = np.concatenate([np.stack([np.full(sections, cb), j, i], 1), np.stack([np.full(sections, ct), sections + i, sections + j], 1)])
    return v.astype(np.float64), np.concatenate([side, caps]).astype(np.int64)


def double_sided(v, f, shared_vertices=False) -> tuple[np.ndarray, np.ndarray]:
    """Every triangle twice, the copy reversed; the copies interleave (t0, t0', t1, t1', ...)."""
    v, f = np.asarray(v, dtype=np.float64), np.asarray(f, dtype=np.int64)
    if shared_vertices:
        back = f[:, ::-1]
        vv = v
    else:
        back = f[:, ::-1] + len(v)
        vv = np.concatenate([v, v])
    ff = np.empty((2 * len(f), 3), dtype=np.int64)
    ff[0::2], ff[1::2] = f, back
    return vv, ff


def flip_patch(v, f, faces_to_flip) -> tuple[np.ndarray, np.ndarray]:
    f = np.array(f, dtype=np.int64)
    idx = np.asarray(faces_to_flip)
    f[idx] = f[idx][:, ::-1]
    return np.asarray(v, dtype=np.float64), f


def seat_sheet(nx=6, ny=5, size=(0.5, 0.45), sag=0.02, z=0.0) -> tuple[np.ndarray, np.ndarray]:
    """An open, slightly sagging grid (a seat surface), normals up, (nx*ny) vertices."""
    xs = np.linspace(-size[0] / 2, size[0] / 2, nx)
    ys = np.linspace(-size[1] / 2, size[1] / 2, ny)
    X, Y = np.meshgrid(xs, ys, indexing="ij")
    Z = z - sag * (1 - (2 * X / size[0]) ** 2) * (1 - (2 * Y / size[1]) ** 2)
    v = np.stack([X.ravel(), Y.ravel(), Z.ravel()], 1)
    idx = np.arange(nx * ny).reshape(nx, ny)
    a, b, c, d = idx[:-1, :-1].ravel(), idx[1:, :-1].ravel(), idx[1:, 1:].ravel(), idx[:-1, 1:].ravel()
    f = np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)])
    return v, f.astype(np.int64)


def soup(v, f) -> tuple[np.ndarray, np.ndarray]:
    """Every triangle on its own three vertices."""
    v, f = np.asarray(v, dtype=np.float64), np.asarray(f, dtype=np.int64)
    return v[f].reshape(-1, 3), np.arange(3 * len(f), dtype=np.int64).reshape(-1, 3)


def with_degenerate(v, f) -> tuple[np.ndarray, np.ndarray]:
    """Adds 3 degenerate faces: a repeated vertex, a collinear triple (a new midpoint vertex),
    and a zero-length-edge triangle made of two coincident vertex copies."""
    v, f = np.asarray(v, dtype=np.float64), np.asarray(f, dtype=np.int64)
    a, b = f[0, 0], f[0, 1]
    mid = (v[a] + v[b]) / 2
    v2 = np.concatenate([v, [mid, v[a]]])
    n = len(v)
    extra = np.array([[a, a, b], [a, n, b], [a, n + 1, b]], dtype=np.int64)
    return v2, np.concatenate([f, extra])


def merge(*meshes) -> tuple[np.ndarray, np.ndarray]:
    vs, fs, off = [], [], 0
    for v, f in meshes:
        vs.append(np.asarray(v, dtype=np.float64))
        fs.append(np.asarray(f, dtype=np.int64) + off)
        off += len(v)
    return np.concatenate(vs), np.concatenate(fs)


# --- files ---------------------------------------------------------------------------------
def textured_obj_text(v, f, material="mat0") -> str:
    """A PartNet-Mobility style OBJ: mtllib, usemtl, v, vt, vn, ``f v/vt/vn``, one group."""
    lines = ["# textured_objs", "mtllib model.mtl", "g mesh"]
    lines += [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in v]
    lines += ["vt 0 0", "vt 1 0", "vt 0 1", "vn 0 1 0", f"usemtl {material}", "s 1"]
    lines += [f"f {a + 1}/1/1 {b + 1}/2/1 {c + 1}/3/1" for a, b, c in f]
    return "\n".join(lines) + "\n"


# A small cabinet, Y up, source units: a body (two panels + top, double-sided like ShapeNet),
# a door on a hinge and a drawer on a slider.
MOBILITY_BOXES = {
    "original-1": ((-0.5, 0.0, -0.3), (-0.46, 1.0, 0.3)),  # left panel
    "original-2": ((0.46, 0.0, -0.3), (0.5, 1.0, 0.3)),  # right panel
    "original-3": ((-0.5, 1.0, -0.3), (0.5, 1.04, 0.3)),  # top
    "new-4": ((-0.46, 0.5, 0.28), (0.46, 1.0, 0.3)),  # door
    "new-5": ((-0.46, 0.0, -0.28), (0.46, 0.5, 0.3)),  # drawer box
    "new-6": ((-0.05, 0.2, 0.3), (0.05, 0.25, 0.34)),  # drawer handle
}
MOBILITY_RESULT = [
    {
        "id": 0, "name": "storage_furniture", "text": "Storage Furniture",
        "children": [
            {
                "id": 1, "name": "cabinet", "text": "Cabinet",
                "children": [
                    {"id": 2, "name": "cabinet_frame", "text": "Cabinet Frame", "children": [
                        {"id": 3, "name": "vertical_side_panel", "text": "Vertical Side Panel", "objs": ["original-1"]},
                        {"id": 4, "name": "vertical_side_panel", "text": "Vertical Side Panel", "objs": ["original-2"]},
                        {"id": 5, "name": "top_panel", "text": "Top Panel", "objs": ["original-3"]},
                    ]},
                    {"id": 6, "name": "cabinet_door", "text": "Cabinet Door", "children": [
                        {"id": 7, "name": "door_surface", "text": "Door Surface", "objs": ["new-4"]},
                    ]},
                    {"id": 8, "name": "drawer", "text": "Drawer", "children": [
                        {"id": 9, "name": "drawer_box", "text": "Drawer Box", "objs": ["new-5"]},
                        {"id": 10, "name": "handle", "text": "Handle", "objs": ["new-6"]},
                    ]},
                ],
            }
        ],
    }
]
MOBILITY_V2 = [
    {"id": 0, "parent": 2, "joint": "hinge", "name": "rotation_door",
     "parts": [{"id": 6, "name": "cabinet_door", "children": [7]}, {"id": 7, "name": "door_surface", "children": []}],
     "jointData": {"axis": {"origin": [-0.46, 0.75, 0.3], "direction": [0, 1, 0]},
                   "limit": {"a": 0, "b": 90, "noLimit": False}}},
    {"id": 1, "parent": 2, "joint": "slider", "name": "drawer",
     "parts": [{"id": 8, "name": "drawer", "children": [9, 10]}, {"id": 9, "name": "drawer_box", "children": []},
               {"id": 10, "name": "handle", "children": []}],
     "jointData": {"axis": {"origin": [0, 0, 0], "direction": [0, 0, 1]},
                   "limit": {"a": 0, "b": 0.4, "noLimit": False}}},
    {"id": 2, "parent": -1, "joint": "heavy", "name": "furniture_body",
     "parts": [{"id": 2, "name": "cabinet_frame", "children": [3, 4, 5]}, {"id": 3, "name": "vertical_side_panel", "children": []},
               {"id": 4, "name": "vertical_side_panel", "children": []}, {"id": 5, "name": "top_panel", "children": []}],
     "jointData": {}},
]


def make_mobility(root: Path, model_id="45135", cat="StorageFurniture", double=("original-1", "original-2", "original-3")) -> Path:
    """A PartNet-Mobility model folder under ``root``; the OBJs in ``double`` are double-sided."""
    folder = Path(root) / model_id
    (folder / "textured_objs").mkdir(parents=True)
    for stem, (lo, hi) in MOBILITY_BOXES.items():
        v, f = box(lo, hi)
        if stem in double:
            v, f = double_sided(v, f)
        (folder / "textured_objs" / f"{stem}.obj").write_text(textured_obj_text(v, f))
        (folder / "textured_objs" / f"{stem}.mtl").write_text("newmtl mat0\nKd 0.8 0.8 0.8\n")
    (folder / "result.json").write_text(json.dumps(MOBILITY_RESULT))
    (folder / "mobility_v2.json").write_text(json.dumps(MOBILITY_V2))
    (folder / "meta.json").write_text(json.dumps({"model_cat": cat, "model_id": "b7e8a1", "anno_id": "4321", "version": "1"}))
    (folder / "mobility.urdf").write_text("<robot name=\"partnet\"></robot>\n")
    (folder / "semantics.txt").write_text("link_0 hinge rotation_door\nlink_1 slider drawer\nlink_2 heavy furniture_body\n")
    (folder / "bounding_box.json").write_text(json.dumps({"min": [-0.5, 0, -0.3], "max": [0.5, 1.04, 0.34]}))
    return folder


def binary_stl(v, f, header=b"ABC stl") -> bytes:
    """Binary STL bytes (80-byte header, count, 50 bytes per triangle, float32)."""
    v, f = np.asarray(v, dtype=np.float64), np.asarray(f, dtype=np.int64)
    tri = v[f]
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-30)
    rec = np.zeros(len(f), dtype=np.dtype([("n", "<f4", 3), ("v", "<f4", (3, 3)), ("attr", "<u2")]))
    rec["n"], rec["v"] = n, tri
    return header.ljust(80, b" ") + struct.pack("<I", len(f)) + rec.tobytes()


ABC_STL_ID = "00000050"


def make_abc_stl(root: Path, model_id=ABC_STL_ID, name=None) -> Path:
    """An ABC model folder holding only ``<id>_<hash>_trimesh_000.stl``: a long bar and a plate
    (CAD units, Z up, two disconnected bodies)."""
    folder = Path(root) / model_id
    folder.mkdir(parents=True)
    bar = box((0, 0, 0), (60, 6, 6))
    plate = box((0, 20, 0), (30, 50, 2))
    v, f = merge(bar, plate)
    fname = name or f"{model_id}_80d90bfdd2e74e709956122a_trimesh_000.stl"
    (folder / fname).write_bytes(binary_stl(v, f))
    return folder
