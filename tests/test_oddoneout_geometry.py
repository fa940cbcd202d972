import math

import numpy as np
import torch

from datagen.spec import Camera
from trainer.oddoneout.geometry import GridSpec, all_pixels, backproject, lookup_map, pixel_rays, ray_box, voxel_centers
from trainer.oddoneout.render import render_pixels

from synth_scenes import one_thread  # noqa: F401 (autouse fixture)


def _t(cam: Camera):
    """Camera -> K (1, 1, 3, 3), w2c (1, 1, 4, 4) float32 tensors."""
    return (torch.tensor(cam.K, dtype=torch.float32)[None, None], torch.tensor(cam.world_to_camera, dtype=torch.float32)[None, None])


def test_grid_default_is_the_release_grid():
    g = GridSpec()
    assert g.dims == (96, 96, 16) and g.voxel_size == 0.04
    np.testing.assert_allclose(g.lo, (-1.92, -1.92, -0.32))
    np.testing.assert_allclose(g.hi, (1.92, 1.92, 0.32))
    c = voxel_centers(GridSpec((4, 3, 2), 0.5, 0.0))
    assert c.shape == (2, 3, 4, 3)
    np.testing.assert_allclose(c[1, 2, 3].numpy(), [0.75, 0.5, 0.75])  # x = -1 + 3.5*0.5, y = -0.75 + 2.5*0.5, z = 1.5*0.5


def test_backprojection_puts_a_pixel_on_its_ray_only():
    grid = GridSpec((24, 24, 12), 0.05, -0.3)
    H = W = 32
    cam = Camera.orbit(1.4, math.radians(40), math.radians(30), 30.0, W, H)
    px, py = 19, 13  # the bright pixel (column, row)
    feats = torch.zeros(1, 1, 1, H, W)
    feats[0, 0, 0, py, px] = 1.0
    K, w2c = _t(cam)
    vol = backproject(feats, K, w2c, (H, W), grid)  # (1, 2, nz, ny, nx): mean, seen fraction
    assert vol.shape == (1, 2, 12, 24, 24)
    val = vol[0, 0].numpy().ravel()
    centers = voxel_centers(grid).numpy().reshape(-1, 3)
    uv, z = cam.project(centers)  # independent numpy projection
    # bilinear footprint of the pixel centre (px + 0.5, py + 0.5), align_corners=False
    expected = np.clip(1 - np.abs(uv[:, 0] - (px + 0.5)), 0, None) * np.clip(1 - np.abs(uv[:, 1] - (py + 0.5)), 0, None)
    expected[z <= 0] = 0
    np.testing.assert_allclose(val, expected, atol=1e-4)
    lit = val > 1e-3
    assert lit.sum() >= 5
    # every lit voxel is on the pixel's ray: within the pixel footprint (sqrt 2 px) at its depth
    o = cam.position
    d = cam.camera_to_world[:3, :3] @ np.linalg.inv(cam.K) @ np.array([px + 0.5, py + 0.5, 1.0])
    d /= np.linalg.norm(d)
    rel = centers[lit] - o
    dist = np.linalg.norm(rel - (rel @ d)[:, None] * d, axis=1)
    assert np.all(dist <= math.sqrt(2) * z[lit] / cam.K[0, 0] + 1e-6)
    assert np.all(rel @ d > 0)
    # the seen fraction is 1 exactly where the voxel centre projects inside the image, in front
    seen = vol[0, 1].numpy().ravel() > 0.5
    inside = (z > 1e-3) & (uv[:, 0] >= 0) & (uv[:, 0] <= W) & (uv[:, 1] >= 0) & (uv[:, 1] <= H)
    assert np.array_equal(seen, inside)


def test_backprojection_averages_over_the_views_that_see_a_voxel():
    grid = GridSpec((8, 8, 4), 0.1, -0.2)
    cams = [Camera.orbit(1.5, a, 0.5, 40.0, 32, 32) for a in (0.0, 2.0)]
    K = torch.tensor(np.stack([c.K for c in cams]), dtype=torch.float32)[None]
    w2c = torch.tensor(np.stack([c.world_to_camera for c in cams]), dtype=torch.float32)[None]
    feats = torch.stack([torch.full((3, 4, 4), 1.0), torch.full((3, 4, 4), 3.0)])[None]  # (1, 2, 3, 4, 4)
    vol = backproject(feats, K, w2c, (32, 32), grid, variance=True)  # mean 3 + seen 1 + var 3
    assert vol.shape == (1, 7, 4, 8, 8)
    both = vol[0, 3] == 1.0
    assert both.any()
    # border padding of grid_sample is zeros, so test voxels well inside both images
    uv0, _ = cams[0].project(voxel_centers(grid).numpy().reshape(-1, 3))
    uv1, _ = cams[1].project(voxel_centers(grid).numpy().reshape(-1, 3))
    deep = ((uv0 > 4) & (uv0 < 28)).all(1) & ((uv1 > 4) & (uv1 < 28)).all(1)
    deep = torch.from_numpy(deep.reshape(4, 8, 8))
    assert deep.any()
    torch.testing.assert_close(vol[0, 0][deep], torch.full_like(vol[0, 0][deep], 2.0))
    torch.testing.assert_close(vol[0, 4][deep], torch.full_like(vol[0, 4][deep], 1.0))  # variance of {1, 3}


