"""The procedural categories and their dispatcher, and the writer of a procedural shape library.

``generate(category, shape_id, rng)`` dispatches to ``chairs.generate_chair`` (PartNet chair
labels and paths), ``mechanical.generate_mechanical`` (flanges, brackets, shafts, gears with
parts labelled by mechanical role) or ``toys.generate_toy`` (ToysAD-like household and toy
categories: table, lamp, mug, cup, bottle, car, airplane, train, animal, robot, chess_piece).
``TOY_CATEGORIES`` (chair + the toy categories) is the pool Odd-One-Out scenes draw from.
``generate_library`` writes shapes ``start .. start+count-1`` of a category, shape ``i`` drawn
from its own seed (any shard or subset reproduces it).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from datagen.shapes.model import Shape
from datagen.shapes.procedural.chairs import generate_chair
from datagen.shapes.procedural.mechanical import generate_mechanical
from datagen.shapes.procedural.toys import NEW_CATEGORIES, generate_toy

#: Household / toy categories for Odd-One-Out scenes (seen / unseen-category splits).
TOY_CATEGORIES = ("chair",) + NEW_CATEGORIES
CATEGORIES = ("chair", "mechanical") + NEW_CATEGORIES


def generate(category: str, shape_id: str, rng: np.random.Generator) -> Shape:
    """One random shape of ``category`` (one of ``CATEGORIES``) named ``shape_id``."""
    if category == "chair":
        return generate_chair(shape_id, rng)
    if category == "mechanical":
        return generate_mechanical(shape_id, rng)
    if category in NEW_CATEGORIES:
        return generate_toy(category, shape_id, rng)
    raise ValueError(f"unknown procedural category {category!r}; choose one of {CATEGORIES}")


def shape_id_for(prefix: str, index: int) -> str:
    """The id of shape ``index`` in a procedural library: ``f"{prefix}_{index:06d}"``."""
    return f"{prefix}_{index:06d}"


def generate_library(
    category: str,
    count: int,
    out: str | os.PathLike,
    *,
    seed: int = 0,
    start: int = 0,
    prefix: str | None = None,
    kind: str | None = None,
    progress: bool = True,
):
    """Write shapes ``start .. start+count-1`` of ``category`` into the library ``out``.

    Shape ``i`` is ``shape_id_for(prefix, i)`` drawn from ``rng_for(seed, category, i)``, so
    any shard or subset reproduces the same shape ``i``. Shapes already in ``out`` are
    skipped (resume); each one is written atomically and once (processes generating the same
    library at once, e.g. the tasks of a Slurm array, never replace each other's folders). ``kind`` fixes the mechanical kind
    (``None``: drawn per shape). Returns the ``datagen.batch.BatchSummary``; failures go
    to ``out/failures.jsonl``.
    """
    from datagen.batch import DONE, SKIPPED, run_batch
    from datagen.seeding import rng_for
    from datagen.shapes.library import is_shape_dir, write_shape

    if category not in CATEGORIES:
        raise ValueError(f"unknown procedural category {category!r}; choose one of {CATEGORIES}")
    if count < 0 or start < 0:
        raise ValueError(f"count and start must be >= 0, got count={count}, start={start}")
    if kind is not None and category != "mechanical":
        raise ValueError("kind applies to category 'mechanical' only")
    prefix = prefix or (kind or category)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    def make(i: int) -> str:
        sid = shape_id_for(prefix, i)
        if is_shape_dir(out / sid):
            return SKIPPED
        rng = rng_for(seed, category, i)
        if kind is not None:
            shape = generate_mechanical(sid, rng, kind)
        else:
            shape = generate(category, sid, rng)
        shape = shape.replace(meta={**shape.meta, "seed": seed, "index": i})
        write_shape(shape, out, if_exists="keep")  # shape i is the same in every process: a twin's copy stays
        return DONE

    return run_batch(
        range(start, start + count),
        make,
        desc=f"{category} shapes",
        failures_path=out / "failures.jsonl",
        name=lambda i: shape_id_for(prefix, i),
        progress=progress,
    )
