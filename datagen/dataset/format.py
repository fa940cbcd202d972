"""Dataset format v1: names and small helpers shared by the writer and the reader.

```
<root>/dataset.json        format, format_version, generator_version, config, seed, counts
<root>/splits.json         {"train": [shape ids], "val": [...], "test": [...]}  (disjoint by shape)
<root>/index.jsonl         one line per sample (rebuilt from the sample folders by ``finalize``)
<root>/shapes/<shape_id>/  reference shape: parts.json + objs/*.obj (shape library layout), and
    views/NNNN.png           textureless grayscale reference views
    views/NNNN_depth.npy     float32 planar z-depth (metres), 0 = background
    views/NNNN_points.npy    float32 (H/8, W/8, 3) visible surface point per 8x8 patch (world), NaN = none
    views/cameras.json       [{"K", "world_to_camera", "width", "height"}] per view
<root>/samples/<sample_id>/  rgb.png, depth.npy, parts.png (uint16: 1 + part index, 0 = none),
                             mask_new.png, mask_old.png (anomalies only; mask_old absent for missing),
                             meta.json
<root>/scenes/<scene_id>/    Odd-One-Out scenes: rgb/NNNN.png, depth/NNNN.npy, instances/NNNN.png, scene.json
```
A sample, reference or scene folder is written atomically: it exists only when complete.
"""

from __future__ import annotations

FORMAT_NAME = "anomaly3d-dataset"
FORMAT_VERSION = 1
SPLITS = ("train", "val", "test")
ANOMALY_TYPES = ("position", "rotation", "broken", "swapped", "missing")

DATASET_JSON = "dataset.json"
SPLITS_JSON = "splits.json"
INDEX_JSONL = "index.jsonl"
SHAPES_DIR = "shapes"
SAMPLES_DIR = "samples"
SCENES_DIR = "scenes"
VIEWS_DIR = "views"
CAMERAS_JSON = "cameras.json"
META_JSON = "meta.json"
SCENE_JSON = "scene.json"
PATCH_STRIDE = 8


def view_stem(i: int) -> str:
    return f"{i:04d}"
