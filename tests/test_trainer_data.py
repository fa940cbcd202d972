import numpy as np
import pytest
import torch

from trainer.data import AnomalyDataset, augment_query, collate, regular_views
from synth_chairs import make_synthetic


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    make_synthetic(root, np.random.default_rng(0), shapes=3, queries_per_shape=4, resolution=64, ref_views=6,
                   splits=(0.67, 0.0, 0.33))
    return root


def test_item_shapes_and_collate(synth):
    ds = AnomalyDataset(synth, "train", views=4, resolution=64, train=True, seed=1)
    b = collate([ds[i] for i in range(4)])
    assert b["query"].shape == (4, 3, 64, 64) and b["query"].dtype == torch.float32
    assert b["refs"].shape == (4, 4, 1, 64, 64)
    assert b["points"].shape == (4, 4, 8, 8, 3) and b["point_valid"].shape == (4, 4, 8, 8)
    assert b["vv_target"].shape == (4, 4, 64) and b["vv_target"].max() < 64
    assert b["label"].tolist() == [0, 1, 0, 1] and len(b["type"]) == 4
    assert (b["view_ids"][:, 1:] > b["view_ids"][:, :-1]).all()  # sorted, distinct
    assert not b["has_box"][b["label"] == 0].any()  # (a random crop may cut an anomaly's box out)
    ev = collate([AnomalyDataset(synth, "train", views=2, resolution=64, train=False)[i] for i in range(4)])
    assert ev["has_box"].tolist() == [False, True, False, True]
    assert (b["points"][~b["point_valid"]] == 0).all()


def test_view_view_targets_point_to_the_same_3d_point(synth):
    # 128 px features on 64 px references: a 16 x 16 patch grid (stride 4 pixels)
    ds = AnomalyDataset(synth, "train", views=6, resolution=128, train=False)
    it = ds[0]
    pts, tgt, val = it["points"].reshape(6, -1, 3), it["vv_target"], it["point_valid"].reshape(6, -1)
    dists = []
    for v in range(6):
        w = (v + 1) % 6
        t = tgt[v][tgt[v] >= 0]
        a = pts[v][tgt[v] >= 0]
        good = val[w][t]  # the target patch's centre pixel sees a surface
        dists.append(np.linalg.norm(a[good] - pts[w][t[good]], axis=1))
    d = np.concatenate(dists)
    # the centre of the target patch lies near the source point (a patch spans a few cm of surface)
    assert len(d) > 30 and np.median(d) < 0.06 and np.mean(d < 0.1) > 0.75


def test_eval_is_deterministic_and_train_varies_by_epoch(synth):
    ev = AnomalyDataset(synth, "test", views=3, resolution=64, train=False)
    a, b = ev[1], ev[1]
    for k in ("query", "refs", "vv_target", "bbox"):
        assert np.array_equal(a[k], b[k])
    assert a["view_ids"].tolist() == [0, 2, 4]
    tr = AnomalyDataset(synth, "train", views=3, resolution=64, train=True, seed=0)
    first = tr[1]["query"]
    assert np.array_equal(first, tr[1]["query"])  # same epoch -> same augmentation
    tr.set_epoch(1)
    outs = [tr[1]["query"]]
    tr.set_epoch(2)
    outs.append(tr[1]["query"])
    assert any(not np.array_equal(first, o) for o in outs)


def test_regular_views():
    assert regular_views(20, 10).tolist() == list(range(0, 20, 2))
    assert regular_views(20, 30).tolist() == list(range(20))
    assert regular_views(20, 3).tolist() == [0, 6, 13]


def test_flip_and_crop_update_the_box():
    H = 96
    img = np.full((H, H, 3), 255, np.uint8)
    box = [20, 30, 50, 44]
    img[30:44, 20:50] = (200, 0, 0)
    for seed in range(8):
        out, b, ok = augment_query(img, box, np.random.default_rng(seed), 64, 0.75, True)
        assert ok
        red = (out[..., 0] > 150) & (out[..., 1] < 80)
        ys, xs = np.nonzero(red)
        found = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]) / 64
        assert np.abs(found - b).max() < 2.5 / 64, (seed, found * 64, b * 64)
    out, b, ok = augment_query(img, box, None, 64, 0.75, True)  # evaluation: resize only
    assert np.allclose(b, np.array(box) / H)
