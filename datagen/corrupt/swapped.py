"""Swapped corruption: replace a part by a same-label part of ANOTHER shape.

``donors`` is a sequence of Shapes, or a callable ``label -> [(shape_id, Part), ...]``.
Candidates are the donor parts with the part's label from shapes whose id differs from
the corrupted shape's, in (shape_id, part name) order; one is drawn uniformly with ``rng``.
It is fitted into the original part's axis-aligned box: per-axis scale
``s = old_extent / donor_extent`` (1 on an axis where either extent is below
``flat_fraction`` of the old bbox diagonal, so flat parts are not blown up) and offset so
the box centres coincide: ``v' = v * scale + offset``. The new part keeps the old name,
label and path. ``checks.check`` refuses a fitted donor too similar to the original
(Chamfer distance below ``Thresholds.min_chamfer``).

Sampled parameters: ``donor_shape_id``, ``donor_part``, ``scale`` (3 floats),
``offset`` (3 floats, metres), ``candidates`` (how many donors were eligible). Donors are
drawn in a random order, skipping those that fit onto exactly the original geometry.
Check: the Chamfer distance between the old and the fitted new part is at least
``min_chamfer`` of the shape diagonal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datagen.corrupt.base import ChamferThresholds, CorruptionType, check_range, final_refusal, measure_chamfer, require
from datagen.corrupt.geometry import diagonal, eligible_by_area
from datagen.errors import Refused
from datagen.shapes.model import Part, Shape

ELIGIBILITY = "parts with at least min_area_fraction of the surface area and a same-label donor part"


@dataclass(frozen=True)
class Params:
    """flat_fraction : extents below this share of the part diagonal are not scaled, in [0, 0.5].
    min_area_fraction : eligible parts cover at least this share of the surface, in [0, 1].
    """

    flat_fraction: float = 0.02
    min_area_fraction: float = 0.005

    def __post_init__(self):
        check_range("swapped.flat_fraction", self.flat_fraction, 0.0, 0.5)
        check_range("swapped.min_area_fraction", self.min_area_fraction, 0.0, 1.0)


@dataclass(frozen=True)
class Thresholds(ChamferThresholds):
    """The Chamfer check only: the fitted donor must differ from the old part."""

    def __post_init__(self):
        self.check_chamfer("swapped")


def donor_parts(donors, label: str, exclude_shape: str) -> list[tuple[str, Part]]:
    """Same-label donor parts from shapes other than ``exclude_shape``, sorted (shape id, part name)."""
    if donors is None:
        return []
    if callable(donors):
        found = list(donors(label))
    else:
        found = [(s.id, p) for s in donors for p in s.parts if p.label == label]
    out = [(sid, p) for sid, p in found if sid != exclude_shape and p.label == label and len(p.faces)]
    return sorted(out, key=lambda t: (t[0], t[1].name))


def eligible(shape: Shape, params: Params, donors=None) -> list[str]:
    names = eligible_by_area(shape, params.min_area_fraction)
    has = {}
    out = []
    for n in names:
        label = shape.part(n).label
        if label not in has:
            has[label] = bool(donor_parts(donors, label, shape.id))
        if has[label]:
            out.append(n)
    return out


def fit(donor: Part, target: Part, flat_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """(scale (3,), offset (3,)) mapping ``donor``'s bbox onto ``target``'s: ``v * scale + offset``."""
    de, te = donor.extents, target.extents
    flat = flat_fraction * max(diagonal(target.bounds), 1e-12)
    scale = np.where((de > flat) & (te > flat), te / np.maximum(de, 1e-300), 1.0)
    offset = target.center - donor.center * scale
    return scale, offset


def _same_after_fit(donor: Part, target: Part, scale: np.ndarray, offset: np.ndarray) -> bool:
    if donor.vertices.shape != target.vertices.shape or donor.faces.shape != target.faces.shape:
        return False
    tol = 1e-6 * max(diagonal(target.bounds), 1e-12)
    a = np.round((donor.vertices * scale + offset) / tol)
    b = np.round(target.vertices / tol)
    return bool(np.array_equal(a[np.lexsort(a.T)], b[np.lexsort(b.T)]))


def sample(shape: Shape, part: str, rng: np.random.Generator, params: Params, donors=None) -> dict:
    p = shape.part(part)
    cands = donor_parts(donors, p.label, shape.id)
    if not cands:
        raise final_refusal(f"swapped: no donor part with label {p.label!r} from another shape")
    # Draw donors in a random order; skip ones that fit onto the very same geometry (cheap
    # exact test: same sorted vertices after the fit), which checks.check would refuse.
    for i in rng.permutation(len(cands)):
        sid, dpart = cands[int(i)]
        scale, offset = fit(dpart, p, params.flat_fraction)
        if not _same_after_fit(dpart, p, scale, offset):
            break
    else:
        raise Refused(f"swapped: all {len(cands)} donors with label {p.label!r} fit onto the same geometry")
    return {
        "donor_shape_id": sid,
        "donor_part": dpart.name,
        "scale": scale.tolist(),
        "offset": offset.tolist(),
        "candidates": len(cands),
    }


def find_donor(donors, label: str, shape_id: str, part_name: str) -> Part:
    for sid, p in donor_parts(donors, label, ""):
        if sid == shape_id and p.name == part_name:
            return p
    raise Refused(f"swapped: donor part {shape_id}/{part_name} (label {label!r}) not found among donors")


def apply(shape: Shape, part: str, sampled: dict, donors=None) -> Shape:
    p = shape.part(part)
    d = find_donor(donors, p.label, sampled["donor_shape_id"], sampled["donor_part"])
    v = d.vertices * np.asarray(sampled["scale"], dtype=np.float64) + np.asarray(sampled["offset"], dtype=np.float64)
    return shape.replace_part(part, p.with_geometry(v, d.faces))


def measure(before, after, record, thresholds: Thresholds, diag: float) -> dict:
    m = measure_chamfer(before, after, record, thresholds.chamfer_points, diag)
    p = record.params
    require(m["chamfer_rel"], thresholds.min_chamfer, "swapped.min_chamfer",
            f"swapped: donor {p.get('donor_shape_id')}/{p.get('donor_part')} too similar: Chamfer distance "
            "(share of the shape diagonal)")
    return m


CORRUPTION = CorruptionType("swapped", Params, Thresholds, ELIGIBILITY, eligible, sample, apply, measure)
