"""Registry of the ToysAD-like household and toy categories (Odd-One-Out scenes).

``sample_toy_params(category, rng)`` draws a JSON-serializable parameter dict (metres,
radians); ``build_toy(category, shape_id, params)`` turns it into a normalized Shape (Z up,
bbox centre at 0, bbox diagonal 1, standing on its base: the floor is the bbox bottom);
``generate_toy`` does both. ``shape.meta = {"generator": category, "params": params,
"normalization": ...}``, so ``build_toy(category, id, shape.meta["params"])`` rebuilds the
exact shape. Each part is one closed, watertight, outward-oriented triangle mesh with a
PartNet-style label and semantic path; repeated parts (legs, wheels) share a label.
"""

from __future__ import annotations

import numpy as np

import datagen.shapes.procedural.chess as chess
import datagen.shapes.procedural.figures as figures
import datagen.shapes.procedural.furniture as furniture
import datagen.shapes.procedural.tableware as tableware
import datagen.shapes.procedural.trains as trains
import datagen.shapes.procedural.vehicles as vehicles
from datagen.shapes.model import Shape

#: category -> (sampler ``rng -> params``, builder ``params -> PartList``)
REGISTRY = {
    "table": (furniture.sample_table, furniture.build_table),
    "lamp": (furniture.sample_lamp, furniture.build_lamp),
    "mug": (tableware.sample_mug, tableware.build_mug),
    "cup": (tableware.sample_cup, tableware.build_cup),
    "bottle": (tableware.sample_bottle, tableware.build_bottle),
    "car": (vehicles.sample_car, vehicles.build_car),
    "airplane": (vehicles.sample_airplane, vehicles.build_airplane),
    "train": (trains.sample_train, trains.build_train),
    "animal": (figures.sample_animal, figures.build_animal),
    "robot": (figures.sample_robot, figures.build_robot),
    "chess_piece": (chess.sample_chess_piece, chess.build_chess_piece),
}
NEW_CATEGORIES = tuple(REGISTRY)


def _entry(category: str):
    try:
        return REGISTRY[category]
    except KeyError:
        raise ValueError(f"unknown toy category {category!r}; choose one of {NEW_CATEGORIES}") from None


def sample_toy_params(category: str, rng: np.random.Generator) -> dict:
    """Every random choice of one ``category`` shape: a JSON-serializable dict (metres, radians)."""
    return _entry(category)[0](rng)


def build_toy(category: str, shape_id: str, params: dict, normalized: bool = True) -> Shape:
    """The ``category`` shape described by ``params``; no randomness.

    With ``normalized=False`` vertices stay in the building frame (metres, floor z = 0).
    """
    return _entry(category)[1](params).to_shape(shape_id, params, normalized)


def generate_toy(category: str, shape_id: str, rng: np.random.Generator) -> Shape:
    """A random normalized ``category`` shape; ``rng`` is the only source of randomness."""
    return build_toy(category, shape_id, sample_toy_params(category, rng))
