"""The five part corruptions: position, rotation, broken, swapped, missing.

``corrupt(shape, type, rng)`` -> ``(corrupted shape, CorruptionRecord)`` or ``Refused``;
``apply_record(shape, record)`` replays a record without randomness. One module per type
(``Params`` dataclass, ``eligible``, ``sample``, ``apply``), ``checks`` for significance,
``repair`` for watertightness, ``output`` for the on-disk folder.
"""

from datagen.corrupt.base import (
    RECORD_VERSION,
    TYPES,
    CorruptionRecord,
    apply_record,
    corrupt,
    default_params,
    type_module,
)
from datagen.corrupt.checks import Thresholds, chamfer_distance, check
from datagen.corrupt.output import corrupted_id, read_record, write_corrupted

__all__ = [
    "TYPES",
    "RECORD_VERSION",
    "CorruptionRecord",
    "corrupt",
    "apply_record",
    "default_params",
    "type_module",
    "Thresholds",
    "check",
    "chamfer_distance",
    "write_corrupted",
    "read_record",
    "corrupted_id",
]
