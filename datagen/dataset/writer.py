"""Write a dataset in format v1. Every sample / reference / scene folder is atomic and write-once.

Resume is built in: ``has_sample`` / ``has_reference`` / ``has_scene`` tell what is already
complete, and ``finalize`` rebuilds ``index.jsonl`` and the counts in ``dataset.json`` from the
folders on disk, so a crashed run is resumed by running the same command again.

Integrity: each folder gets a ``manifest.json`` (BLAKE2b digest and size of every file, from the
bytes written; ``datagen.dataset.manifest``) before its rename; ``finalize`` writes the root's.

Concurrency: several processes may write into one root at once (two runs of the same plan or
shard). A folder that another process completed first is kept and ours dropped (the same
content, by determinism); ``dataset.json`` is created once (``write_once_bytes``); ``finalize``
runs under a lock on ``<root>/.datagen.lock``.
"""

from __future__ import annotations

import io
import json
import os
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

from datagen.version import __version__
import datagen.dataset.format as F
from datagen.dataset.manifest import MANIFEST_JSON, FolderWriter, entry, file_entry
from datagen.errors import InputError
from datagen.io import atomic_dir, atomic_write_bytes, atomic_write_json, dumps_json, file_lock, read_json, write_once_bytes
from datagen.shapes.library import write_shape_into
from datagen.shapes.model import Shape
from datagen.spec import Camera


def encode_png(array: np.ndarray, name: str = "image") -> bytes:
    """PNG bytes: uint8 (H,W) -> L, (H,W,3) -> RGB, (H,W,4) -> RGBA; uint16 (H,W) -> 16-bit; bool (H,W) -> L 0/255."""
    a = np.asarray(array)
    if a.dtype == bool:
        a = a.astype(np.uint8) * 255
    if a.dtype == np.uint16:
        img = Image.fromarray(a)  # Pillow picks I;16 for uint16
    elif a.dtype == np.uint8:
        img = Image.fromarray(a)
    else:
        raise TypeError(f"{name}: cannot save dtype {a.dtype} as PNG (uint8, uint16 or bool)")
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def save_png(path: Path, array: np.ndarray) -> None:
    """Write ``encode_png(array)`` to ``path``."""
    Path(path).write_bytes(encode_png(array, str(path)))


def encode_npy(array: np.ndarray) -> bytes:
    """``np.save`` bytes of ``array`` (no pickle)."""
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    return buf.getvalue()


def patch_points(depth: np.ndarray, camera: Camera, stride: int = F.PATCH_STRIDE) -> np.ndarray:
    """depth : (H, W) planar z -> (H/stride, W/stride, 3) float32 world points at patch centres (NaN = none)."""
    world = camera.backproject(np.asarray(depth, dtype=np.float64))
    c = stride // 2
    return world[c::stride, c::stride].astype(np.float32)


