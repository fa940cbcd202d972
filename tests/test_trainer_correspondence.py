import math

import numpy as np

from datagen.spec import Camera
from trainer.correspondence import correspondences, grid_points, ring_correspondences
from synth_chairs import box_mesh, rasterize

R, G = 128, 16  # image size, patch grid
WALL = ((-0.7, 0.3, 0.0), (0.7, 0.4, 1.0))
OCCLUDER = ((-0.12, -0.35, 0.25), (0.12, -0.15, 0.65))
TARGET = (0.0, 0.0, 0.5)


def _scene():
    meshes = [box_mesh(*WALL), box_mesh(*OCCLUDER)]
    cam_a = Camera.orbit(2.5, -math.pi / 2, math.radians(10), 180.0, R, R, target=TARGET)
    cam_b = Camera.orbit(2.5, -math.pi / 2 + math.radians(35), math.radians(10), 180.0, R, R, target=TARGET)
    depth_a = rasterize(meshes, cam_a)[0]
    depth_b = rasterize(meshes, cam_b)[0]
    return cam_a, cam_b, depth_a, depth_b


def _segment_blocked(eye, p, box) -> bool:
    """True if the open segment eye -> p enters the box before reaching p (slab test)."""
    lo, hi = np.array(box[0]), np.array(box[1])
    d = p - eye
    with np.errstate(divide="ignore", invalid="ignore"):
        t1, t2 = (lo - eye) / d, (hi - eye) / d
    tmin = np.nanmax(np.minimum(t1, t2))
    tmax = np.nanmin(np.maximum(t1, t2))
    return bool(tmax >= tmin and tmin < 1 - 1e-3 and tmax > 1e-6)


def test_correspondences_match_geometry_and_drop_occluded():
    cam_a, cam_b, depth_a, depth_b = _scene()
    pts = grid_points(depth_a, cam_a, G)  # (G, G, 3)
    assert pts.shape == (G, G, 3)
    tgt = correspondences(pts.reshape(-1, 3), cam_b, depth_b, (G, G))
    flat = pts.reshape(-1, 3)
    world_b = cam_b.backproject(depth_b.astype(np.float64))
    eye = cam_b.position
    n_occluded = n_visible = agree = 0
    for i, p in enumerate(flat):
        if not np.isfinite(p).all():
            assert tgt[i] == -1
            continue
        uv, z = cam_b.project(p[None])
        u, v = uv[0]
        inside = 0 <= u < R and 0 <= v < R
        blocked = any(_segment_blocked(eye, p, b) for b in (WALL, OCCLUDER))
        if tgt[i] >= 0:
            # the target patch contains the projection, and view b sees the same 3D point there
            assert tgt[i] == int(v // (R // G)) * G + int(u // (R // G))
            assert np.linalg.norm(world_b[int(v), int(u)] - p) < 0.03
            assert not blocked
        if inside and blocked:
            n_occluded += 1
            assert tgt[i] == -1, f"patch {i} is hidden in view b but got a correspondence"
        if inside and not blocked:
            n_visible += 1
            agree += tgt[i] >= 0
    assert n_occluded >= 5  # the occluder hides part of the wall in view b
    assert n_visible >= 50 and agree / n_visible > 0.9


def test_self_correspondence_is_identity_and_ring_shape():
    cam_a, cam_b, depth_a, depth_b = _scene()
    pts = grid_points(depth_a, cam_a, G)
    tgt = correspondences(pts, cam_a, depth_a, (G, G))
    valid = np.isfinite(pts).all(-1)
    assert tgt.shape == (G, G)
    assert np.array_equal(tgt[valid], np.arange(G * G).reshape(G, G)[valid])
    assert (tgt[~valid] == -1).all()
    both = np.stack([pts, grid_points(depth_b, cam_b, G)])
    ring = ring_correspondences(both, [cam_a, cam_b], np.stack([depth_a, depth_b]))
    assert ring.shape == (2, G * G)
    assert np.array_equal(ring[0], correspondences(pts.reshape(-1, 3), cam_b, depth_b, (G, G)))
    assert (ring_correspondences(both[:1], [cam_a], depth_a[None]) == -1).all()