def test_pixel_rays_are_planar_depth_rays():
    cam = Camera.orbit(2.0, 0.3, 0.4, 50.0, 40, 30)
    K, w2c = _t(cam)
    pix = torch.tensor([[[[3.5, 7.5], [20.0, 15.0], [39.5, 29.5]]]])
    o, d = pixel_rays(pix, K, w2c)
    p = (o + 1.7 * d)[0, 0].numpy()
    uv, z = cam.project(p)
    np.testing.assert_allclose(uv, pix[0, 0].numpy(), atol=1e-3)
    np.testing.assert_allclose(z, 1.7, atol=1e-4)
    t0, t1 = ray_box(o, d, (-0.5, -0.5, -0.5), (0.5, 0.5, 0.5), 0.0, 3.84)
    assert torch.all(t1 >= t0)


def _analytic_box(cam: Camera, lo, hi, H, W):
    """Per pixel: does the ray hit the box [lo, hi], and at which planar depth it enters."""
    pix = all_pixels(H, W).numpy()
    d = (cam.camera_to_world[:3, :3] @ np.linalg.inv(cam.K) @ np.c_[pix, np.ones(len(pix))].T).T  # camera z = 1
    o = cam.position
    with np.errstate(divide="ignore"):
        ta, tb = (np.asarray(lo) - o) / d, (np.asarray(hi) - o) / d
    t0 = np.minimum(ta, tb).max(1)
    t1 = np.maximum(ta, tb).min(1)
    return (t1 > t0) & (t1 > 0), t0


def test_rendering_a_solid_box_gives_its_projection_and_depth():
    grid = GridSpec((32, 32, 16), 0.04, -0.32)
    lo, hi = np.array([-0.2, -0.08, 0.0]), np.array([0.12, 0.16, 0.2])  # on voxel faces
    sigma = torch.zeros(1, 1, 16, 32, 32)
    i0 = np.round((lo - grid.lo) / grid.voxel_size).astype(int)
    i1 = np.round((hi - grid.lo) / grid.voxel_size).astype(int)
    sigma[0, 0, i0[2]:i1[2], i0[1]:i1[1], i0[0]:i1[0]] = 3000.0
    H = W = 48
    cam = Camera.orbit(1.3, math.radians(35), math.radians(30), 80.0, W, H, target=(0, 0, 0.1))
    K, w2c = _t(cam)
    pix = all_pixels(H, W)[None, None]
    out = render_pixels(sigma, torch.rand(1, 3, 16, 32, 32), None, pix, K, w2c, grid, n_samples=384, chunk=512)
    sil = out["silhouette"][0, 0].numpy()
    depth = out["depth"][0, 0].numpy()
    half = grid.voxel_size / 2
    hit_in, t_in = _analytic_box(cam, lo + half, hi - half, H, W)  # certainly inside the (blurred) box
    hit_out, t_out = _analytic_box(cam, lo - half, hi + half, H, W)
    hit, t_entry = _analytic_box(cam, lo, hi, H, W)
    assert hit_in.sum() > 100 and (~hit_out).sum() > 100
    assert sil[hit_in].min() > 0.99
    assert sil[~hit_out].max() < 1e-3
    wrong = (sil > 0.5) != hit
    assert not (wrong & (hit_in | ~hit_out)).any()  # disagreement only in the +/- half-voxel band of the faces
    assert wrong.sum() < 0.5 * (hit_out & ~hit_in).sum()
    surf = depth / np.maximum(sil, 1e-6)
    # trilinear lookups blur the faces over +/- half a voxel: the surface lies between the entries of
    # the box grown and shrunk by half a voxel (+ one sample spacing), close to the exact box's
    step = 0.01
    assert np.all(surf[hit_in] >= t_out[hit_in] - step) and np.all(surf[hit_in] <= t_in[hit_in] + step)
    err = np.abs(surf[hit_in] - t_entry[hit_in])
    assert err.mean() < 0.04, err.mean()


def test_lookup_map_reads_pixel_centres_exactly():
    img = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).view(1, 2, 3, 4, 5)
    pix = torch.tensor([[[[0.5, 0.5], [4.5, 3.5]], [[2.5, 1.5], [1.5, 2.5]]]])  # (1, 2, 2, 2)
    out = lookup_map(img, pix, (4, 5))
    assert out.shape == (1, 2, 2, 3)
    torch.testing.assert_close(out[0, 0, 1], img[0, 0, :, 3, 4])
    torch.testing.assert_close(out[0, 1, 0], img[0, 1, :, 1, 2])
