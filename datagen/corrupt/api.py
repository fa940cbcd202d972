"""The entry points: ``corrupt`` (draw, apply, check) and ``apply_record`` (replay)."""

from __future__ import annotations

import json

import numpy as np

import datagen.corrupt.registry as registry
from datagen.corrupt.base import RECORD_VERSION, CorruptionRecord, Donors, to_jsonable
from datagen.corrupt.checks import check
from datagen.errors import Refused
from datagen.shapes.model import Shape


def parse_options(texts) -> dict[str, dict]:
    """``["broken.min_fraction=0.2", "scale.max_axes=1"]`` -> ``{"broken": {"min_fraction": 0.2}, ...}``.

    Values are parsed as YAML scalars or lists (``0.2``, ``true``, ``[sphere]``) and checked
    against the type's ``Params`` / ``Thresholds`` (``ValueError`` naming ``type.field``).
    """
    import yaml

    out: dict[str, dict] = {}
    for text in texts:
        key, sep, value = str(text).partition("=")
        kind, dot, fld = key.strip().partition(".")
        if not sep or not dot or not fld:
            raise ValueError(f"{text!r}: expected TYPE.OPTION=VALUE, e.g. broken.min_fraction=0.2")
        registry.check_type(kind)
        out.setdefault(kind, {})[fld.strip()] = yaml.safe_load(value)
    return validate_options(out)


def validate_options(options: dict) -> dict[str, dict]:
    """Check ``{type: {option: value}}`` against each type's dataclasses; returns it (JSON types kept)."""
    if not isinstance(options, dict):
        raise ValueError(f"corruption options must be an object {{type: {{option: value}}}}, got {options!r}")
    for kind, opts in options.items():
        if not isinstance(opts, dict):
            raise ValueError(f"corruption options of {kind!r} must be an object, got {opts!r}")
        registry.get(kind).configure(opts)
    return {k: dict(v) for k, v in sorted(options.items())}


def default_params(kind: str):
    """The default ``Params`` of corruption ``kind``."""
    return registry.get(kind).Params()


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
) -> tuple[Shape, CorruptionRecord]:
    """Apply corruption ``kind`` to one part of ``shape``.

    shape : the normal shape (metres, Z up).
    kind : a registered type (``registry.TYPES``).
    rng : the only source of randomness.
    params / thresholds : the type's ``Params`` / ``Thresholds`` (defaults if None).
    part : name of the part to corrupt; if None, drawn uniformly with ``rng`` among the
        type's eligible parts (again on every attempt).
    donors : for ``swapped``: other Shapes, or a callable ``label -> [(shape_id, Part)]``.
    seed : stored in the record (the seed ``rng`` was made from), provenance only.
    attempts : a sample that fails a significance check is redrawn up to this many times.

    Returns ``(corrupted shape, record)``; the corrupted shape keeps ``shape.id``. Raises
    ``Refused`` with the reason when it cannot apply.
    """
    ctype = registry.get(kind)
    params = ctype.Params() if params is None else params
    if not isinstance(params, ctype.Params):
        raise TypeError(f"{kind}: params must be {ctype.Params.__module__}.Params, got {type(params).__name__}")
    eligible = ctype.eligible(shape, params, donors)
    if part is not None:
        try:
            shape.part(part)
        except KeyError:
            raise Refused(f"shape {shape.id}: no part named {part!r}") from None
        if part not in eligible:
            raise Refused(f"{kind}: part {part!r} of shape {shape.id} is not eligible ({ctype.eligibility})")
        candidates = [part]
    else:
        candidates = eligible
        if not candidates:
            raise Refused(f"{kind}: no eligible part in shape {shape.id} ({ctype.eligibility})")
    reasons = []
    for _ in range(max(1, attempts)):
        name = candidates[int(rng.integers(len(candidates)))] if len(candidates) > 1 else candidates[0]
        try:
            sampled = ctype.sample(shape, name, rng, params, donors)
            # JSON round trip: apply() sees exactly what a record will hold.
            sampled = json.loads(json.dumps(to_jsonable(sampled)))
            out = ctype.apply(shape, name, sampled, donors)
            record = CorruptionRecord(kind, name, shape.part(name).label, sampled, seed, shape.id)
            measured = check(shape, out, record, thresholds)
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
    return registry.get(record.type).apply(shape, record.part, record.params, donors)