def bbox_of(mask: np.ndarray) -> list[int] | None:
    """[x1, y1, x2, y2] pixel box (x2, y2 exclusive) of a boolean mask, or None if empty."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    return [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]


class DatasetWriter:
    """Writes ``root`` in format v1.

    config : the full, JSON-serializable run config (stored in dataset.json).
    seed : the run seed. Reopening an existing root with a different config or seed is an
    error (it would mix two datasets), unless ``allow_config_change``.
    run : what rebuilds the run's plan besides config and seed (``Runner.run_record()``: kind, shape
    library, shape ids, ...), stored as dataset.json ``run`` for ``datagen status``; None = not recorded.
    """

    def __init__(self, root: str | os.PathLike, config: dict, seed: int, allow_config_change: bool = False,
                 run: dict | None = None):
        self.root = Path(root)
        self.config = config
        self.seed = int(seed)
        self.run = run
        self.root.mkdir(parents=True, exist_ok=True)
        for d in (F.SHAPES_DIR, F.SAMPLES_DIR, F.SCENES_DIR):
            (self.root / d).mkdir(exist_ok=True)
        info_path = self.root / F.DATASET_JSON
        if write_once_bytes(info_path, dumps_json(self._info(counts={})).encode()):
            return  # created here (once, even when several processes start together)
        info = read_json(info_path)
        if not isinstance(info, dict):
            raise InputError(info_path, "not a JSON object")
        if info.get("format_version") != F.FORMAT_VERSION:
            raise InputError(info_path, f"format version {info.get('format_version')} != {F.FORMAT_VERSION}")
        same = json.dumps(info.get("config"), sort_keys=True) == json.dumps(config, sort_keys=True)
        if not allow_config_change and (not same or info.get("seed") != self.seed):
            raise InputError(info_path, "dataset exists with another config or seed; use a new --out folder")
        if run is not None and same and info.get("run") != run:  # no record yet, or e.g. more scenes
            self._record_run()

    def _record_run(self) -> None:
        """Put this run's record into dataset.json (and its digest into the root manifest, if any)."""
        info_path = self.root / F.DATASET_JSON
        with file_lock(self.lock_path):
            info = read_json(info_path)
            if info.get("run") == self.run:
                return
            data = dumps_json(dict(info, run=self.run)).encode()
            atomic_write_bytes(info_path, data)
            root_manifest = self.root / MANIFEST_JSON
            m = read_json(root_manifest) if root_manifest.is_file() else None
            if isinstance(m, dict) and F.DATASET_JSON in m:
                atomic_write_json(root_manifest, dict(m, **{F.DATASET_JSON: entry(data)}))

    @property
    def lock_path(self) -> Path:
        return self.root / F.LOCK_FILE

    def _info(self, counts: dict) -> dict:
        info = {
            "format": F.FORMAT_NAME,
            "format_version": F.FORMAT_VERSION,
            "generator_version": __version__,
            "config": self.config,
            "seed": self.seed,
            "counts": counts,
            "checksums": F.CHECKSUMS,
            "conventions": {
                "world": "Z up, metres",
                "camera": "OpenCV (x right, y down, z forward); world_to_camera maps world to camera",
                "pixels": "(0,0) = top-left corner of the top-left pixel",
                "depth": "planar z in metres, 0 = background",
            },
        }
        if self.run is not None:
            info["run"] = self.run
        return info

    # --- samples -------------------------------------------------------------------
    def sample_dir(self, sample_id: str) -> Path:
        return self.root / F.SAMPLES_DIR / sample_id

    def has_sample(self, sample_id: str) -> bool:
        return (self.sample_dir(sample_id) / F.META_JSON).is_file()

    def write_sample(
        self,
        sample_id: str,
        meta: dict,
        rgb: np.ndarray,
        depth: np.ndarray | None,
        parts: np.ndarray | None,
        mask_new: np.ndarray | None = None,
        mask_old: np.ndarray | None = None,
    ) -> Path:
        """rgb : (H,W,3|4) uint8; depth : (H,W) float32 metres; parts : (H,W) uint16 (1 + part index, 0 = none);
        masks : (H,W) bool. ``meta`` must hold shape_id, label, anomaly (dict or None), camera, split.
        depth and parts may be None only for imported release data (meta ``source`` = looking3d-release)."""
        for key in ("shape_id", "label", "anomaly", "camera", "split"):
            if key not in meta:
                raise ValueError(f"sample {sample_id}: meta lacks {key!r}")
        if (depth is None or parts is None) and meta.get("source") != F.SOURCE_LOOKING3D:
            raise ValueError(f"sample {sample_id}: depth and parts are required (except for imported release data)")
        with atomic_dir(self.sample_dir(sample_id), if_exists="keep") as tmp:
            fw = FolderWriter(tmp)
            fw.write("rgb.png", encode_png(rgb, "rgb.png"))
            if depth is not None:
                fw.write("depth.npy", encode_npy(np.asarray(depth, dtype=np.float32)))
            if parts is not None:
                fw.write("parts.png", encode_png(np.asarray(parts, dtype=np.uint16)))
            if mask_new is not None:
                fw.write("mask_new.png", encode_png(np.asarray(mask_new, dtype=bool)))
            if mask_old is not None:
                fw.write("mask_old.png", encode_png(np.asarray(mask_old, dtype=bool)))
            full = dict(meta, id=sample_id, kind="query")
            fw.write(F.META_JSON, dumps_json(full).encode())
            fw.save()
        return self.sample_dir(sample_id)

    # --- reference shapes ----------------------------------------------------------
    def reference_dir(self, shape_id: str) -> Path:
        return self.root / F.SHAPES_DIR / shape_id

    def has_reference(self, shape_id: str) -> bool:
        return (self.reference_dir(shape_id) / F.VIEWS_DIR / F.CAMERAS_JSON).is_file()

    def write_reference(self, shape: Shape, views: list[dict]) -> Path:
        """views : [{"image": (H,W) uint8 gray, "depth": (H,W) float32, "camera": Camera}] in view order."""
        final = self.reference_dir(shape.id)
        with atomic_dir(final, if_exists="keep") as tmp:
            write_shape_into(shape, tmp)  # parts.json + objs/: hashed from disk by fw.save()
            fw = FolderWriter(tmp)
            vd = F.VIEWS_DIR
            (tmp / vd).mkdir()
            cams = []
            for i, v in enumerate(views):
                stem = F.view_stem(i)
                fw.write(f"{vd}/{stem}.png", encode_png(np.asarray(v["image"], dtype=np.uint8)))
                depth = np.asarray(v["depth"], dtype=np.float32)
                fw.write(f"{vd}/{stem}_depth.npy", encode_npy(depth))
                fw.write(f"{vd}/{stem}_points.npy", encode_npy(patch_points(depth, v["camera"])))
                cams.append(v["camera"].to_json())
            fw.write(f"{vd}/{F.CAMERAS_JSON}", dumps_json(cams).encode())
            fw.save()
        return final

    # --- Odd-One-Out scenes --------------------------------------------------------
    def scene_dir(self, scene_id: str) -> Path:
        return self.root / F.SCENES_DIR / scene_id

    def has_scene(self, scene_id: str) -> bool:
        return (self.scene_dir(scene_id) / F.SCENE_JSON).is_file()

    def write_scene(self, scene_id: str, scene: dict, views: list[dict]) -> Path:
        """scene : {"objects": [...], "cameras": [...], "split": ...}; views : [{"rgb": (H,W,3) uint8,
        "depth": (H,W) float32 metres, "instances": (H,W) uint16 (0 = floor/background, i = objects[i-1]),
        "anomaly": (H,W) bool, optional: the anomaly's pixels}]."""
        with atomic_dir(self.scene_dir(scene_id), if_exists="keep") as tmp:
            fw = FolderWriter(tmp)
            subs = ("rgb", "depth", "instances") + (("anomaly",) if views and "anomaly" in views[0] else ())
            for sub in subs:
                (tmp / sub).mkdir()
            for i, v in enumerate(views):
                stem = F.view_stem(i)
                fw.write(f"rgb/{stem}.png", encode_png(v["rgb"]))
                fw.write(f"depth/{stem}.npy", encode_npy(np.asarray(v["depth"], dtype=np.float32)))
                fw.write(f"instances/{stem}.png", encode_png(np.asarray(v["instances"], dtype=np.uint16)))
                if "anomaly" in subs:
                    fw.write(f"anomaly/{stem}.png", encode_png(np.asarray(v["anomaly"], dtype=bool)))
            fw.write(F.SCENE_JSON, dumps_json(dict(scene, id=scene_id, kind="scene")).encode())
            fw.save()
        return self.scene_dir(scene_id)

    # --- dataset-level files -----------------------------------------------------------
    def write_splits(self, splits: dict) -> None:
        """``{split name: [shape ids]}``: names among ``format.ALL_SPLITS``, disjoint. train / val / test
        are always written (empty if absent), the scene names only when given."""
        bad = sorted(set(splits) - set(F.ALL_SPLITS))
        if bad:
            raise ValueError(f"unknown split names {bad}; expected some of {', '.join(F.ALL_SPLITS)}")
        seen: dict[str, str] = {}
        for name, ids in splits.items():
            for sid in ids:
                if sid in seen:
                    raise ValueError(f"shape {sid} is in both {seen[sid]} and {name}: splits must be disjoint")
                seen[sid] = name
        names = [k for k in F.ALL_SPLITS if k in F.SPLITS or k in splits]
        atomic_write_json(self.root / F.SPLITS_JSON, {k: list(splits.get(k, [])) for k in names})

    def finalize(self) -> dict:
        """Rebuild index.jsonl, the counts in dataset.json and the root manifest.json from the complete
        folders on disk, under the root's lock (so processes finishing together take turns)."""
        with file_lock(self.lock_path):
            rows = []
            for kind, sub, fname in (("query", F.SAMPLES_DIR, F.META_JSON), ("scene", F.SCENES_DIR, F.SCENE_JSON)):
                base = self.root / sub
                for d in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")):
                    if not (d / fname).is_file():
                        continue
                    meta = read_json(d / fname)
                    rows.append(index_row(meta, kind, f"{sub}/{d.name}"))
            index = "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows).encode()
            atomic_write_bytes(self.root / F.INDEX_JSONL, index)
            counts = count_rows(rows)
            counts["reference_shapes"] = sum(
                1 for d in (self.root / F.SHAPES_DIR).iterdir() if (d / F.VIEWS_DIR / F.CAMERAS_JSON).is_file()
            )
            info = dumps_json(self._info(counts)).encode()
            atomic_write_bytes(self.root / F.DATASET_JSON, info)
            files = {F.DATASET_JSON: entry(info), F.INDEX_JSONL: entry(index)}
            if (self.root / F.SPLITS_JSON).is_file():
                files[F.SPLITS_JSON] = file_entry(self.root / F.SPLITS_JSON)
            atomic_write_json(self.root / MANIFEST_JSON, dict(sorted(files.items())))
        return counts


