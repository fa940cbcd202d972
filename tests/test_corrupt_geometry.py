import math

import numpy as np
import pytest
import trimesh

from datagen.corrupt import apply_record, chamfer_distance, corrupt
from datagen.corrupt import position, rotation, swapped
from datagen.corrupt.geometry import axis_angle_matrix
from toy_shapes import box_chair
from datagen.errors import Refused
from datagen.shapes.model import Part, Shape


@pytest.fixture
def chair():
    return box_chair("c0", np.random.default_rng(0))


def _others_untouched(a, b, name):
    for p in a.parts:
        if p.name != name:
            q = b.part(p.name)
            assert np.array_equal(p.vertices, q.vertices) and np.array_equal(p.faces, q.faces)


def test_position_moves_part_by_recorded_vector(chair):
    out, rec = corrupt(chair, "position", np.random.default_rng(1), part="seat")
    vec = np.array(rec.params["vector"])
    before, after = chair.part("seat"), out.part("seat")
    assert np.array_equal(after.faces, before.faces)
    np.testing.assert_allclose(after.vertices - before.vertices, np.broadcast_to(vec, before.vertices.shape), atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(vec), rec.params["magnitude"])
    diag = np.linalg.norm(before.extents)
    assert 0.15 * diag - 1e-12 <= rec.params["magnitude"] or rec.params["magnitude"] >= 0.03 * np.linalg.norm(chair.bounds[1] - chair.bounds[0])
    assert rec.params["magnitude"] <= max(0.4 * diag, 0.03 * np.linalg.norm(chair.bounds[1] - chair.bounds[0])) + 1e-12
    _others_untouched(chair, out, "seat")
    assert rec.measured["displacement"] == pytest.approx(rec.params["magnitude"])


def test_position_small_part_gets_shape_floor(chair):
    p = position.Params(min_rel=0.0, max_rel=0.0, min_shape_fraction=0.05)
    out, rec = corrupt(chair, "position", np.random.default_rng(2), params=p, part="leg_0")
    sd = np.linalg.norm(chair.bounds[1] - chair.bounds[0])
    assert rec.params["magnitude"] == pytest.approx(0.05 * sd)


def test_position_threshold_refuses():
    s = box_chair("c0", np.random.default_rng(0))
    p = position.Params(min_rel=0.0, max_rel=0.01, min_shape_fraction=0.0)
    with pytest.raises(Refused, match="displacement .* < position.min_displacement"):
        corrupt(s, "position", np.random.default_rng(0), params=p, part="leg_1")


def test_rotation_is_rigid_about_recorded_centre(chair):
    out, rec = corrupt(chair, "rotation", np.random.default_rng(4), part="back")
    axis = np.array(rec.params["axis"])
    c = np.array(rec.params["center"])
    ang = rec.params["angle_deg"]
    assert np.linalg.norm(axis) == pytest.approx(1.0)
    assert 15 <= abs(ang) <= 45
    np.testing.assert_allclose(c, chair.part("back").center)
    r = axis_angle_matrix(axis, math.radians(ang))
    before, after = chair.part("back").vertices, out.part("back").vertices
    np.testing.assert_allclose(after, (before - c) @ r.T + c, atol=1e-12)
    # distances preserved
    i, j = np.triu_indices(len(before), 1)
    np.testing.assert_allclose(
        np.linalg.norm(after[i] - after[j], axis=1), np.linalg.norm(before[i] - before[j], axis=1), atol=1e-12
    )
    assert rec.measured["angle_deg"] == pytest.approx(abs(ang), abs=1e-6)
    _others_untouched(chair, out, "back")


def test_rotation_of_cylinder_about_its_axis_is_refused():
    cyl = trimesh.creation.cylinder(radius=0.1, height=0.5, sections=64)
    box = trimesh.creation.box([0.5, 0.5, 0.05])
    s = Shape("s", "thing", (Part("rod", "rod", cyl.vertices, cyl.faces), Part("base", "base", box.vertices - [0, 0, 0.3], box.faces)))
    rec_params = {"axis": [0.0, 0.0, 1.0], "angle_deg": 30.0, "center": [0.0, 0.0, 0.0]}
    from datagen.corrupt import CorruptionRecord, check

    rec = CorruptionRecord("rotation", "rod", "rod", rec_params, None, "s")
    out = apply_record(s, rec)
    with pytest.raises(Refused, match="Chamfer"):
        check(s, out, rec, rotation.Thresholds())


