"""The Odd-One-Out part anomalies: bend, twist, dent (deformations), crack and fracture (cuts)."""

import json
import math

import numpy as np
import pytest
import trimesh
from toy_shapes import box_chair

from datagen.corrupt import TYPES, CorruptionRecord, apply_record, corrupt, registry
from datagen.corrupt import bend, crack, dent, fracture, twist
from datagen.corrupt.deform import slice_refine, subdivide
from datagen.errors import Refused
from datagen.shapes.model import Part, Shape
from datagen.shapes.procedural import generate

NEW = ("bend", "twist", "dent", "crack", "fracture")
DEFORMS = ("bend", "twist", "dent")
#: Least share of the tried parts that must succeed (one attempt each); the measured shares are in the report.
MIN_RATE = {"bend": 0.7, "twist": 0.6, "dent": 0.6, "crack": 0.6, "fracture": 0.85}


def _box(name, extents, center=(0.0, 0.0, 0.0), label=None):
    m = trimesh.creation.box(extents=extents)
    return Part(name, label or name, m.vertices + np.asarray(center), m.faces)


@pytest.fixture(scope="module")
def shapes():
    chair = box_chair("bc", np.random.default_rng(0))
    pchair = generate("chair", "pc", np.random.default_rng(3))
    mech = [generate("mechanical", f"pm{i}", np.random.default_rng(i)) for i in range(2)]
    solo = Shape("solo", "toy", (_box("body", [0.2, 0.3, 1.0]),))  # a single-part shape: the part is the object
    return [chair, pchair, *mech, solo]


def _targets(shapes):
    """(shape, part): box-chair seat/back/two legs, one part per label of the procedural chair, all mechanical parts."""
    out = [(shapes[0], n) for n in ("seat", "back", "leg_0", "leg_1")]
    seen = set()
    for p in shapes[1].parts:
        if p.label not in seen and len(seen) < 6:
            seen.add(p.label)
            out.append((shapes[1], p.name))
    out += [(s, p.name) for s in shapes[2:] for p in s.parts]
    return out


def test_registered_in_order():
    assert TYPES[TYPES.index("scale") + 1:TYPES.index("scale") + 6] == NEW
    for t in NEW:
        assert registry.get(t).name == t


@pytest.mark.parametrize("kind", NEW)
def test_success_replay_and_checks(shapes, kind):
    ctype = registry.get(kind)
    th = ctype.Thresholds()
    done = tried = 0
    for k, (shape, name) in enumerate(_targets(shapes)):
        if name not in ctype.eligible(shape, ctype.Params(), None):
            continue
        tried += 1
        try:
            out, rec = corrupt(shape, kind, np.random.default_rng(100 + k), part=name, attempts=1)
        except Refused as e:
            assert str(e).startswith(f"{kind} on shape {shape.id}: {kind}"), str(e)
            continue
        done += 1
        before, after = shape.part(name), out.part(name)
        for p in shape.parts:  # the other parts are the very same arrays' values
            if p.name != name:
                q = out.part(p.name)
                assert np.array_equal(p.vertices, q.vertices) and np.array_equal(p.faces, q.faces)
        again = apply_record(shape, CorruptionRecord.from_json(rec.to_json())).part(name)
        assert np.array_equal(again.vertices, after.vertices) and np.array_equal(again.faces, after.faces)
        m = rec.measured
        if kind in DEFORMS:
            assert m["max_displacement_rel"] >= th.min_displacement and m["chamfer_rel"] >= th.min_chamfer
            if before.mesh().is_watertight:
                assert after.mesh().is_watertight
        else:
            mesh = after.mesh()
            assert mesh.is_watertight and mesh.volume > 0
            assert m["removed_fraction"] >= th.min_removed_fraction
            assert m["removed_fraction"] == pytest.approx(
                1 - mesh.volume / rec.params["volume_before"], rel=1e-9)
        if kind == "crack":
            assert m["removed_fraction"] <= th.max_removed_fraction and m["area_gain"] >= th.min_area_gain
        if kind == "fracture":
            p = rec.params
            assert abs(p["achieved_fraction"] - p["target_fraction"]) <= 0.05 * p["target_fraction"] + 1e-12
    assert tried >= 10
    assert done / tried >= MIN_RATE[kind], f"{kind}: {done}/{tried} parts"