def index_row(meta: dict, kind: str, path: str) -> dict:
    if kind == "query":
        anomaly = meta.get("anomaly") or {}
        return {
            "id": meta["id"],
            "kind": "query",
            "shape_id": meta["shape_id"],
            "split": meta.get("split"),
            "label": int(meta["label"]),
            "anomaly_type": anomaly.get("type"),
            "path": path,
        }
    objects = meta.get("objects", [])
    return {
        "id": meta["id"],
        "kind": "scene",
        "shape_id": meta.get("shape_id"),
        "split": meta.get("split"),
        "label": int(any(o.get("label", 0) for o in objects)),
        "anomaly_type": next((o["anomaly"]["type"] for o in objects if o.get("anomaly")), None),
        "path": path,
    }


def count_rows(rows: list[dict]) -> dict:
    by_type = Counter(r["anomaly_type"] or "normal" for r in rows)
    by_split = Counter(r["split"] for r in rows)
    return {
        "samples": len(rows),
        "anomalous": sum(r["label"] for r in rows),
        "normal": sum(1 - r["label"] for r in rows),
        "by_type": dict(sorted(by_type.items())),
        "by_split": dict(sorted((str(k), v) for k, v in by_split.items())),
        "shapes": len({r["shape_id"] for r in rows}),
    }
