"""Part corruptions as plug-ins: position, rotation, broken, swapped, missing, scale, bend, twist,
dent, crack, fracture (``registry.TYPES``; ``registry.ANOMALY_TYPES`` adds ``material``, a scene's
material swap).

``corrupt(shape, type, rng)`` -> ``(corrupted shape, CorruptionRecord)`` or ``Refused``;
``apply_record(shape, record)`` replays a record without randomness. One module per type
(``Params``, ``Thresholds``, ``eligible``, ``sample``, ``apply``, ``measure`` and
``CORRUPTION``); ``registry`` lists them (one line per type); ``checks`` holds the checks
every type shares; ``repair`` makes parts watertight; ``output`` writes results to disk.
"""

from datagen.corrupt.api import apply_record, corrupt, default_params
from datagen.corrupt.base import RECORD_VERSION, CorruptionRecord, CorruptionType
from datagen.corrupt.checks import check
from datagen.corrupt.geometry import chamfer_distance
from datagen.corrupt.output import corrupted_id, read_record, write_corrupted
from datagen.corrupt.registry import TYPES, get

__all__ = [
    "TYPES",
    "RECORD_VERSION",
    "CorruptionRecord",
    "CorruptionType",
    "corrupt",
    "apply_record",
    "default_params",
    "get",
    "check",
    "chamfer_distance",
    "write_corrupted",
    "read_record",
    "corrupted_id",
]
