import math

import numpy as np
import pytest
import torch

from datagen.spec import Camera
from trainer.oddoneout.data import SceneDataset
from trainer.oddoneout.geometry import GridSpec, voxel_centers
from trainer.oddoneout.instances import (box_from_bbox3d, cluster_instances, iou_3d, match_boxes, points_box, roi_pool,
                                         roi_points)

from synth_scenes import make_scenes, one_thread  # noqa: F401 (autouse fixture)


def test_iou_axis_aligned_exact():
    a = np.array([[0, 0, 0, 2, 2, 2, 0]], float)
    b = np.array([[1, 0, 0, 2, 2, 2, 0], [0, 0, 0, 2, 2, 2, 0], [5, 5, 5, 1, 1, 1, 0], [0.5, 0.5, 0.5, 1, 1, 1, 0]], float)
    np.testing.assert_allclose(iou_3d(a, b), [[4 / 12, 1.0, 0.0, 1 / 8]], atol=1e-12)


def test_iou_oriented():
    sq = np.array([[0, 0, 0, 1, 1, 1, 0]], float)
    rot = np.array([[0, 0, 0, 1, 1, 1, math.pi / 2], [0, 0, 0, 1, 1, 1, math.pi / 4]], float)
    iou = iou_3d(sq, rot)[0]
    assert iou[0] == pytest.approx(1.0)
    inter = 2 * (math.sqrt(2) - 1)  # a unit square and itself rotated 45 degrees: an octagon
    assert iou[1] == pytest.approx(inter / (2 - inter))
    # against a Monte Carlo estimate for a random pair
    rng = np.random.default_rng(0)
    a = np.array([0.1, -0.2, 0.3, 1.2, 0.7, 0.5, 0.4])
    b = np.array([0.4, 0.0, 0.4, 0.9, 1.1, 0.6, -0.9])
    p = rng.uniform(-1.5, 1.5, (400_000, 3))

    def inside(box):
        c, s = math.cos(box[6]), math.sin(box[6])
        q = p - box[:3]
        u, v = q[:, 0] * c + q[:, 1] * s, -q[:, 0] * s + q[:, 1] * c
        return (np.abs(u) <= box[3] / 2) & (np.abs(v) <= box[4] / 2) & (np.abs(q[:, 2]) <= box[5] / 2)

    ia, ib = inside(a), inside(b)
    assert iou_3d(a[None], b[None])[0, 0] == pytest.approx((ia & ib).sum() / (ia | ib).sum(), abs=0.01)
    np.testing.assert_allclose(iou_3d(a[None], b[None]), iou_3d(b[None], a[None]).T)


def test_match_boxes_is_one_to_one_and_thresholded():
    gt = np.array([[0, 0, 0, 1, 1, 1, 0], [3, 0, 0, 1, 1, 1, 0]], float)
    pred = np.array([[3.1, 0, 0, 1, 1, 1, 0], [0.05, 0, 0, 1, 1, 1, 0], [0.2, 0, 0, 1, 1, 1, 0], [9, 9, 9, 1, 1, 1, 0]], float)
    p2g, g2p, ious = match_boxes(pred, gt, 0.25)
    assert p2g.tolist() == [1, 0, -1, -1] and g2p.tolist() == [1, 0]


def test_box_from_bbox3d_yaw_and_tilt():
    yaw = 0.7
    R = np.array([[math.cos(yaw), -math.sin(yaw), 0], [math.sin(yaw), math.cos(yaw), 0], [0, 0, 1]])
    np.testing.assert_allclose(box_from_bbox3d([1, 2, 3], [0.4, 0.2, 0.1], R), [1, 2, 3, 0.4, 0.2, 0.1, yaw])
    tilt = np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]], float)  # 90 degrees about x: y and z swap
    np.testing.assert_allclose(box_from_bbox3d([0, 0, 0], [0.4, 0.2, 0.1], tilt), [0, 0, 0, 0.4, 0.1, 0.2, 0])


