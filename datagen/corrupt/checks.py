"""Validity and significance checks of a corruption, measured on the geometry itself.

``check(original, corrupted, record, thresholds)`` returns the measurements (a JSON dict
stored in the record's ``measured``) or raises ``Refused`` naming the failing measurement.

Always checked here: the result is non-empty, every part has finite vertices and in-range
faces, the parts are the original ones (less the anomalous part for types that remove it),
the anomalous part keeps its label, and every other part is unchanged. Then the type's own
``measure`` (in its module) decides significance with its ``Thresholds``; distances are in
metres and compared as a share of the original shape's bbox diagonal.
"""

from __future__ import annotations

import numpy as np

import datagen.corrupt.registry as registry
from datagen.corrupt.geometry import diagonal
from datagen.errors import Refused
from datagen.shapes.model import Part, Shape


def _check_valid(corrupted: Shape) -> None:
    if not corrupted.parts:
        raise Refused(f"shape {corrupted.id}: corrupted shape is empty")
    for p in corrupted.parts:
        if len(p.faces) == 0 or len(p.vertices) == 0:
            raise Refused(f"part {p.name}: empty mesh after corruption")
        if not np.all(np.isfinite(p.vertices)):
            raise Refused(f"part {p.name}: non-finite vertices after corruption")
        if p.faces.min() < 0 or p.faces.max() >= len(p.vertices):
            raise Refused(f"part {p.name}: face index out of range after corruption")


def _same(a: Part, b: Part) -> bool:
    return (
        a.name == b.name and a.label == b.label and a.vertices.shape == b.vertices.shape
        and a.faces.shape == b.faces.shape and np.array_equal(a.vertices, b.vertices)
        and np.array_equal(a.faces, b.faces)
    )


def check(original: Shape, corrupted: Shape, record, thresholds=None) -> dict:
    """Measure ``record``'s corruption of ``original`` into ``corrupted``; refuse if not valid or significant.

    thresholds : the type's ``Thresholds`` (defaults if None).
    Returns the measurements, JSON types (distances in metres and as shares ``*_rel``).
    """
    ctype = registry.get(record.type)
    th = ctype.Thresholds() if thresholds is None else thresholds
    if not isinstance(th, ctype.Thresholds):
        raise TypeError(f"{record.type}: thresholds must be {ctype.Thresholds.__qualname__}, got {type(th).__name__}")
    diag = max(diagonal(original.bounds), 1e-12)
    try:
        before = original.part(record.part)
    except KeyError:
        raise Refused(f"record names part {record.part!r}, not in shape {original.id}") from None
    if before.label != record.label:
        raise Refused(f"record labels part {record.part} {record.label!r}, shape says {before.label!r}")
    _check_valid(corrupted)
    names_after = [p.name for p in corrupted.parts]
    expected = [p.name for p in original.parts if not (ctype.removes_part and p.name == record.part)]
    if names_after != expected:
        raise Refused(f"{record.type}: parts after corruption {names_after} != expected {expected}")
    for p in original.parts:
        if p.name != record.part and not _same(p, corrupted.part(p.name)):
            raise Refused(f"{record.type}: part {p.name} changed but only {record.part} should")
    after = None
    if not ctype.removes_part:
        after = corrupted.part(record.part)
        if after.label != before.label:
            raise Refused(f"{record.type}: part {record.part} label changed {before.label!r} -> {after.label!r}")
    return {"shape_diagonal": diag, **ctype.measure(before, after, record, th, diag)}