@pytest.mark.parametrize("kind", NEW)
def test_same_seed_same_record_bytes(shapes, kind):
    a_shape, a_rec = corrupt(shapes[0], kind, np.random.default_rng(7), seed=7)
    b_shape, b_rec = corrupt(shapes[0], kind, np.random.default_rng(7), seed=7)
    assert a_rec.to_json().encode() == b_rec.to_json().encode()
    assert np.array_equal(a_shape.part(a_rec.part).vertices, b_shape.part(b_rec.part).vertices)
    json.loads(a_rec.to_json())  # plain JSON


@pytest.mark.parametrize("kind,params,thresholds,option", [
    ("bend", {"min_deg": 0.5, "max_deg": 1.0}, {}, "bend.min_displacement"),
    ("bend", {}, {"min_chamfer": 0.9}, "bend.min_chamfer"),
    ("twist", {"min_deg": 0.1, "max_deg": 0.2}, {}, "twist.min_displacement"),
    ("dent", {"depth_min": 0.001, "depth_max": 0.002}, {}, "dent.min_displacement"),
    ("crack", {"width_min": 0.01, "width_max": 0.02}, {}, "crack.min_area_gain"),
    ("fracture", {"min_fraction": 0.1, "max_fraction": 0.12}, {"min_removed_fraction": 0.5},
     "fracture.min_removed_fraction"),
])
def test_too_small_is_refused_naming_the_option(shapes, kind, params, thresholds, option):
    p, t = registry.get(kind).configure({**params, **thresholds})
    with pytest.raises(Refused, match=option.replace(".", r"\.")):
        corrupt(shapes[0], kind, np.random.default_rng(0), params=p, thresholds=t, part="back")


@pytest.mark.parametrize("kind", NEW)
def test_bad_options_name_the_field(kind):
    ctype = registry.get(kind)
    field = next(f for f in ctype.options() if f.endswith("_area_fraction"))
    with pytest.raises(ValueError, match=rf"{kind}\.{field}"):
        ctype.configure({field: 2.0})


def test_twist_refuses_a_part_symmetric_about_its_axis():
    cyl = trimesh.creation.cylinder(radius=0.15, height=1.0, sections=48)
    rod = Part("rod", "rod", cyl.vertices, cyl.faces)
    s = Shape("cyl", "toy", (rod, _box("base", [0.6, 0.6, 0.05], [0, 0, -0.55])))
    with pytest.raises(Refused, match=r"twist\.min_chamfer"):
        corrupt(s, "twist", np.random.default_rng(0), part="rod")
    assert "leg_0" not in twist.eligible(box_chair("c", np.random.default_rng(0)), twist.Params())  # thin rods


def test_bend_maps_the_axis_onto_an_arc():
    sampled = {"center": [0, 0, 0], "axis": [0, 0, 1], "direction": [1, 0, 0], "u_range": [-0.5, 0.5],
               "u0": -0.5, "angle_deg": 60.0}
    u = np.linspace(-0.5, 0.5, 11)
    line = np.stack([0 * u, 0 * u, u], axis=1)
    out = bend.bend_points(line, sampled)
    r = 1 / math.radians(60.0)
    np.testing.assert_allclose(np.linalg.norm(out - [r, 0, -0.5], axis=1), r, atol=1e-12)  # on the circle
    np.testing.assert_allclose(out[0], line[0], atol=1e-15)  # u0 stays put
    arc = np.linalg.norm(np.diff(out, axis=0), axis=1).sum()
    assert arc == pytest.approx(1.0, rel=1e-2)  # length kept
    end = out[-1] - out[-2]
    assert math.degrees(math.acos(end[2] / np.linalg.norm(end))) == pytest.approx(60.0, abs=4.0)


