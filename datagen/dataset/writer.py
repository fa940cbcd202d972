"""Write a dataset in format v1. Every sample / reference / scene folder is atomic.

Resume is built in: ``has_sample`` / ``has_reference`` / ``has_scene`` tell what is already
complete, and ``finalize`` rebuilds ``index.jsonl`` and the counts in ``dataset.json`` from the
folders on disk, so a crashed run is resumed by running the same command again.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

from datagen import __version__
from datagen.dataset import format as F
from datagen.errors import InputError
from datagen.io import atomic_dir, atomic_write_json, atomic_write_text, dumps_json, read_json
from datagen.shapes.library import write_shape_into
from datagen.shapes.model import Shape
from datagen.spec import Camera


def save_png(path: Path, array: np.ndarray) -> None:
    """uint8 (H,W) -> L, (H,W,3) -> RGB, (H,W,4) -> RGBA; uint16 (H,W) -> 16-bit; bool (H,W) -> L 0/255."""
    a = np.asarray(array)
    if a.dtype == bool:
        a = a.astype(np.uint8) * 255
    if a.dtype == np.uint16:
        img = Image.fromarray(a)  # Pillow picks I;16 for uint16
    elif a.dtype == np.uint8:
        img = Image.fromarray(a)
    else:
        raise TypeError(f"{path}: cannot save dtype {a.dtype} as PNG (uint8, uint16 or bool)")
    img.save(path, format="PNG", compress_level=1)


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
    """

    def __init__(self, root: str | os.PathLike, config: dict, seed: int, allow_config_change: bool = False):
        self.root = Path(root)
        self.config = config
        self.seed = int(seed)
        self.root.mkdir(parents=True, exist_ok=True)
        for d in (F.SHAPES_DIR, F.SAMPLES_DIR, F.SCENES_DIR):
            (self.root / d).mkdir(exist_ok=True)
        info_path = self.root / F.DATASET_JSON
        if info_path.exists():
            info = read_json(info_path)
            if info.get("format_version") != F.FORMAT_VERSION:
                raise InputError(info_path, f"format version {info.get('format_version')} != {F.FORMAT_VERSION}")
            same = json.dumps(info.get("config"), sort_keys=True) == json.dumps(config, sort_keys=True)
            if not allow_config_change and (not same or info.get("seed") != self.seed):
                raise InputError(info_path, "dataset exists with another config or seed; use a new --out folder")
        else:
            atomic_write_json(info_path, self._info(counts={}))

    def _info(self, counts: dict) -> dict:
        return {
            "format": F.FORMAT_NAME,
            "format_version": F.FORMAT_VERSION,
            "generator_version": __version__,
            "config": self.config,
            "seed": self.seed,
            "counts": counts,
            "conventions": {
                "world": "Z up, metres",
                "camera": "OpenCV (x right, y down, z forward); world_to_camera maps world to camera",
                "pixels": "(0,0) = top-left corner of the top-left pixel",
                "depth": "planar z in metres, 0 = background",
            },
        }

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
        with atomic_dir(self.sample_dir(sample_id)) as tmp:
            save_png(tmp / "rgb.png", rgb)
            if depth is not None:
                np.save(tmp / "depth.npy", np.asarray(depth, dtype=np.float32))
            if parts is not None:
                save_png(tmp / "parts.png", np.asarray(parts, dtype=np.uint16))
            if mask_new is not None:
                save_png(tmp / "mask_new.png", np.asarray(mask_new, dtype=bool))
            if mask_old is not None:
                save_png(tmp / "mask_old.png", np.asarray(mask_old, dtype=bool))
            full = dict(meta, id=sample_id, kind="query")
            (tmp / F.META_JSON).write_text(dumps_json(full))
        return self.sample_dir(sample_id)

    # --- reference shapes ----------------------------------------------------------
    def reference_dir(self, shape_id: str) -> Path:
        return self.root / F.SHAPES_DIR / shape_id

    def has_reference(self, shape_id: str) -> bool:
        return (self.reference_dir(shape_id) / F.VIEWS_DIR / F.CAMERAS_JSON).is_file()

    def write_reference(self, shape: Shape, views: list[dict]) -> Path:
        """views : [{"image": (H,W) uint8 gray, "depth": (H,W) float32, "camera": Camera}] in view order."""
        final = self.reference_dir(shape.id)
        with atomic_dir(final) as tmp:
            write_shape_into(shape, tmp)
            vdir = tmp / F.VIEWS_DIR
            vdir.mkdir()
            cams = []
            for i, v in enumerate(views):
                stem = F.view_stem(i)
                save_png(vdir / f"{stem}.png", np.asarray(v["image"], dtype=np.uint8))
                depth = np.asarray(v["depth"], dtype=np.float32)
                np.save(vdir / f"{stem}_depth.npy", depth)
                np.save(vdir / f"{stem}_points.npy", patch_points(depth, v["camera"]))
                cams.append(v["camera"].to_json())
            (vdir / F.CAMERAS_JSON).write_text(dumps_json(cams))
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
        with atomic_dir(self.scene_dir(scene_id)) as tmp:
            subs = ("rgb", "depth", "instances") + (("anomaly",) if views and "anomaly" in views[0] else ())
            for sub in subs:
                (tmp / sub).mkdir()
            for i, v in enumerate(views):
                stem = F.view_stem(i)
                save_png(tmp / "rgb" / f"{stem}.png", v["rgb"])
                np.save(tmp / "depth" / f"{stem}.npy", np.asarray(v["depth"], dtype=np.float32))
                save_png(tmp / "instances" / f"{stem}.png", np.asarray(v["instances"], dtype=np.uint16))
                if "anomaly" in subs:
                    save_png(tmp / "anomaly" / f"{stem}.png", np.asarray(v["anomaly"], dtype=bool))
            (tmp / F.SCENE_JSON).write_text(dumps_json(dict(scene, id=scene_id, kind="scene")))
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
        """Rebuild index.jsonl and the counts in dataset.json from the complete folders on disk."""
        rows = []
        for kind, sub, fname in (("query", F.SAMPLES_DIR, F.META_JSON), ("scene", F.SCENES_DIR, F.SCENE_JSON)):
            base = self.root / sub
            for d in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")):
                if not (d / fname).is_file():
                    continue
                meta = read_json(d / fname)
                rows.append(index_row(meta, kind, f"{sub}/{d.name}"))
        atomic_write_text(self.root / F.INDEX_JSONL, "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
        counts = count_rows(rows)
        counts["reference_shapes"] = sum(
            1 for d in (self.root / F.SHAPES_DIR).iterdir() if (d / F.VIEWS_DIR / F.CAMERAS_JSON).is_file()
        )
        atomic_write_json(self.root / F.DATASET_JSON, self._info(counts))
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
