"""The Shape model: an id, a category and named, labelled triangle-mesh parts.

Units and frames: vertices are ``(n, 3) float64`` metres in the shape's own frame,
Z up, after normalization (see ``datagen.shapes.normalize``). Faces are ``(k, 3) int64``
indices into that part's vertices. Arrays are copied and made read-only on
construction, so a Shape is a value: corruptions return new Shapes.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")


def _frozen_array(a, dtype, name: str, owner: str) -> np.ndarray:
    arr = np.array(a, dtype=dtype, copy=True)
    if arr.size == 0:
        arr = arr.reshape(0, 3)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValueError(f"{owner}: {name} must have shape (n, 3), got {arr.shape}")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Part:
    """One part of a shape.

    name : str, unique within its shape; also the OBJ file stem in a shape library.
    label : str, semantic label (PartNet names for chairs, e.g. ``leg``, ``chair_back``).
    vertices : (n, 3) float64, metres, shape frame (Z up).
    faces : (k, 3) int64, indices into ``vertices``.
    path : str, semantic path in the part hierarchy, ``/``-joined, ending in ``label``
        (e.g. ``chair/chair_base/regular_leg_base/leg``). Defaults to ``label``.
    """

    name: str
    label: str
    vertices: np.ndarray
    faces: np.ndarray
    path: str = ""

    def __post_init__(self):
        if not self.name or not _NAME_RE.match(self.name):
            raise ValueError(f"part name {self.name!r}: use letters, digits, '_', '-', '.'")
        if not self.label:
            raise ValueError(f"part {self.name}: empty label")
        object.__setattr__(self, "vertices", _frozen_array(self.vertices, np.float64, "vertices", self.name))
        object.__setattr__(self, "faces", _frozen_array(self.faces, np.int64, "faces", self.name))
        if not self.path:
            object.__setattr__(self, "path", self.label)
        if len(self.faces) and (self.faces.min() < 0 or self.faces.max() >= len(self.vertices)):
            raise ValueError(f"part {self.name}: face index out of range [0, {len(self.vertices)})")
        if not np.all(np.isfinite(self.vertices)):
            raise ValueError(f"part {self.name}: non-finite vertex coordinates")

    # --- geometry helpers -------------------------------------------------------
    @property
    def bounds(self) -> np.ndarray:
        """(2, 3) float64: min and max corner of the axis-aligned box."""
        if len(self.vertices) == 0:
            return np.zeros((2, 3))
        return np.stack([self.vertices.min(0), self.vertices.max(0)])

    @property
    def center(self) -> np.ndarray:
        """(3,) float64: centre of the axis-aligned box."""
        return self.bounds.mean(0)

    @property
    def extents(self) -> np.ndarray:
        """(3,) float64: box size."""
        b = self.bounds
        return b[1] - b[0]

    def mesh(self):
        """A ``trimesh.Trimesh`` copy (not processed: vertex order kept)."""
        import trimesh

        return trimesh.Trimesh(np.array(self.vertices), np.array(self.faces), process=False)

    def replace(self, **changes) -> "Part":
        return dataclasses.replace(self, **changes)

    def with_geometry(self, vertices, faces) -> "Part":
        return dataclasses.replace(self, vertices=vertices, faces=faces)

    def transformed(self, matrix: np.ndarray) -> "Part":
        """Apply a (4, 4) homogeneous transform to the vertices."""
        m = np.asarray(matrix, dtype=np.float64)
        v = self.vertices @ m[:3, :3].T + m[:3, 3]
        return self.with_geometry(v, self.faces)


@dataclass(frozen=True, eq=False)
class Shape:
    """A part-annotated shape.

    id : str, unique in a library (folder name).
    category : str, e.g. ``chair`` or ``mechanical``.
    parts : tuple of Part, unique names.
    source : str, where it came from (``procedural``, ``partnet``, ``abc``, ``meshfile``).
    meta : dict, JSON-serializable provenance (generator parameters, normalization ...).
    """

    id: str
    category: str
    parts: tuple
    source: str = "procedural"
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        if not self.id or not _NAME_RE.match(self.id):
            raise ValueError(f"shape id {self.id!r}: use letters, digits, '_', '-', '.'")
        parts = tuple(self.parts)
        names = [p.name for p in parts]
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"shape {self.id}: duplicate part names {dup}")
        for p in parts:
            if not isinstance(p, Part):
                raise TypeError(f"shape {self.id}: parts must be Part, got {type(p).__name__}")
        object.__setattr__(self, "parts", parts)
        object.__setattr__(self, "meta", dict(self.meta))

    # --- access -------------------------------------------------------------------
    def part(self, name: str) -> Part:
        for p in self.parts:
            if p.name == name:
                return p
        raise KeyError(f"shape {self.id}: no part named {name!r}")

    def part_index(self, name: str) -> int:
        for i, p in enumerate(self.parts):
            if p.name == name:
                return i
        raise KeyError(f"shape {self.id}: no part named {name!r}")

    @property
    def labels(self) -> list[str]:
        """Distinct semantic labels, in part order."""
        return list(dict.fromkeys(p.label for p in self.parts))

    def parts_with_label(self, label: str) -> list[Part]:
        return [p for p in self.parts if p.label == label]

    @property
    def vertices(self) -> np.ndarray:
        """(n, 3) float64: all part vertices stacked."""
        if not self.parts:
            return np.zeros((0, 3))
        return np.concatenate([p.vertices for p in self.parts])

    @property
    def bounds(self) -> np.ndarray:
        v = self.vertices
        if len(v) == 0:
            return np.zeros((2, 3))
        return np.stack([v.min(0), v.max(0)])

    def mesh(self):
        """All parts concatenated into one ``trimesh.Trimesh``."""
        import trimesh

        return trimesh.util.concatenate([p.mesh() for p in self.parts])

    # --- functional updates ---------------------------------------------------------
    def replace(self, **changes) -> "Shape":
        return dataclasses.replace(self, **changes)

    def with_parts(self, parts: Iterable[Part]) -> "Shape":
        return dataclasses.replace(self, parts=tuple(parts))

    def replace_part(self, name: str, new: Part) -> "Shape":
        self.part(name)
        return self.with_parts(new if p.name == name else p for p in self.parts)

    def without_part(self, name: str) -> "Shape":
        self.part(name)
        return self.with_parts(p for p in self.parts if p.name != name)
