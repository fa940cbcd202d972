"""``SceneBundle``: a SceneSpec plus the meshes it references, as a spec builder returns it.

Builders are pure: they return bundles in memory and write nothing. A bundle's spec names
its meshes ``meshes/<key>.obj`` where ``key`` is a hash of the mesh's arrays, so the spec
bytes depend only on the geometry (two plans of one config give the same bytes) and equal
meshes share one file. ``bundle.write(folder)`` puts the meshes and the spec JSON there;
the spec then renders with ``blender_scripts.render.render_files`` or ``datagen render-spec``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from datagen.io import atomic_write_text
from datagen.shapes.objio import format_obj
from datagen.spec import Material, SceneObject, SceneSpec

MESH_DIR = "meshes"


def mesh_key(vertices: np.ndarray, faces: np.ndarray) -> str:
    """16 hex characters from the bytes of ``vertices`` (n, 3) float64 and ``faces`` (k, 3) int64."""
    h = hashlib.blake2b(digest_size=8)
    h.update(np.ascontiguousarray(vertices, dtype="<f8").tobytes())
    h.update(b"|")
    h.update(np.ascontiguousarray(faces, dtype="<i8").tobytes())
    return h.hexdigest()


@dataclass
class MeshSet:
    """The meshes a spec under construction references: relative path -> (vertices, faces)."""

    meshes: dict = field(default_factory=dict)

    def add(self, vertices: np.ndarray, faces: np.ndarray) -> str:
        """Register a mesh (metres, object frame); returns its path in the spec (``meshes/<key>.obj``)."""
        rel = f"{MESH_DIR}/{mesh_key(vertices, faces)}.obj"
        self.meshes.setdefault(rel, (vertices, faces))
        return rel

    def object(self, name: str, vertices, faces, pass_index: int, material: Material | None = None,
               pose=None) -> SceneObject:
        """A SceneObject whose mesh is registered here. pose : (4, 4) world-from-mesh (identity if None)."""
        kw = {} if pose is None else {"pose": pose}
        return SceneObject(name, self.add(vertices, faces), int(pass_index), material=material, **kw)


@dataclass(frozen=True, eq=False)
class SceneBundle:
    """tag : what the render is for (``ref``, ``normal``, ``original_index``, ``corrupted_index``,
    ``anomaly``, ``scene``); spec : the SceneSpec; meshes : relative mesh path -> (vertices, faces)."""

    tag: str
    spec: SceneSpec
    meshes: dict

    def write(self, folder: str | os.PathLike) -> Path:
        """Write the meshes (skipping files already there: names are content hashes) and
        ``<folder>/<tag>.json``; returns the spec's path."""
        folder = Path(folder)
        for rel, (v, f) in sorted(self.meshes.items()):
            p = folder / rel
            if not p.is_file():
                atomic_write_text(p, format_obj(v, f))
        return self.spec.save(folder / f"{self.tag}.json")

    def spec_json(self, mesh_root: str | os.PathLike | None = None) -> dict:
        """The spec as JSON; with ``mesh_root``, mesh paths are made absolute under it."""
        d = self.spec.to_json()
        if mesh_root is not None:
            root = Path(mesh_root).resolve()
            for o in d["objects"]:
                o["mesh"] = str(root / o["mesh"])
        return d
