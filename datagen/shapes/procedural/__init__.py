"""Built-in procedural generator of part-annotated shapes (no download needed).

Every part is a closed, watertight, outward-oriented triangle mesh; the shape is normalized
(Z up, bbox centre at 0, bbox diagonal 1). Modules: ``library`` (``CATEGORIES``,
``TOY_CATEGORIES``, ``generate(category, shape_id, rng)`` and ``generate_library``),
``chairs`` / ``chair_params`` (PartNet chair labels and paths), ``mechanical`` (flanges,
brackets, shafts, gears), ``toys`` (ToysAD-like household and toy categories, built in
``furniture``, ``tableware``, ``vehicles``, ``trains``, ``figures``, ``chess``), and the
building blocks ``primitives`` and ``assembly``.
"""

from datagen.shapes.procedural.chair_params import sample_chair_params
from datagen.shapes.procedural.chairs import build_chair, generate_chair
from datagen.shapes.procedural.library import CATEGORIES, TOY_CATEGORIES, generate, generate_library, shape_id_for
from datagen.shapes.procedural.mechanical import KINDS, build_mechanical, generate_mechanical, sample_mechanical_params
from datagen.shapes.procedural.toys import build_toy, generate_toy, sample_toy_params

__all__ = [
    "CATEGORIES",
    "TOY_CATEGORIES",
    "KINDS",
    "generate",
    "generate_chair",
    "build_chair",
    "sample_chair_params",
    "generate_mechanical",
    "build_mechanical",
    "sample_mechanical_params",
    "generate_toy",
    "build_toy",
    "sample_toy_params",
    "generate_library",
    "shape_id_for",
]