def test_twist_turns_sections_rigidly():
    sampled = {"center": [0, 0, 0], "axes": np.eye(3)[[2, 0, 1]].tolist(), "u_range": [0.0, 1.0], "u0": 0.0,
               "angle_deg": 90.0}
    pts = np.random.default_rng(0).uniform(-0.2, 0.2, (50, 3)) + [0, 0, 0.5]
    out = twist.twist_points(pts, sampled)
    np.testing.assert_allclose(out[:, 2], pts[:, 2], atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(out[:, :2], axis=1), np.linalg.norm(pts[:, :2], axis=1), atol=1e-12)
    turned = np.arctan2(out[:, 1], out[:, 0]) - np.arctan2(pts[:, 1], pts[:, 0])
    np.testing.assert_allclose(np.angle(np.exp(1j * (turned - np.radians(90.0) * pts[:, 2]))), 0.0, atol=1e-9)


def test_dent_is_local_and_does_not_reach_the_back():
    sampled = {"center": [0, 0, 0.5], "normal": [0, 0, 1], "radius": 0.2, "depth": 0.02, "falloff_depth": 0.2}
    pts = np.array([[0, 0, 0.5], [0.1, 0, 0.5], [0.3, 0, 0.5], [0, 0, 0.4], [0, 0, 0.25]])
    out = dent.dent_points(pts, sampled)
    assert out[0, 2] == pytest.approx(0.48)  # the centre goes in by the depth
    assert 0.48 < out[1, 2] < 0.5 and out[2, 2] == 0.5  # smooth falloff, nothing beyond the radius
    assert out[3, 2] == pytest.approx(0.39) and out[4, 2] == 0.25  # fading with depth, nothing below it
    assert np.all(np.diff(out[[4, 3, 0], 2]) > 0)  # the order along the normal is kept


def test_refinements_stay_watertight():
    box = trimesh.creation.box(extents=[0.04, 0.05, 0.45])
    cyl = trimesh.creation.cylinder(radius=0.03, height=0.4, sections=20)
    for m in (box, cyl):
        v, f = slice_refine(m.vertices, m.faces, [0, 0, 0], [[0, 0.6, 0.8], [1, 0, 0]], [0.01, 0.02])
        out = trimesh.Trimesh(v, f, process=False)
        assert out.is_watertight and out.is_winding_consistent
        assert out.volume == pytest.approx(m.volume, rel=1e-9) and np.array_equal(v[:len(m.vertices)], m.vertices)
        v, f = subdivide(m.vertices, m.faces, 0.01, region=([0.02, 0, 0], 0.05))
        out = trimesh.Trimesh(v, f, process=False)
        assert out.is_watertight and out.volume == pytest.approx(m.volume, rel=1e-9)
        assert len(f) > len(m.faces)


def test_cuts_on_a_repaired_part():
    chair = box_chair("oc", np.random.default_rng(0))
    seat = chair.part("seat")
    m = seat.mesh()
    keep = np.setdiff1d(np.arange(len(m.faces)), np.argsort(-m.triangles_center[:, 2])[:2])  # open the top
    s = chair.replace_part("seat", seat.with_geometry(seat.vertices, seat.faces[keep]))
    for kind in ("crack", "fracture"):
        out, rec = corrupt(s, kind, np.random.default_rng(2), part="seat")
        assert rec.params["repair"] in ("trimesh", "pymeshlab")
        assert out.part("seat").mesh().is_watertight
        assert np.array_equal(apply_record(s, rec).part("seat").vertices, out.part("seat").vertices)


def test_fracture_takes_off_one_side():
    s = Shape("rod", "toy", (_box("rod", [0.05, 0.05, 1.0]),))
    out, rec = corrupt(s, "fracture", np.random.default_rng(4))
    after = out.part("rod")
    assert after.mesh().body_count == 1
    frame = np.asarray(rec.params["frame"])
    assert abs(frame[2, 2]) > 0.5  # the cut goes across the rod, not along it
    z = after.vertices[:, 2]
    lost = 1 - np.ptp(z) / 1.0
    assert lost > 0.05  # an end is gone, not a sliver along the side
    assert crack.CORRUPTION.name == "crack" and fracture.CORRUPTION.name == "fracture"
