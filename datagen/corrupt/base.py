"""What a corruption type is (``CorruptionType``), the record it leaves, and option validation.

A corruption is split in two pure steps so that it can be replayed without any randomness:

- ``sample(shape, part, rng, params, donors) -> dict``: every random choice, as JSON types
  (floats, ints, strings, lists); the type's ``Params`` dataclass bounds the ranges.
- ``apply(shape, part, sampled, donors) -> Shape``: deterministic geometry from ``sampled``.

and one check, ``measure(before, after, record, thresholds, diag) -> dict``, that measures the
change on the geometry and raises ``Refused`` when it is not significant (the type's
``Thresholds`` dataclass). ``datagen.corrupt.api.corrupt`` = choose part + sample + apply +
checks; ``apply_record`` = apply with the record's parameters.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np

from datagen.corrupt.geometry import chamfer_distance
from datagen.corrupt.registry import check_type
from datagen.errors import Refused
from datagen.io import dumps_json
from datagen.seeding import rng_for
from datagen.shapes.model import Part, Shape

#: Version of the corruption algorithms and record layout. A record replays exactly only
#: with the same version (bump it whenever ``apply`` of any type changes its output).
RECORD_VERSION = 1

#: ``donors`` for ``swapped``: Shapes, or a callable ``label -> [(shape_id, Part), ...]``.
Donors = Sequence[Shape] | Callable[[str], Iterable[tuple[str, Part]]] | None


@dataclass(frozen=True)
class CorruptionType:
    """A corruption plug-in; each type module ends with ``CORRUPTION = CorruptionType(...)``.

    name : registry key, CLI word and the record's ``type``.
    Params : frozen dataclass of sampling options, validated on construction.
    Thresholds : frozen dataclass of significance thresholds, validated on construction.
    eligibility : which parts qualify, one line (quoted in refusals).
    eligible : ``(shape, params, donors) -> [part names]``.
    sample : ``(shape, part, rng, params, donors) -> dict`` of JSON types (all randomness).
    apply : ``(shape, part, sampled, donors) -> Shape`` (deterministic).
    measure : ``(before: Part, after: Part | None, record, thresholds, diag: float) -> dict``;
        ``diag`` is the original shape's bbox diagonal (metres); raises ``Refused``.
    removes_part : the anomalous part is absent from the result (``missing``).
    """

    name: str
    Params: type
    Thresholds: type
    eligibility: str
    eligible: Callable
    sample: Callable
    apply: Callable
    measure: Callable
    removes_part: bool = False

    def options(self) -> dict[str, str]:
        """Every option this type takes: ``field -> "params" | "thresholds"``."""
        out = {f.name: "params" for f in dataclasses.fields(self.Params)}
        out.update({f.name: "thresholds" for f in dataclasses.fields(self.Thresholds)})
        return out

    def configure(self, overrides: dict | None = None) -> tuple[object, object]:
        """``(Params, Thresholds)`` with ``overrides`` (field -> value) applied; errors name ``type.field``."""
        overrides = dict(overrides or {})
        opts = self.options()
        unknown = sorted(set(overrides) - set(opts))
        if unknown:
            raise ValueError(f"{self.name}: unknown option(s) {unknown}; known: {', '.join(sorted(opts))}")
        p = {k: v for k, v in overrides.items() if opts[k] == "params"}
        t = {k: v for k, v in overrides.items() if opts[k] == "thresholds"}
        try:
            return self.Params(**_tuples(p)), self.Thresholds(**_tuples(t))
        except TypeError as e:
            raise ValueError(f"{self.name}: {e}") from None


def _tuples(d: dict) -> dict:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}


# --- the record ------------------------------------------------------------------------------
@dataclass(frozen=True)
class CorruptionRecord:
    """What was done to which part, with every sampled parameter (enough to replay it).

    type : a registered corruption type (``registry.TYPES``).
    part : name of the anomalous part in the original shape (kept in the corrupted one,
        except for types that remove it).
    label : semantic label of that part.
    params : dict of all sampled parameters, JSON types only (see each type module).
    seed : int or None, the seed of the rng the parameters were drawn from (provenance).
    shape_id : id of the original shape.
    version : ``RECORD_VERSION`` of the code that made it.
    measured : dict, the significance measurements of the type's ``measure`` (JSON types).
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
        check_type(self.type)
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


# --- option validation -------------------------------------------------------------------------
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


# --- helpers the types' checks share -------------------------------------------------------------
def final_refusal(reason: str) -> Refused:
    """A ``Refused`` that another attempt with new random draws cannot fix."""
    e = Refused(reason)
    e.final = True
    return e


@dataclass(frozen=True)
class ChamferThresholds:
    """The Chamfer check several types share (subclass it and call ``check_chamfer`` in ``__post_init__``).

    min_chamfer : Chamfer distance of the part before/after, share of the shape diagonal, in [0, 1].
    chamfer_points : surface points sampled per side for the Chamfer distance, in [100, 1e6].
    """

    min_chamfer: float = 0.005
    chamfer_points: int = 1000

    def check_chamfer(self, kind: str) -> None:
        check_range(f"{kind}.min_chamfer", self.min_chamfer, 0.0, 1.0)
        check_range(f"{kind}.chamfer_points", self.chamfer_points, 100, 1_000_000)


def measure_chamfer(before: Part, after: Part, record: CorruptionRecord, points: int, diag: float) -> dict:
    """``{"chamfer": metres, "chamfer_rel": share of diag}`` between the part before and after.

    The sample points come from ``rng_for("chamfer", shape_id, type, part)``: the same record
    measures the same value every time.
    """
    crng = rng_for("chamfer", record.shape_id, record.type, record.part)
    c = chamfer_distance(before, after, int(points), crng)
    return {"chamfer": c, "chamfer_rel": c / diag}


def require(value: float, minimum: float, option: str, what: str) -> None:
    """Refuse when ``value < minimum``: ``"<what> <value> < <option> <minimum>"`` (option: ``type.field``)."""
    if value < minimum:
        raise Refused(f"{what} {value:.5g} < {option} {minimum}")
