"""Plumbing shared by the toy-category generators (``furniture``, ``tableware``,
``vehicles``, ``figures``): random-draw helpers and a part accumulator.

Each category module gives, per category, a sampler ``sample_<category>(rng) -> dict``
(every random choice; lengths in metres, angles in radians, JSON types only) and a builder
``build_<category>(params) -> PartList`` (pure geometry, no randomness). ``datagen.shapes.
procedural.toys`` registers them and turns a ``PartList`` into a normalized ``Shape``.
"""

from __future__ import annotations

import numpy as np

from datagen.shapes.model import Part, Shape
from datagen.shapes.normalize import normalize


def u(rng: np.random.Generator, lo: float, hi: float) -> float:
    """A float drawn uniformly in ``[lo, hi)``."""
    return float(rng.uniform(lo, hi))


def pick(rng: np.random.Generator, options, p=None) -> str:
    """One of ``options`` (strings), optionally with probabilities ``p``."""
    return str(options[int(rng.choice(len(options), p=p))])


def chance(rng: np.random.Generator, prob: float) -> bool:
    """True with probability ``prob``."""
    return bool(rng.random() < prob)


class PartList:
    """Parts of one shape in its building frame (metres, Z up, floor at z = 0).

    category : str, first component of every path. paths : dict key -> semantic path
    (``/``-joined, starting with ``category``); a part's label is its path's last component.
    """

    def __init__(self, category: str, paths: dict[str, str]):
        self.category = category
        self.paths = paths
        self.items: list[tuple[str, str, str, np.ndarray, np.ndarray]] = []
        self._counts: dict[str, int] = {}

    def add(self, key: str, mesh: tuple[np.ndarray, np.ndarray], name: str | None = None) -> str:
        """Add a part with the path of ``key``; ``mesh`` = (vertices (n, 3) float64 metres,
        faces (k, 3) int64). ``name`` defaults to ``<label>_<i>`` (i counts that label).
        Returns the part name."""
        path = self.paths[key]
        label = path.rsplit("/", 1)[1]
        if name is None:
            i = self._counts.get(label, 0)
            self._counts[label] = i + 1
            name = f"{label}_{i}"
        self.items.append((name, label, path, np.asarray(mesh[0], dtype=np.float64), np.asarray(mesh[1], dtype=np.int64)))
        return name

    def to_shape(self, shape_id: str, params: dict, normalized: bool = True) -> Shape:
        """The Shape (source ``procedural``, ``meta = {"generator": category, "params": params}``),
        normalized (bbox centre at 0, diagonal 1) unless ``normalized=False``."""
        parts = tuple(Part(n, lab, v, f, path) for n, lab, path, v, f in self.items)
        shape = Shape(shape_id, self.category, parts, source="procedural", meta={"generator": self.category, "params": params})
        return normalize(shape, up="z") if normalized else shape
