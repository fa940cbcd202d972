import json

import numpy as np
import pytest

from datagen.corrupt import CorruptionRecord, apply_record, corrupt
from datagen.corrupt import broken, missing, position, rotation, scale, swapped
from toy_shapes import box_chair
from datagen.errors import Refused
from datagen.shapes.objio import format_obj


@pytest.fixture
def chair():
    return box_chair("c0", np.random.default_rng(0))


def _bytes(shape):
    return [(p.name, p.label, format_obj(p.vertices, p.faces)) for p in shape.parts]


def test_record_json_round_trip(chair):
    out, rec = corrupt(chair, "rotation", np.random.default_rng(3), seed=3)
    text = rec.to_json()
    back = CorruptionRecord.from_json(text)
    assert back == rec
    assert back.to_json() == text
    d = json.loads(text)
    assert set(d) == {"type", "part", "label", "params", "seed", "shape_id", "version", "measured"}
    assert d["seed"] == 3 and d["shape_id"] == "c0" and d["label"] == chair.part(rec.part).label


def test_record_rejects_numpy_nan_and_unknown_type():
    with pytest.raises(ValueError, match="non-finite"):
        CorruptionRecord("position", "a", "leg", {"x": float("nan")}, None, "s")
    with pytest.raises(ValueError, match="corruption type"):
        CorruptionRecord("melted", "a", "leg", {}, None, "s")
    r = CorruptionRecord("position", "a", "leg", {"v": np.arange(3.0), "n": np.int64(2)}, None, "s")
    assert r.params == {"v": [0.0, 1.0, 2.0], "n": 2}


@pytest.mark.parametrize("kind", ["position", "rotation", "broken", "missing"])
def test_apply_record_reproduces_bytes(chair, kind):
    out, rec = corrupt(chair, kind, np.random.default_rng(7))
    again = apply_record(chair, CorruptionRecord.from_json(rec.to_json()))
    assert _bytes(again) == _bytes(out)


def test_same_rng_same_record(chair):
    a = corrupt(chair, "broken", np.random.default_rng(11), seed=11)[1]
    b = corrupt(chair, "broken", np.random.default_rng(11), seed=11)[1]
    assert a.to_json() == b.to_json()
    c = corrupt(chair, "broken", np.random.default_rng(12), seed=12)[1]
    assert c.to_json() != a.to_json()


@pytest.mark.parametrize(
    "factory, kwargs, option",
    [
        (position.Params, {"min_rel": -0.1}, "position.min_rel"),
        (position.Params, {"min_rel": 0.5, "max_rel": 0.2}, "position.min_rel"),
        (position.Params, {"min_shape_fraction": 2.0}, "position.min_shape_fraction"),
        (rotation.Params, {"max_deg": 270}, "rotation.max_deg"),
        (broken.Params, {"max_fraction": 0.95}, "broken.max_fraction"),
        (broken.Params, {"cutters": ("torus",)}, "broken.cutters"),
        (broken.Params, {"tolerance": 0.0}, "broken.tolerance"),
        (swapped.Params, {"flat_fraction": 0.9}, "swapped.flat_fraction"),
        (missing.Params, {"min_area_fraction": 1.5}, "missing.min_area_fraction"),
        (rotation.Thresholds, {"min_angle_deg": -1}, "rotation.min_angle_deg"),
        (swapped.Thresholds, {"min_chamfer": "x"}, "swapped.min_chamfer"),
        (position.Thresholds, {"min_displacement": 2}, "position.min_displacement"),
        (scale.Params, {"up_min": 0.5}, "scale.up_min"),
        (scale.Params, {"max_axes": 4}, "scale.max_axes"),
        (scale.Thresholds, {"min_extent_change": -1}, "scale.min_extent_change"),
    ],
)
def test_out_of_range_params_name_the_option(factory, kwargs, option):
    with pytest.raises(ValueError, match=option.replace(".", r"\.")):
        factory(**kwargs)


def test_wrong_params_type_and_unknown_part(chair):
    with pytest.raises(TypeError):
        corrupt(chair, "position", np.random.default_rng(0), params=rotation.Params())
    with pytest.raises(Refused, match="no part named"):
        corrupt(chair, "position", np.random.default_rng(0), part="wing")
    with pytest.raises(ValueError, match="corruption type"):
        corrupt(chair, "exploded", np.random.default_rng(0))


def test_apply_record_checks_shape_and_version(chair):
    _, rec = corrupt(chair, "position", np.random.default_rng(0))
    with pytest.raises(ValueError, match="for shape"):
        apply_record(chair.replace(id="other"), rec)
    with pytest.raises(ValueError, match="version"):
        apply_record(chair, rec.replace(version=99))