def test_chamfer_distance_zero_for_same_and_offset_for_shift():
    m = trimesh.creation.box([1.0, 1.0, 1.0])
    rng = np.random.default_rng(0)
    assert chamfer_distance(m, m, 500, rng) == pytest.approx(0.0, abs=1e-9)
    shifted = m.copy()
    shifted.apply_translation([0.0, 0.0, 0.1])
    d = chamfer_distance(m, shifted, 2000, np.random.default_rng(1))
    assert 0.01 < d < 0.1
    pc = chamfer_distance(m, m, 500, np.random.default_rng(0), surface=False)
    assert pc > 0  # point clouds have a sampling floor


def _sphere_back_chair(shape_id):
    """A box chair whose back is a flattened sphere: a visibly different donor."""
    s = box_chair(shape_id, np.random.default_rng(5), cylinder_legs=True)
    back = s.part("back")
    sph = trimesh.creation.icosphere(subdivisions=2)
    v = sph.vertices * (back.extents / 2) + back.center
    return s.replace_part("back", back.with_geometry(v, sph.faces))


def test_swapped_fits_bbox_and_records_donor(chair):
    donor = _sphere_back_chair("d1")
    out, rec = corrupt(chair, "swapped", np.random.default_rng(0), part="back", donors=[donor])
    old, new = chair.part("back"), out.part("back")
    np.testing.assert_allclose(new.bounds, old.bounds, atol=1e-9)
    assert new.label == old.label and new.name == old.name
    assert rec.params["donor_shape_id"] == "d1" and rec.params["donor_part"] == "back"
    assert len(new.faces) == len(donor.part("back").faces)
    assert rec.measured["chamfer_rel"] >= swapped.Thresholds().min_chamfer
    _others_untouched(chair, out, "back")
    # replay with a callable donor source gives the same mesh
    src = lambda label: [(donor.id, p) for p in donor.parts if p.label == label]  # noqa: E731
    again = apply_record(chair, rec, donors=src)
    np.testing.assert_array_equal(again.part("back").vertices, new.vertices)


def test_swapped_refusals(chair):
    with pytest.raises(Refused, match="no eligible part|no donor"):
        corrupt(chair, "swapped", np.random.default_rng(0))
    # only donor: itself (same id) -> no donor
    with pytest.raises(Refused, match="not eligible"):
        corrupt(chair, "swapped", np.random.default_rng(0), part="seat", donors=[chair])
    # a box chair donor: the fitted box is exactly the same box -> skipped
    twin = box_chair("c9", np.random.default_rng(9))
    with pytest.raises(Refused, match="fit onto the same geometry"):
        corrupt(chair, "swapped", np.random.default_rng(0), part="seat", donors=[twin])
    # a slightly dented box: not identical, but the Chamfer distance is below the threshold
    seat = twin.part("seat")
    v = np.array(seat.vertices)
    v[0] += 1e-4
    dented = twin.replace_part("seat", seat.with_geometry(v, seat.faces))
    with pytest.raises(Refused, match="too similar: Chamfer distance"):
        corrupt(chair, "swapped", np.random.default_rng(0), part="seat", donors=[dented])


def test_missing_removes_part(chair):
    out, rec = corrupt(chair, "missing", np.random.default_rng(0))
    assert rec.part not in [p.name for p in out.parts]
    assert len(out.parts) == len(chair.parts) - 1
    assert rec.measured["absent"] is True
    _others_untouched(chair, out, rec.part)


def test_missing_refusals(chair):
    single = Shape("one", "chair", (chair.part("seat"),))
    with pytest.raises(Refused, match="only part|no eligible"):
        corrupt(single, "missing", np.random.default_rng(0))
    from datagen.corrupt import missing

    with pytest.raises(Refused, match="not eligible"):
        corrupt(chair, "missing", np.random.default_rng(0), part="leg_0", params=missing.Params(min_area_fraction=0.5))


def test_part_choice_uniform_among_eligible(chair):
    seen = {corrupt(chair, "position", np.random.default_rng(i))[1].part for i in range(40)}
    assert seen == {p.name for p in chair.parts}


def test_rotation_params_range():
    with pytest.raises(ValueError, match="rotation.min_deg"):
        rotation.Params(min_deg=50, max_deg=40)
