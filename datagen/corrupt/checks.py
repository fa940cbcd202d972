"""Significance and validity checks of a corruption, measured on the geometry itself.

``check(original, corrupted, record, thresholds)`` returns the measurements (a JSON dict
stored in the record's ``measured``) or raises ``Refused`` naming the failing measurement.
Distances are measured in metres and compared as a share of the original shape's bbox
diagonal (1 for a normalized shape):

- position: every vertex of the part moved by the same vector; its length >= ``min_displacement``.
- rotation: the best-fit rotation between the part before and after (Kabsch) has an angle
  >= ``min_angle_deg``, and the part's Chamfer distance >= ``min_chamfer`` (a cylinder
  turned about its own axis does not count).
- broken: removed volume share >= ``min_removed_fraction``; the new part is watertight.
- swapped: Chamfer distance between old and new part >= ``min_chamfer``.
- missing: the part is absent.
Always: the result is non-empty, every part has finite vertices and in-range faces, the
anomalous part is named and labelled as recorded, and every other part is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from datagen.corrupt.base import check_range, diagonal
from datagen.errors import Refused
from datagen.seeding import rng_for
from datagen.shapes.model import Part, Shape


@dataclass(frozen=True)
class Thresholds:
    """min_displacement : position, share of the shape diagonal, in [0, 1].
    min_angle_deg : rotation, degrees, in [0, 180].
    min_removed_fraction : broken, share of the part volume, in [0, 1].
    min_chamfer : rotation and swapped, Chamfer distance as a share of the shape diagonal, in [0, 1].
    chamfer_points : points sampled per surface for the Chamfer distance, in [100, 1e6].
    """

    min_displacement: float = 0.02
    min_angle_deg: float = 10.0
    min_removed_fraction: float = 0.05
    min_chamfer: float = 0.005
    chamfer_points: int = 1000

    def __post_init__(self):
        check_range("thresholds.min_displacement", self.min_displacement, 0.0, 1.0)
        check_range("thresholds.min_angle_deg", self.min_angle_deg, 0.0, 180.0)
        check_range("thresholds.min_removed_fraction", self.min_removed_fraction, 0.0, 1.0)
        check_range("thresholds.min_chamfer", self.min_chamfer, 0.0, 1.0)
        check_range("thresholds.chamfer_points", self.chamfer_points, 100, 1_000_000)


def _to_trimesh(x):
    import trimesh

    if isinstance(x, trimesh.Trimesh):
        return x
    return trimesh.Trimesh(np.asarray(x.vertices), np.asarray(x.faces), process=False)


def _surface_distance(points: np.ndarray, mesh) -> np.ndarray | None:
    """Exact distances (metres) from ``points`` (n, 3) to a triangle surface; None without rtree."""
    try:
        import rtree  # noqa: F401 - trimesh.proximity needs it
        import trimesh
    except ImportError:
        return None
    _, d, _ = trimesh.proximity.closest_point(_to_trimesh(mesh), points)
    return np.asarray(d, dtype=np.float64)


def chamfer_distance(a, b, n: int, rng: np.random.Generator, surface: bool = True) -> float:
    """Symmetric Chamfer distance between two triangle surfaces, metres.

    a, b : ``Part`` or ``trimesh.Trimesh`` (same frame).
    n : points sampled area-weighted on each surface with ``rng``.
    surface : measure each sampled point's distance to the other *surface* (exact,
        ``trimesh.proximity``; identical surfaces give 0). False, or without ``rtree``:
        point-cloud Chamfer with ``scipy.spatial.cKDTree`` between the two samples, which
        has a sampling floor of about half the point spacing even for identical surfaces.
    Returns ``0.5 * (mean_p d(p, B) + mean_q d(q, A))`` (distances, not squared).
    """
    from datagen.corrupt.broken import sample_surface

    pa = sample_surface(np.asarray(a.vertices), np.asarray(a.faces), n, rng)
    pb = sample_surface(np.asarray(b.vertices), np.asarray(b.faces), n, rng)
    if surface:
        da = _surface_distance(pa, b)
        db = _surface_distance(pb, a) if da is not None else None
        if da is not None and db is not None:
            return float(0.5 * (da.mean() + db.mean()))
    da, _ = cKDTree(pb).query(pa)
    db, _ = cKDTree(pa).query(pb)
    return float(0.5 * (da.mean() + db.mean()))


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


def kabsch_angle_deg(before: np.ndarray, after: np.ndarray) -> float:
    """Angle (degrees) of the best-fit rotation taking centred ``before`` (n, 3) onto ``after``."""
    a = before - before.mean(0)
    b = after - after.mean(0)
    u, _, vt = np.linalg.svd(a.T @ b)
    d = np.sign(np.linalg.det(vt.T @ u.T)) or 1.0
    r = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    return float(np.degrees(np.arccos(np.clip((np.trace(r) - 1) / 2, -1.0, 1.0))))


def check(original: Shape, corrupted: Shape, record, thresholds: Thresholds | None = None, donors=None) -> dict:
    """Measure ``record``'s corruption of ``original`` into ``corrupted``; refuse if not significant.

    Returns the measurements, JSON types (distances in metres and as shares ``*_rel``).
    """
    th = Thresholds() if thresholds is None else thresholds
    diag = max(diagonal(original.bounds), 1e-12)
    try:
        before = original.part(record.part)
    except KeyError:
        raise Refused(f"record names part {record.part!r}, not in shape {original.id}") from None
    if before.label != record.label:
        raise Refused(f"record labels part {record.part} {record.label!r}, shape says {before.label!r}")
    _check_valid(corrupted)
    names_after = [p.name for p in corrupted.parts]
    expected = [p.name for p in original.parts if not (record.type == "missing" and p.name == record.part)]
    if names_after != expected:
        raise Refused(f"{record.type}: parts after corruption {names_after} != expected {expected}")
    for p in original.parts:
        if p.name != record.part and not _same(p, corrupted.part(p.name)):
            raise Refused(f"{record.type}: part {p.name} changed but only {record.part} should")
    m: dict = {"shape_diagonal": diag}
    if record.type == "missing":
        m["absent"] = True
        return m
    after = corrupted.part(record.part)
    if after.label != before.label:
        raise Refused(f"{record.type}: part {record.part} label changed {before.label!r} -> {after.label!r}")
    if record.type in ("rotation", "swapped"):  # only where it is a gate (it costs ~50 ms)
        crng = rng_for("chamfer", record.shape_id, record.type, record.part)
        m["chamfer"] = chamfer_distance(before, after, int(th.chamfer_points), crng)
        m["chamfer_rel"] = m["chamfer"] / diag

    if record.type == "position":
        if before.vertices.shape != after.vertices.shape:
            raise Refused("position: vertex count changed")
        delta = after.vertices - before.vertices
        vec = delta.mean(0)
        spread = float(np.abs(delta - vec).max()) if len(delta) else 0.0
        if spread > 1e-9 * max(1.0, diag):
            raise Refused(f"position: vertices did not move rigidly (spread {spread:.3g} m)")
        m["displacement"] = float(np.linalg.norm(vec))
        m["displacement_rel"] = m["displacement"] / diag
        if m["displacement_rel"] < th.min_displacement:
            raise Refused(
                f"position: displacement {m['displacement_rel']:.4f} of the shape diagonal "
                f"< min_displacement {th.min_displacement}"
            )
    elif record.type == "rotation":
        if before.vertices.shape != after.vertices.shape:
            raise Refused("rotation: vertex count changed")
        m["angle_deg"] = kabsch_angle_deg(before.vertices, after.vertices)
        if m["angle_deg"] < th.min_angle_deg:
            raise Refused(f"rotation: angle {m['angle_deg']:.2f} deg < min_angle_deg {th.min_angle_deg}")
        if m["chamfer_rel"] < th.min_chamfer:
            raise Refused(
                f"rotation: Chamfer distance {m['chamfer_rel']:.5f} of the shape diagonal < min_chamfer "
                f"{th.min_chamfer} (the part looks the same after rotation)"
            )
    elif record.type == "broken":
        mesh = after.mesh()
        if not mesh.is_watertight:
            raise Refused(f"broken: part {record.part} is not watertight after the cut")
        v0 = float(record.params["volume_before"])
        v1 = float(mesh.volume)
        m["volume_after"] = v1
        m["removed_fraction"] = (v0 - v1) / v0 if v0 > 0 else 0.0
        if m["removed_fraction"] < th.min_removed_fraction:
            raise Refused(
                f"broken: removed volume fraction {m['removed_fraction']:.4f} "
                f"< min_removed_fraction {th.min_removed_fraction}"
            )
    elif record.type == "swapped":
        if m["chamfer_rel"] < th.min_chamfer:
            raise Refused(
                f"swapped: donor {record.params.get('donor_shape_id')}/{record.params.get('donor_part')} too "
                f"similar: Chamfer distance {m['chamfer_rel']:.5f} of the shape diagonal < min_chamfer {th.min_chamfer}"
            )
    return m
