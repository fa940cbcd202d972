"""The corruption record, parameter validation, and the ``corrupt`` / ``apply_record`` entry points.

A corruption is split in two pure steps so that it can be replayed without any randomness:

- ``sample(shape, part, rng, params, donors) -> dict``: every random choice, as JSON types
  (floats, ints, strings, lists); the type module's dataclass ``params`` bounds the ranges.
- ``apply(shape, part, sampled, donors) -> Shape``: deterministic geometry from ``sampled``.

``corrupt`` = choose part + ``sample`` + ``apply`` + ``checks.check``; ``apply_record`` =
``apply`` with the record's parameters, so the same record gives the same mesh bytes.
Each type lives in its own module (``position``, ``rotation``, ``broken``, ``swapped``,
``missing``) exposing ``Params``, ``eligible``, ``sample`` and ``apply``.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np

from datagen.errors import Refused
from datagen.io import dumps_json
from datagen.shapes.model import Part, Shape

TYPES = ("position", "rotation", "broken", "swapped", "missing")
#: Version of the corruption algorithms and record layout. A record replays exactly only
#: with the same version (bump it whenever ``apply`` of any type changes its output).
RECORD_VERSION = 1

#: ``donors`` for ``swapped``: Shapes, or a callable ``label -> [(shape_id, Part), ...]``.
Donors = Sequence[Shape] | Callable[[str], Iterable[tuple[str, Part]]] | None


# --- the record ------------------------------------------------------------------------------
@dataclass(frozen=True)
class CorruptionRecord:
    """What was done to which part, with every sampled parameter (enough to replay it).

    type : one of ``TYPES``.
    part : name of the anomalous part in the original shape (kept in the corrupted one,
        except for ``missing``).
    label : semantic label of that part.
    params : dict of all sampled parameters, JSON types only (see each type module).
    seed : int or None, the seed of the rng the parameters were drawn from (provenance).
    shape_id : id of the original shape.
    version : ``RECORD_VERSION`` of the code that made it.
    measured : dict, the significance measurements of ``checks.check`` (JSON types).
    """

    type: str
    part: str
    label: str
    params: dict
    seed: int | None
    shape_id: str
    version: int = RECORD_VERSION
    measured: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.type not in TYPES:
            raise ValueError(f"corruption type {self.type!r}: expected one of {', '.join(TYPES)}")
        object.__setattr__(self, "params", to_jsonable(self.params))
        object.__setattr__(self, "measured", to_jsonable(self.measured))
        if self.seed is not None:
            object.__setattr__(self, "seed", int(self.seed))

    def to_dict(self) -> dict:
        return {
            "type": self.type,
            "part": self.part,
            "label": self.label,
            "params": self.params,
            "seed": self.seed,
            "shape_id": self.shape_id,
            "version": self.version,
            "measured": self.measured,
        }

    def to_json(self) -> str:
        """Canonical, byte-stable JSON text (``datagen.io.dumps_json``)."""
        return dumps_json(self.to_dict())

    @classmethod
    def from_dict(cls, d: dict) -> "CorruptionRecord":
        try:
            return cls(
                type=d["type"],
                part=d["part"],
                label=d["label"],
                params=d["params"],
                seed=d.get("seed"),
                shape_id=d["shape_id"],
                version=int(d.get("version", RECORD_VERSION)),
                measured=d.get("measured", {}),
            )
        except KeyError as e:
            raise ValueError(f"corruption record: missing key {e}") from None

    @classmethod
    def from_json(cls, text: str) -> "CorruptionRecord":
        return cls.from_dict(json.loads(text))

    def replace(self, **changes) -> "CorruptionRecord":
        return dataclasses.replace(self, **changes)


def to_jsonable(obj):
    """Numpy scalars/arrays, tuples -> plain JSON types; non-finite floats raise ValueError."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        if not math.isfinite(f):
            raise ValueError(f"non-finite value {f} in corruption parameters")
        return f
    if obj is None or isinstance(obj, str):
        return obj
    raise TypeError(f"not JSON-serializable in a corruption record: {type(obj).__name__}")


# --- parameter validation ----------------------------------------------------------------------
def check_range(option: str, value: float, lo: float, hi: float) -> None:
    """Raise ``ValueError`` naming ``option`` unless ``lo <= value <= hi``."""
    if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, bool):
        raise ValueError(f"{option}: expected a number, got {value!r}")
    if not (lo <= float(value) <= hi):
        raise ValueError(f"{option}={value!r} out of range [{lo}, {hi}]")


def check_interval(option_lo: str, lo: float, option_hi: str, hi: float, bounds: tuple[float, float]) -> None:
    """Both ends in ``bounds`` and ``lo <= hi``; errors name the options."""
    check_range(option_lo, lo, *bounds)
    check_range(option_hi, hi, *bounds)
    if lo > hi:
        raise ValueError(f"{option_lo}={lo!r} must be <= {option_hi}={hi!r}")


# --- shared geometry helpers ---------------------------------------------------------------------
def part_area(part: Part) -> float:
    """Surface area, square metres."""
    v = part.vertices
    f = part.faces
    if len(f) == 0:
        return 0.0
    t = v[f]
    return float(0.5 * np.linalg.norm(np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]), axis=1).sum())


def area_fractions(shape: Shape) -> dict[str, float]:
    """Part name -> its share of the shape's total surface area (sums to 1)."""
    areas = {p.name: part_area(p) for p in shape.parts}
    total = sum(areas.values())
    if total <= 0:
        return {k: 0.0 for k in areas}
    return {k: a / total for k, a in areas.items()}


