import json

import numpy as np
import pytest
import trimesh

from datagen.dataset.reader import Dataset
from datagen.dataset.writer import DatasetWriter, bbox_of
from datagen.errors import InputError
from datagen.shapes import Part, Shape, normalize
from datagen.spec import Camera


def _shape():
    b = trimesh.creation.box((0.4, 0.4, 0.8))
    return normalize(Shape("box1", "chair", (Part("body", "chair_back", b.vertices, b.faces),)))


def _write(root):
    w = DatasetWriter(root, config={"preset": "test"}, seed=3)
    shape = _shape()
    cam = Camera.orbit(2.0, 0.0, 0.35, 355.0, 32, 32)
    depth = np.zeros((32, 32), np.float32)
    depth[8:24, 8:24] = 2.0
    w.write_reference(shape, [{"image": np.full((32, 32), 200, np.uint8), "depth": depth, "camera": cam}] * 2)
    mask = np.zeros((32, 32), bool)
    mask[10:14, 12:20] = True
    for i, label in enumerate([0, 1]):
        meta = {
            "shape_id": "box1",
            "label": label,
            "anomaly": {"type": "missing", "part": "body"} if label else None,
            "camera": cam.to_json(),
            "split": "train",
            "bbox": bbox_of(mask) if label else None,
        }
        w.write_sample(f"s{i}", meta, np.zeros((32, 32, 3), np.uint8), depth, (depth > 0).astype(np.uint16),
                       mask_new=mask if label else None)
    w.write_splits({"train": ["box1"], "val": [], "test": []})
    return w


def test_roundtrip(tmp_path):
    w = _write(tmp_path)
    counts = w.finalize()
    assert counts["samples"] == 2 and counts["anomalous"] == 1 and counts["reference_shapes"] == 1
    ds = Dataset(tmp_path)
    assert len(ds) == 2
    s = ds.sample("s1")
    assert s.label == 1 and s.bbox == [12, 10, 20, 14]
    assert s.mask_new.sum() == 32 and s.mask_old is None
    assert s.parts.dtype == np.uint16 and s.parts.max() == 1
    ref = ds.reference("box1")
    assert ref.images.shape == (2, 32, 32) and ref.points.shape == (2, 4, 4, 3)
    # patch centre (pixel 12,12 -> centre 12.5) back-projects to depth 2 in front of the camera
    cam = ref.cameras[0]
    _, z = cam.project(ref.points[0, 1:3, 1:3].reshape(-1, 3))
    assert np.allclose(z, 2.0)
    assert np.isnan(ref.points[0, 0, 0]).all()


def test_reopen_with_other_config_is_refused(tmp_path):
    _write(tmp_path)
    with pytest.raises(InputError, match="another config"):
        DatasetWriter(tmp_path, config={"preset": "other"}, seed=3)


def test_splits_must_be_disjoint(tmp_path):
    w = DatasetWriter(tmp_path, config={}, seed=0)
    with pytest.raises(ValueError, match="disjoint"):
        w.write_splits({"train": ["a"], "test": ["a"]})


def test_bad_dataset_json(tmp_path):
    (tmp_path / "dataset.json").write_text("{not json")
    with pytest.raises(InputError, match="dataset.json: bad JSON"):
        Dataset(tmp_path)
    (tmp_path / "dataset.json").write_text(json.dumps({"format": "x"}))
    with pytest.raises(InputError, match="not a anomaly3d-dataset"):
        Dataset(tmp_path)
