"""What the cutting corruptions (broken, crack, fracture) share: the part as a closed solid, the
boolean cut, the volume check and a rough cutter.

- ``watertight``: the part as a ``manifold3d.Manifold`` for booleans (``repair.make_watertight``).
- ``subtract``: the part minus a cutter solid (``apply`` of each cutting type).
- ``removed_volume``: watertight after the cut, and the share of the volume it lost (``measure``).
- ``rough_heights`` / ``rough_cutter``: a block whose floor is a sum of sine waves.

Units: metres; local frames are stated per function.
"""

from __future__ import annotations

import numpy as np

from datagen.corrupt.geometry import diagonal
from datagen.corrupt.repair import from_manifold, make_watertight
from datagen.errors import Refused
from datagen.shapes.model import Shape


def watertight(shape: Shape, part: str, method: str | None = None, hull_max_fraction: float = 0.1):
    """``(manifold3d.Manifold, method)`` of ``part`` repaired by ``repair.make_watertight``.

    method : None tries every repair (``sample``); a recorded name runs only that one (``apply``).
    """
    p = shape.part(part)
    if method is not None:
        return make_watertight(p.vertices, p.faces, name=part, method=method, hull_max_fraction=np.inf)
    frac = diagonal(p.bounds) / max(diagonal(shape.bounds), 1e-12)
    return make_watertight(p.vertices, p.faces, name=part, part_fraction=frac, hull_max_fraction=hull_max_fraction)


def subtract(shape: Shape, part: str, sampled: dict, cutter, name: str) -> Shape:
    """``shape`` with ``part`` replaced by its watertight solid (the repair recorded in
    ``sampled["repair"]``) minus ``cutter`` (a ``manifold3d.Manifold``); refused if nothing is left."""
    p = shape.part(part)
    solid, _ = watertight(shape, part, sampled["repair"])
    left = solid - cutter
    if left.is_empty():
        raise Refused(f"{name}: part {part}: the cut removed the whole part")
    mesh = from_manifold(left)
    return shape.replace_part(part, p.with_geometry(mesh.vertices, mesh.faces))


def removed_volume(after, record, name: str) -> dict:
    """``{"volume_after", "removed_fraction"}`` of the cut part ``after`` against the recorded
    ``volume_before``; refused if the part is not watertight after the cut."""
    mesh = after.mesh()
    if not mesh.is_watertight:
        raise Refused(f"{name}: part {record.part} is not watertight after the cut")
    v0, v1 = float(record.params["volume_before"]), float(mesh.volume)
    return {"volume_after": v1, "removed_fraction": (v0 - v1) / v0 if v0 > 0 else 0.0}


def rough_heights(x: np.ndarray, y: np.ndarray, amplitude: float, modes, scale: float) -> np.ndarray:
    """Heights (metres) of a rough surface at points ``(x, y)`` (metres, any equal shapes).

    ``h = amplitude * sum_k sin(2 pi f_k (cos a_k x + sin a_k y) / scale + phase_k) / f_k / sum_k 1 / f_k``
    with ``modes`` rows ``(a_k radians, f_k cycles per scale, phase_k radians)``: waves of
    several directions and wavelengths, the short ones weaker; ``|h| <= amplitude``.
    """
    modes = np.asarray(modes, dtype=np.float64).reshape(-1, 3)
    h = np.zeros(np.broadcast(x, y).shape)
    for a, freq, phase in modes:
        h += np.sin(2 * np.pi * freq * (np.cos(a) * x + np.sin(a) * y) / scale + phase) / freq
    return amplitude * h / (1.0 / modes[:, 1]).sum()


def rough_cutter(bounds, shape, amplitude: float, modes, height: float):
    """A closed ``manifold3d.Manifold`` in a local frame: ``z`` from a rough floor to ``height``.

    bounds : ``(x0, x1, y0, y1)`` metres, the footprint. shape : ``(nx, ny)`` grid nodes
    (>= 2 each). The floor is the ``nx x ny`` grid at ``z = rough_heights(x, y, amplitude,
    modes, scale)`` (``scale``: the footprint's longer side); the top a flat grid at ``height``
    (above every floor node), joined by side walls. Outward-oriented, watertight.
    """
    import manifold3d

    x0, x1, y0, y1 = (float(b) for b in bounds)
    nx, ny = int(shape[0]), int(shape[1])
    gx, gy = np.meshgrid(np.linspace(x0, x1, nx), np.linspace(y0, y1, ny), indexing="ij")
    z = rough_heights(gx, gy, amplitude, modes, max(x1 - x0, y1 - y0))
    bottom = np.stack([gx.ravel(), gy.ravel(), z.ravel()], axis=1)
    top = np.stack([gx.ravel(), gy.ravel(), np.full(nx * ny, float(height))], axis=1)
    node = np.arange(nx * ny).reshape(nx, ny)
    c00, c10, c01, c11 = node[:-1, :-1].ravel(), node[1:, :-1].ravel(), node[:-1, 1:].ravel(), node[1:, 1:].ravel()
    top_faces = np.concatenate([np.stack([c00, c10, c11], 1), np.stack([c00, c11, c01], 1)]) + nx * ny
    bottom_faces = np.concatenate([np.stack([c00, c11, c10], 1), np.stack([c00, c01, c11], 1)])
    ring = np.concatenate([node[:, 0], node[-1, 1:], node[-2::-1, -1], node[0, -2:0:-1]])  # counter-clockwise
    p, q = ring, np.roll(ring, -1)
    sides = np.concatenate([np.stack([p, q, q + nx * ny], 1), np.stack([p, q + nx * ny, p + nx * ny], 1)])
    tris = np.concatenate([bottom_faces, top_faces, sides])
    mesh = manifold3d.Mesh64(vert_properties=np.ascontiguousarray(np.vstack([bottom, top])),
                             tri_verts=np.ascontiguousarray(tris, dtype=np.uint64))
    return manifold3d.Manifold(mesh)
