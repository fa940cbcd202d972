import json

import numpy as np
import pytest
import torch
from PIL import Image

from datagen.errors import InputError
from trainer.oddoneout.data import SceneDataset, collate, fixed_views

from synth_scenes import make_scenes, one_thread  # noqa: F401 (autouse fixture)

V = 3


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    r = tmp_path_factory.mktemp("ooo_data")
    make_scenes(r, np.random.default_rng(1), scenes=3, views=10, resolution=64, split_of=lambda s: "test" if s == 2 else "train")
    return r


def _project(K, w2c, p):
    cam = w2c[:3, :3] @ p + w2c[:3, 3]
    uv = K @ cam
    return uv[:2] / uv[2], cam[2]


def test_item_shapes_and_dtypes(root):
    ds = SceneDataset(root, "train", num_views=V, resolution=64, train=True)
    assert len(ds) == 2 and ds.ids == ["scene000", "scene001"]
    it = ds[0]
    M = len(json.loads((root / "scenes" / it["id"] / "scene.json").read_text())["objects"])
    expect = {"rgb": ((2 * V, 3, 64, 64), np.float32), "silhouette": ((2 * V, 64, 64), np.float32),
              "depth": ((2 * V, 64, 64), np.float32), "K": ((2 * V, 3, 3), np.float32),
              "world_to_camera": ((2 * V, 4, 4), np.float32), "boxes": ((M, 7), np.float32),
              "labels": ((M,), np.int64), "object_ids": ((M,), np.int64), "view_ids": ((2 * V,), np.int64)}
    for k, (shape, dtype) in expect.items():
        assert it[k].shape == shape and it[k].dtype == dtype, k
    assert 0 <= it["rgb"].min() and it["rgb"].max() <= 1
    assert set(np.unique(it["silhouette"])) <= {0.0, 1.0}
    assert len(set(it["view_ids"].tolist())) == 2 * V
    assert len(it["types"]) == M and it["labels"].sum() == sum(t != "normal" for t in it["types"]) == 1
    b = collate([ds[0], ds[1]])
    Mx = max(len(ds[0]["labels"]), len(ds[1]["labels"]))
    assert b["rgb"].shape == (2, 2 * V, 3, 64, 64) and b["boxes"].shape == (2, Mx, 7)
    assert b["box_mask"].sum().item() == len(ds[0]["labels"]) + len(ds[1]["labels"])
    assert b["object_ids"][~b["box_mask"]].eq(-1).all()


def test_views_are_seeded_and_evaluation_is_fixed(root):
    ds = SceneDataset(root, "train", num_views=V, resolution=64, train=True, seed=5)
    a = ds[0]["view_ids"]
    assert np.array_equal(a, ds[0]["view_ids"])
    ds.set_epoch(1)
    assert not np.array_equal(a, ds[0]["view_ids"])
    ev = SceneDataset(root, "test", num_views=V, resolution=64, train=False)
    assert ev.ids == ["scene002"]
    assert ev[0]["view_ids"].tolist() == fixed_views(10, V).tolist() == [0, 3, 6, 1, 5, 8]
    with pytest.raises(ValueError):
        fixed_views(5, 3)
    with pytest.raises(InputError, match="need at least"):
        SceneDataset(root, "train", num_views=6, resolution=64)[0]
    with pytest.raises(InputError, match="no scenes"):
        SceneDataset(root, "val", num_views=V, resolution=64)


@pytest.mark.parametrize("resolution,augment", [(64, False), (32, False), (64, True)])
def test_box_centres_project_onto_their_objects(root, resolution, augment):
    """Each GT box centre, projected with the item's K and world_to_camera (resized, augmented), lands
    on that object's pixels of the native instance map, or behind a nearer object."""
    ds = SceneDataset(root, "train", num_views=5, resolution=resolution, train=True, augment=augment, seed=2)
    checked = 0
    for i in range(len(ds)):
        it = ds[i]
        d = root / "scenes" / it["id"]
        scale = resolution / 64
        native_h = json.loads((d / "scene.json").read_text())["objects"][0]["bbox3d"]["size"][2]
        s = it["boxes"][0, 5] / native_h  # the augmentation's world scale (1 without)
        for v, view in enumerate(it["view_ids"]):
            inst = np.asarray(Image.open(d / "instances" / f"{int(view):04d}.png")).astype(np.int64)
            depth = np.load(d / "depth" / f"{int(view):04d}.npy")
            if resolution == 64:
                np.testing.assert_allclose(it["depth"][v], depth * s, rtol=1e-5)
            for box, oid in zip(it["boxes"], it["object_ids"]):
                uv, z = _project(it["K"][v].astype(np.float64), it["world_to_camera"][v].astype(np.float64), box[:3].astype(np.float64))
                col, row = (uv / scale).astype(int)
                assert 0 <= col < 64 and 0 <= row < 64
                if inst[row, col] == oid:
                    checked += 1
                else:  # occluded: a nearer surface
                    assert depth[row, col] * s < z
        assert s >= 1.0 - 1e-5 if augment else s == pytest.approx(1.0)
    assert checked > 0.8 * sum(len(ds[i]["boxes"]) * 10 for i in range(len(ds)))


def test_augmentation_keeps_the_scene_in_the_grid(root):
    ds = SceneDataset(root, "train", num_views=V, resolution=64, train=True, augment=True)
    for epoch in range(5):
        ds.set_epoch(epoch)
        for i in range(len(ds)):
            b = ds[i]["boxes"]
            r = np.hypot(np.abs(b[:, 0]) + b[:, 3:5].max(1) / 2, np.abs(b[:, 1]) + b[:, 3:5].max(1) / 2)
            assert r.max() <= 1.92 + 1e-4 and (b[:, 2] + b[:, 5] / 2).max() <= 0.32 + 1e-4
            R = ds[i]["world_to_camera"][:, :3, :3]
            np.testing.assert_allclose(R @ R.transpose(0, 2, 1), np.tile(np.eye(3), (2 * V, 1, 1)), atol=1e-5)
    assert isinstance(collate([ds[0]])["boxes"], torch.Tensor)


def test_reads_scenes_written_by_the_dataset_writer(tmp_path):
    """The format-v1 writer (datagen.dataset.writer) and this loader agree on the scene layout."""
    from datagen.dataset.writer import DatasetWriter
    from synth_scenes import make_scene

    w = DatasetWriter(tmp_path, config={"test": 1}, seed=0)
    scene, views = make_scene("s0", np.random.default_rng(4), views=8, resolution=32)
    w.write_scene("s0", dict(scene, split="test"), views)
    w.write_splits({"test": ["s0"]})
    w.finalize()
    it = SceneDataset(tmp_path, "test", num_views=4, resolution=32, train=False)[0]
    assert it["id"] == "s0" and it["rgb"].shape == (8, 3, 32, 32)
    np.testing.assert_array_equal(it["silhouette"][0], (views[0]["instances"] > 0).astype(np.float32))
    np.testing.assert_allclose(it["depth"][0], views[0]["depth"])
