"""Where each object's copy of a procedural material sits: drawn here, in Python, never in Blender.

A preset material (``materials.presets``) is a 3D solid texture in object coordinates; two
parts that share a preset would look stamped out of one block if their patterns started at
the same place. ``sample_variation`` draws, per object, the offsets (metres, object space)
and angles (radians) that ``blender_scripts.materials`` applies to the shader graph's
Mapping nodes. They go into the SceneSpec (``Material.variation``) and meta.json, so a spec
renders the same image whatever job or render seed produced it.

The keys per substance are fixed (a graph that does not use one, e.g. wood planks on a
ring pattern, ignores it), so every object of a substance has the same JSON layout.
Texture-folder and flat materials have no variation (``{}``).
"""

from __future__ import annotations

import math

import numpy as np

from datagen.spec import Material

#: Named 3D offsets (object space, metres, uniform in [-10, 10]^3) each substance's graph uses.
OFFSETS = {
    "wood": ("grain", "planks"),
    "fabric": ("weave", "heather"),
    "leather": ("cells", "wrinkles", "wear"),
    "plastic": ("base", "scratches", "wear"),
    "metal": ("base", "streaks", "scratches", "oxide"),
}
#: Named 3D Euler rotations (radians, uniform in [0, pi)^3) of stretched scratch patterns.
ROTATIONS = {"plastic": ("scratches",), "metal": ("scratches",)}


def _r(x) -> list[float] | float:
    a = np.round(np.asarray(x, dtype=np.float64), 6)
    return a.tolist()


def sample_variation(material: Material | None, rng: np.random.Generator) -> dict:
    """Variation of one object's ``material``: ``{"offset": {name: [x, y, z]}, "rotation": {name: [rx, ry, rz]},
    "rings": {"distance", "angle", "along"}}`` (wood only: where the ring centre lies, metres / radians).

    ``{}`` for flat and texture materials. JSON types, rounded to 1e-6.
    """
    if material is None or material.kind != "preset":
        return {}
    sub = material.params.get("substance")
    if sub not in OFFSETS:
        raise ValueError(f"material {material.name}: unknown substance {sub!r}")
    v: dict = {"offset": {name: _r(rng.uniform(-10.0, 10.0, 3)) for name in OFFSETS[sub]}}
    if ROTATIONS.get(sub):
        v["rotation"] = {name: _r(rng.uniform(0.0, math.pi, 3)) for name in ROTATIONS[sub]}
    if sub == "wood":  # ring centre perpendicular to the grain: near for "rings", far (straight grain) otherwise
        near = material.params.get("pattern") == "rings"
        v["rings"] = {
            "distance": _r(rng.uniform(0.1, 0.8) if near else rng.uniform(4.0, 10.0)),
            "angle": _r(rng.uniform(0.0, 2 * math.pi)),
            "along": _r(rng.uniform(-10.0, 10.0)),
        }
    return v