def diagonal(bounds: np.ndarray) -> float:
    """Length of an axis-aligned box's diagonal; ``bounds`` (2, 3) min/max corners."""
    return float(np.linalg.norm(np.asarray(bounds)[1] - np.asarray(bounds)[0]))


def random_unit_vector(rng: np.random.Generator) -> np.ndarray:
    """(3,) float64, uniform on the unit sphere."""
    while True:
        v = rng.normal(size=3)
        n = float(np.linalg.norm(v))
        if n > 1e-9:
            return v / n


def axis_angle_matrix(axis, angle_rad: float) -> np.ndarray:
    """(3, 3) float64 rotation by ``angle_rad`` (right hand) about the unit ``axis`` (Rodrigues)."""
    a = np.asarray(axis, dtype=np.float64)
    a = a / np.linalg.norm(a)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + math.sin(angle_rad) * k + (1 - math.cos(angle_rad)) * (k @ k)


def eligible_by_area(shape: Shape, min_area_fraction: float) -> list[str]:
    """Names of parts with faces whose area share is at least ``min_area_fraction``."""
    fr = area_fractions(shape)
    return [p.name for p in shape.parts if len(p.faces) and fr[p.name] >= min_area_fraction]


# --- entry points ------------------------------------------------------------------------------------
def type_module(kind: str):
    """The module implementing corruption ``kind`` (imported on first use)."""
    if kind not in TYPES:
        raise ValueError(f"corruption type {kind!r}: expected one of {', '.join(TYPES)}")
    return importlib.import_module(f"datagen.corrupt.{kind}")


def default_params(kind: str):
    return type_module(kind).Params()


def corrupt(
    shape: Shape,
    kind: str,
    rng: np.random.Generator,
    params=None,
    part: str | None = None,
    donors: Donors = None,
    thresholds=None,
    seed: int | None = None,
    attempts: int = 3,
) -> tuple[Shape, "CorruptionRecord"]:
    """Apply corruption ``kind`` to one part of ``shape``.

    shape : the normal shape (metres, Z up).
    kind : one of ``TYPES``.
    rng : the only source of randomness.
    params : the type's ``Params`` dataclass (defaults if None).
    part : name of the part to corrupt; if None, drawn uniformly with ``rng`` among the
        type's eligible parts (again on every attempt).
    donors : for ``swapped``: other Shapes, or a callable ``label -> [(shape_id, Part)]``.
    thresholds : ``checks.Thresholds`` (defaults if None).
    seed : stored in the record (the seed ``rng`` was made from), provenance only.
    attempts : a sample that fails a significance check is redrawn up to this many times.

    Returns ``(corrupted shape, record)``; the corrupted shape keeps ``shape.id`` (see
    ``output.corrupted_id``). Raises ``Refused`` with the reason when it cannot apply.
    """
    from datagen.corrupt.checks import Thresholds, check

    mod = type_module(kind)
    params = mod.Params() if params is None else params
    if not isinstance(params, mod.Params):
        raise TypeError(f"{kind}: params must be {mod.__name__}.Params, got {type(params).__name__}")
    thresholds = Thresholds() if thresholds is None else thresholds
    if part is not None:
        try:
            shape.part(part)
        except KeyError:
            raise Refused(f"shape {shape.id}: no part named {part!r}") from None
        candidates = [part]
        eligible = mod.eligible(shape, params, donors)
        if part not in eligible:
            raise Refused(f"{kind}: part {part!r} of shape {shape.id} is not eligible ({mod.ELIGIBILITY})")
    else:
        candidates = mod.eligible(shape, params, donors)
        if not candidates:
            raise Refused(f"{kind}: no eligible part in shape {shape.id} ({mod.ELIGIBILITY})")
    reasons = []
    for _ in range(max(1, attempts)):
        name = candidates[int(rng.integers(len(candidates)))] if len(candidates) > 1 else candidates[0]
        try:
            sampled = mod.sample(shape, name, rng, params, donors)
            # JSON round trip: apply() sees exactly what a record will hold.
            sampled = json.loads(json.dumps(to_jsonable(sampled)))
            out = mod.apply(shape, name, sampled, donors)
            record = CorruptionRecord(kind, name, shape.part(name).label, sampled, seed, shape.id)
            measured = check(shape, out, record, thresholds, donors=donors)
        except Refused as e:
            reasons.append(str(e))
            if getattr(e, "final", False):
                break
            continue
        return out, record.replace(measured=measured)
    uniq = list(dict.fromkeys(reasons))
    raise Refused(f"{kind} on shape {shape.id}: " + "; ".join(uniq))


def apply_record(shape: Shape, record: CorruptionRecord, donors: Donors = None) -> Shape:
    """Replay ``record`` on ``shape`` (no randomness): the same mesh as ``corrupt`` gave."""
    if record.version != RECORD_VERSION:
        raise ValueError(f"corruption record version {record.version}, this code replays version {RECORD_VERSION}")
    if record.shape_id != shape.id:
        raise ValueError(f"corruption record is for shape {record.shape_id!r}, got shape {shape.id!r}")
    return type_module(record.type).apply(shape, record.part, record.params, donors)


def final_refusal(reason: str) -> Refused:
    """A ``Refused`` that another attempt with new random draws cannot fix."""
    e = Refused(reason)
    e.final = True
    return e
