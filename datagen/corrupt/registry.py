"""The corruption types: one line per type, name -> the module that implements it.

A type module defines ``Params``, ``Thresholds``, ``eligible``, ``sample``, ``apply``,
``measure`` and ends with ``CORRUPTION = CorruptionType(...)`` (``datagen.corrupt.base``).
Adding a type is one new module and one line here: ``datagen corrupt``, ``generate``,
``stats``, ``verify`` and ``preview`` read the list from ``TYPES``.
Modules are imported on first use (``get``), so reading ``TYPES`` costs nothing.
"""

from __future__ import annotations

import importlib

_MODULES = {
    "position": "datagen.corrupt.position",
    "rotation": "datagen.corrupt.rotation",
    "broken": "datagen.corrupt.broken",
    "swapped": "datagen.corrupt.swapped",
    "missing": "datagen.corrupt.missing",
    "scale": "datagen.corrupt.scale",
    "bend": "datagen.corrupt.bend",
    "twist": "datagen.corrupt.twist",
    "dent": "datagen.corrupt.dent",
    "crack": "datagen.corrupt.crack",
    "fracture": "datagen.corrupt.fracture",
}

#: Every corruption type, in a fixed order (plans, tables and previews follow it).
TYPES: tuple[str, ...] = tuple(_MODULES)
#: Anomalies that change no geometry: ``material`` (one copy of an object in a scene wears another material).
NON_GEOMETRIC: tuple[str, ...] = ("material",)
#: Every anomaly type a dataset may hold: the corruption types, then the non-geometric ones.
ANOMALY_TYPES: tuple[str, ...] = TYPES + NON_GEOMETRIC


def check_type(kind: str) -> str:
    """``kind`` if it names a corruption type, else ``ValueError`` listing the known ones."""
    if kind not in _MODULES:
        raise ValueError(f"corruption type {kind!r}: expected one of {', '.join(TYPES)}")
    return kind


def get(kind: str):
    """The ``CorruptionType`` of ``kind`` (its module is imported on first use)."""
    return importlib.import_module(_MODULES[check_type(kind)]).CORRUPTION