def test_points_box_recovers_an_oriented_box():
    g = GridSpec((64, 64, 8), 0.01, 0.0)
    box = np.array([0.05, -0.03, 0.04, 0.3, 0.12, 0.08, math.radians(30)])
    c = voxel_centers(g).numpy().reshape(-1, 3)
    q = c - box[:3]
    u = q[:, 0] * math.cos(box[6]) + q[:, 1] * math.sin(box[6])
    v = -q[:, 0] * math.sin(box[6]) + q[:, 1] * math.cos(box[6])
    inside = (np.abs(u) < box[3] / 2) & (np.abs(v) < box[4] / 2) & (np.abs(q[:, 2]) < box[5] / 2)
    est = points_box(c[inside], g.voxel_size, oriented=True, angles=36)
    assert iou_3d(est[None], box[None])[0, 0] > 0.85
    aabb = points_box(c[inside], g.voxel_size, oriented=False)
    assert aabb[6] == 0 and iou_3d(aabb[None], box[None])[0, 0] < iou_3d(est[None], box[None])[0, 0]


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    root = tmp_path_factory.mktemp("ooo_inst")
    make_scenes(root, np.random.default_rng(3), scenes=2, views=10, resolution=96)
    return root


def test_clustering_separates_the_instances_of_a_scene(scenes):
    """Occupancy from the rendered depth maps (object pixels back-projected into the grid) -> DBSCAN
    -> one box per object, each matching its ground-truth box."""
    ds = SceneDataset(scenes, "train", num_views=5, resolution=96, train=False)
    grid = GridSpec((64, 64, 24), 0.02, -0.08)
    for i in range(len(ds)):
        item = ds[i]
        hits = np.zeros(grid.shape_zyx, np.int64)
        for v in range(10):
            cam = Camera(item["K"][v], item["world_to_camera"][v], 96, 96)
            pts = cam.backproject(item["depth"][v].astype(np.float64))[item["silhouette"][v] > 0.5]
            idx = np.floor((pts - grid.lo) / grid.voxel_size).astype(int)[:, ::-1]  # (z, y, x)
            ok = ((idx >= 0) & (idx < grid.shape_zyx)).all(1)
            np.add.at(hits, tuple(idx[ok].T), 1)
        sigma = np.where(hits > 0, 1000.0, 0.0)
        boxes = cluster_instances(sigma, grid, min_voxels=10)
        gt = item["boxes"]
        assert len(boxes) == len(gt), (len(boxes), len(gt))
        p2g, g2p, ious = match_boxes(boxes, gt, 0.5)
        assert (g2p >= 0).all(), ious.round(2)


def test_roi_pool_samples_inside_oriented_boxes():
    g = GridSpec((16, 16, 8), 0.1, -0.4)
    c = voxel_centers(g)  # (nz, ny, nx, 3)
    vol = c.permute(3, 0, 1, 2)[None]  # the volume holds its own world coordinates (linear: exact trilinear)
    boxes = torch.tensor([[[0.1, -0.2, 0.0, 0.4, 0.2, 0.3, 0.6], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]])
    pooled = roi_pool(vol, boxes, g, size=4)
    assert pooled.shape == (1, 2, 64, 3)
    torch.testing.assert_close(pooled[0, 0], roi_points(boxes, 4)[0, 0], atol=1e-5, rtol=0)
    pts = roi_points(boxes, 4)[0, 0].numpy() - boxes[0, 0, :3].numpy()
    yaw = 0.6
    u = pts[:, 0] * math.cos(yaw) + pts[:, 1] * math.sin(yaw)
    v = -pts[:, 0] * math.sin(yaw) + pts[:, 1] * math.cos(yaw)
    np.testing.assert_allclose(np.unique(u.round(6)), [-0.15, -0.05, 0.05, 0.15], atol=1e-5)
    np.testing.assert_allclose(np.unique(v.round(6)), [-0.075, -0.025, 0.025, 0.075], atol=1e-5)
