"""Dataset format v1: names and small helpers shared by the writer and the reader.

```
<root>/dataset.json        format, format_version, generator_version, config, seed, counts
<root>/splits.json         {"train": [shape ids], "val": [...], "test": [...]}  (disjoint by shape;
                           scenes datasets may use "seen-test" / "unseen-test" instead of "test")
<root>/index.jsonl         one line per sample (rebuilt from the sample folders by ``finalize``)
<root>/shapes/<shape_id>/  reference shape: parts.json + objs/*.obj (shape library layout), and
    views/NNNN.png           textureless grayscale reference views
    views/NNNN_depth.npy     float32 planar z-depth (metres), 0 = background
    views/NNNN_points.npy    float32 (H/8, W/8, 3) visible surface point per 8x8 patch (world), NaN = none
    views/cameras.json       [{"K", "world_to_camera", "width", "height"}] per view
<root>/samples/<sample_id>/  rgb.png, depth.npy, parts.png (uint16: 1 + part index, 0 = none),
                             mask_new.png, mask_old.png (anomalies only; mask_old absent for missing),
                             meta.json
<root>/scenes/<scene_id>/    Odd-One-Out scenes: rgb/NNNN.png, depth/NNNN.npy, instances/NNNN.png (uint16:
                             0 = floor/background, i = objects[i-1]), anomaly/NNNN.png (the anomaly's
                             pixels, anomalous scenes), scene.json
<root>/manifest.json       BLAKE2b digest and size of dataset.json, splits.json, index.jsonl (by ``finalize``)
<folder>/manifest.json     in every sample / reference / scene folder: {"<relative path>": {"blake2b":
                           hex, "bytes": n}} for every file of the folder but itself (``dataset.manifest``)
```
A sample, reference or scene folder is written atomically: it exists only when complete. It is
write-once: when several processes write the same folder, the first complete one stays.
``dataset.json`` records ``"checksums": "blake2b"`` (folders of datasets written before that have no
manifest.json; ``datagen verify`` warns about them and checks them without digests) and, for
generated datasets, ``run`` (kind, shape library, shape ids ...: what ``datagen status`` needs to
rebuild the plan).

Imported data (``datagen import looking3d``): a sample whose meta.json has ``"source":
"looking3d-release"`` has no depth.npy or parts.png (and mask_old.png is optional); a reference
view whose cameras.json entry has that ``source`` may lack NNNN_depth.npy, and a reference whose
views all have it may lack the part meshes (parts.json, objs/).
"""

from __future__ import annotations

from datagen.corrupt.registry import ANOMALY_TYPES  # noqa: F401 - the one list of anomaly types

FORMAT_NAME = "anomaly3d-dataset"
FORMAT_VERSION = 1
SPLITS = ("train", "val", "test")
#: Split names a scenes dataset may also use (the ToysAD ones: test on seen / on unseen categories).
SCENE_SPLITS = ("seen-test", "unseen-test")
ALL_SPLITS = SPLITS + SCENE_SPLITS

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
MANIFEST_JSON = "manifest.json"  # per folder and at the root: BLAKE2b digest + size of each file
CHECKSUMS = "blake2b"  # dataset.json "checksums": the manifests' digest
LOCK_FILE = ".datagen.lock"  # flock'ed around finalize (several processes may write one root)
PATCH_STRIDE = 8
SOURCE_LOOKING3D = "looking3d-release"  # meta / camera "source" of imported release data


def view_stem(i: int) -> str:
    return f"{i:04d}"


def split_members(split: str) -> tuple[str, ...]:
    """The index split names that ``split`` selects: ``test`` is every test split (a scenes dataset with
    unseen categories has ``seen-test`` and ``unseen-test`` instead of ``test``); any other name itself."""
    return ("test",) + SCENE_SPLITS if split == "test" else (split,)
