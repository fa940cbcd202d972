"""The sixth corruption type, added as a plug-in (one module + one registry line)."""

import numpy as np
import pytest
from toy_shapes import box_chair

from datagen.corrupt import TYPES, apply_record, corrupt, registry, scale
from datagen.errors import Refused


@pytest.fixture
def chair():
    return box_chair("c", np.random.default_rng(0))


def test_scale_is_registered():
    assert "scale" in TYPES and registry.get("scale").name == "scale"


@pytest.mark.parametrize("seed", range(6))
def test_scale_changes_extents_about_the_centre(chair, seed):
    out, rec = corrupt(chair, "scale", np.random.default_rng(seed))
    before, after = chair.part(rec.part), out.part(rec.part)
    f = np.asarray(rec.params["factors"])
    np.testing.assert_allclose(after.extents, before.extents * f, rtol=1e-9)
    np.testing.assert_allclose(after.center, before.center, atol=1e-12)
    axes = rec.params["axes"]
    assert 1 <= len(axes) <= 2 and all(f[a] != 1.0 for a in axes)
    lo, hi = (1.25, 1.6) if rec.params["grow"] else (0.6, 0.8)
    assert all(lo <= f[a] <= hi for a in axes)
    assert rec.measured["extent_change"] >= scale.Thresholds().min_extent_change
    assert rec.measured["chamfer_rel"] >= scale.Thresholds().min_chamfer
    for p in chair.parts:  # the other parts are untouched
        if p.name != rec.part:
            np.testing.assert_array_equal(out.part(p.name).vertices, p.vertices)
    np.testing.assert_array_equal(apply_record(chair, rec).part(rec.part).vertices, after.vertices)


def test_scale_too_small_is_refused(chair):
    params = scale.Params(up_min=1.01, up_max=1.02, grow_prob=1.0)
    with pytest.raises(Refused, match="scale.min_extent_change"):
        corrupt(chair, "scale", np.random.default_rng(0), params=params)


def test_scale_skips_flat_axes(chair):
    seat = chair.part("seat")  # a thin box: its thickness axis is flat
    flat_axis = int(np.argmin(seat.extents))
    for seed in range(8):
        _, rec = corrupt(chair, "scale", np.random.default_rng(seed), part="seat")
        assert flat_axis not in rec.params["axes"]
