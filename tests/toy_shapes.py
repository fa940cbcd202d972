"""Tiny part-annotated shapes built from trimesh primitives, for tests and benchmarks.

``box_chair(shape_id, rng)``: a seat, a back and four legs, boxes (optionally cylinder
legs), sizes jittered with ``rng``; metres, Z up, roughly 0.5 x 0.5 x 0.9.
"""

from __future__ import annotations

import numpy as np
import trimesh

from datagen.shapes.model import Part, Shape


def _box(name: str, label: str, extents, center, path: str) -> Part:
    m = trimesh.creation.box(extents=np.asarray(extents, dtype=np.float64))
    return Part(name, label, m.vertices + np.asarray(center, dtype=np.float64), m.faces, path)


def _cylinder(name: str, label: str, radius: float, height: float, center, path: str, sections: int = 16) -> Part:
    m = trimesh.creation.cylinder(radius=radius, height=height, sections=sections)
    return Part(name, label, m.vertices + np.asarray(center, dtype=np.float64), m.faces, path)


def box_chair(shape_id: str, rng: np.random.Generator, cylinder_legs: bool = False) -> Shape:
    """A 6-part chair: ``seat``, ``back``, ``leg_0..3`` (labels ``chair_seat``, ``chair_back``, ``leg``)."""
    w = float(rng.uniform(0.4, 0.55))
    d = float(rng.uniform(0.4, 0.55))
    h = float(rng.uniform(0.4, 0.5))
    t = float(rng.uniform(0.03, 0.06))
    leg = float(rng.uniform(0.03, 0.06))
    back_h = float(rng.uniform(0.35, 0.5))
    parts = [
        _box("seat", "chair_seat", [w, d, t], [0, 0, h + t / 2], "chair/chair_seat"),
        _box("back", "chair_back", [w, t, back_h], [0, d / 2 - t / 2, h + t + back_h / 2], "chair/chair_back"),
    ]
    for i, (sx, sy) in enumerate([(-1, -1), (1, -1), (1, 1), (-1, 1)]):
        c = [sx * (w / 2 - leg / 2), sy * (d / 2 - leg / 2), h / 2]
        path = "chair/chair_base/regular_leg_base/leg"
        if cylinder_legs:
            parts.append(_cylinder(f"leg_{i}", "leg", leg / 2, h, c, path))
        else:
            parts.append(_box(f"leg_{i}", "leg", [leg, leg, h], c, path))
    return Shape(shape_id, "chair", tuple(parts), source="toy")
