import numpy as np
import pytest
import trimesh

from datagen.corrupt import CorruptionRecord, apply_record, corrupt
from datagen.corrupt import broken
from datagen.corrupt.repair import make_watertight
from toy_shapes import box_chair
from datagen.errors import Refused
from datagen.shapes.model import Part, Shape


@pytest.fixture
def chair():
    return box_chair("c0", np.random.default_rng(0))


def _volume(part):
    return trimesh.Trimesh(part.vertices, part.faces, process=False).volume


@pytest.mark.parametrize("cutter", ["sphere", "cube"])
@pytest.mark.parametrize("part", ["seat", "leg_2", "back"])
def test_broken_removes_recorded_volume(chair, cutter, part):
    params = broken.Params(cutters=(cutter,))
    out, rec = corrupt(chair, "broken", np.random.default_rng(5), params=params, part=part)
    p = rec.params
    assert p["cutter"] == cutter and p["repair"] == "none"
    before = chair.part(part)
    v0 = float(np.prod(before.extents))  # an axis-aligned box
    assert p["volume_before"] == pytest.approx(v0, rel=1e-9)
    after = out.part(part)
    mesh = trimesh.Trimesh(after.vertices, after.faces, process=False)
    assert mesh.is_watertight and mesh.volume > 0
    removed = (v0 - mesh.volume) / v0
    assert removed == pytest.approx(p["achieved_fraction"], rel=0.02)
    assert abs(p["achieved_fraction"] - p["target_fraction"]) <= 0.05 * p["target_fraction"] + 1e-12
    assert 0.1 <= p["target_fraction"] <= 0.35
    # the cutter centre lies on the part's surface
    _, dist, _ = trimesh.proximity.closest_point(before.mesh(), np.array([p["center"]]))
    assert dist[0] < 1e-9
    # the cut is local: the new part stays inside the old bbox
    assert np.all(after.bounds[0] >= before.bounds[0] - 1e-9) and np.all(after.bounds[1] <= before.bounds[1] + 1e-9)
    assert rec.measured["removed_fraction"] == pytest.approx(removed)
    again = apply_record(chair, CorruptionRecord.from_json(rec.to_json()))
    np.testing.assert_array_equal(again.part(part).vertices, after.vertices)
    np.testing.assert_array_equal(again.part(part).faces, after.faces)


def _open_box_chair(chair):
    seat = chair.part("seat")
    m = seat.mesh()
    top = np.argsort(-m.triangles_center[:, 2])[:2]  # the two triangles of the top face
    keep = np.setdiff1d(np.arange(len(m.faces)), top)
    open_seat = seat.with_geometry(seat.vertices, seat.faces[keep])
    assert not open_seat.mesh().is_watertight
    return chair.replace_part("seat", open_seat)


def test_non_watertight_part_is_repaired_then_broken(chair):
    s = _open_box_chair(chair)
    out, rec = corrupt(s, "broken", np.random.default_rng(1), part="seat")
    assert rec.params["repair"] in ("trimesh", "pymeshlab")
    v0 = float(np.prod(chair.part("seat").extents))
    assert rec.params["volume_before"] == pytest.approx(v0, rel=1e-6)
    m = out.part("seat").mesh()
    assert m.is_watertight
    assert (v0 - m.volume) / v0 == pytest.approx(rec.params["achieved_fraction"], rel=0.02)
    again = apply_record(s, rec)
    np.testing.assert_array_equal(again.part("seat").vertices, out.part("seat").vertices)


def test_pymeshlab_and_hull_repairs(chair):
    seat = _open_box_chair(chair).part("seat")
    solid, method = make_watertight(seat.vertices, seat.faces, method="pymeshlab")
    assert method == "pymeshlab"
    assert solid.volume() == pytest.approx(float(np.prod(seat.extents)), rel=1e-6)
    solid, method = make_watertight(seat.vertices, seat.faces, method="convex_hull", part_fraction=0.05)
    assert method == "convex_hull" and solid.volume() > 0
    with pytest.raises(Refused, match="could not be repaired"):
        make_watertight(seat.vertices, seat.faces, method="convex_hull", part_fraction=0.5, hull_max_fraction=0.1)


def test_unrepairable_part_is_refused(chair):
    plane = Part("sheet", "chair_back", [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], [[0, 1, 2], [0, 2, 3]])
    s = Shape("flat", "chair", (plane, chair.part("seat")))
    with pytest.raises(Refused, match="part sheet not watertight and could not be repaired"):
        corrupt(s, "broken", np.random.default_rng(0), part="sheet")


def test_removed_fraction_threshold(chair):
    params = broken.Params(min_fraction=0.1, max_fraction=0.12)
    with pytest.raises(Refused, match="removed volume fraction .* < broken.min_removed_fraction"):
        corrupt(chair, "broken", np.random.default_rng(0), params=params,
                thresholds=broken.Thresholds(min_removed_fraction=0.5))
