"""Shapes: the Shape model, the normalization rule, the on-disk library and the sources."""

from datagen.shapes.clean import CleanReport, clean_part, clean_shape
from datagen.shapes.library import iter_library, list_shapes, read_shape, write_shape
from datagen.shapes.model import Part, Shape
from datagen.shapes.normalize import normalize

__all__ = [
    "Part",
    "Shape",
    "normalize",
    "read_shape",
    "write_shape",
    "list_shapes",
    "iter_library",
    "clean_part",
    "clean_shape",
    "CleanReport",
]
