"""materials.lod: the bump level-of-detail rule, checked against the cameras' projection."""

import math

import numpy as np
import pytest

from datagen.spec import Camera, RenderSettings
from materials.lod import WEAK_BUMP, bbox_corners, bump_period, keep_bump, pixel_size
from materials.presets import SUBSTANCES, builtin_library


def _cam(radius=2.5, fx=355.6, size=256):
    return Camera.orbit(radius, 0.3, math.radians(20), fx, size, size, target=(0, 0, 0.25))


def test_pixel_size_matches_projection():
    cam = _cam()
    pts = np.array([[0.0, 0.0, 0.25], [0.1, 0.0, 0.3]])
    m = pixel_size([cam], pts)
    # a segment of m metres at the nearest point, facing the camera, spans one pixel
    z = pts @ cam.world_to_camera[2, :3] + cam.world_to_camera[2, 3]
    near = pts[np.argmin(z)]
    right = cam.camera_to_world[:3, 0]
    uv, _ = cam.project(np.stack([near, near + m * right]))
    assert np.linalg.norm(uv[1] - uv[0]) == pytest.approx(1.0, rel=1e-6)
    # the nearer of two cameras decides; points behind every camera: no pixel size
    assert pixel_size([_cam(5.0), cam], pts) == pytest.approx(m)
    assert pixel_size([cam], cam.position[None] - 3 * cam.camera_to_world[:3, 2]) == math.inf


def test_bbox_corners():
    c = bbox_corners(np.array([[0, 0, 0], [1, 2, 3], [0.5, -1, 1]]))
    assert c.shape == (8, 3)
    assert c.min(0).tolist() == [0, -1, 0] and c.max(0).tolist() == [1, 2, 3]


def test_every_preset_has_a_bump_period():
    lib = builtin_library(40)
    assert {m.params["substance"] for m in lib} == set(SUBSTANCES)
    for m in lib:
        p = bump_period(m.params)
        assert 1e-4 < p < 1.0, (m.name, p)  # 0.1 mm .. 1 m: real pattern spacings
    assert bump_period({"substance": "glass"}) == math.inf


def test_keep_bump_rule():
    weak = {"substance": "leather", "scale": 100.0, "bump": WEAK_BUMP / 2}  # 1 cm cells
    strong = dict(weak, bump=WEAK_BUMP)
    assert not keep_bump(weak, 0.005, 3.0)  # 2 px cells: dropped
    assert keep_bump(weak, 0.003, 3.0)  # 3.3 px: kept
    assert keep_bump(strong, 0.005, 3.0)  # strong bumps stay however fine
    assert keep_bump(weak, 0.005, 0.0)  # LOD off
    assert keep_bump(weak, None, 3.0) and keep_bump(weak, math.inf, 3.0)  # unknown footprint


def test_setting_validated_and_round_trips():
    assert RenderSettings().bump_lod_px == 3.0
    s = RenderSettings(bump_lod_px=0.0)
    assert RenderSettings.from_json(s.to_json()) == s
    with pytest.raises(ValueError, match="bump_lod_px"):
        RenderSettings(bump_lod_px=-1.0)
