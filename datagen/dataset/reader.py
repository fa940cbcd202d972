"""Read a dataset in format v1 (what a trainer or a notebook uses).

    ds = Dataset("ds/")
    rows = ds.rows(split="train")             # index.jsonl rows (dicts)
    s = ds.sample(rows[0]["id"])              # Sample: rgb, depth, parts, mask_new, mask_old, meta, camera
    ref = ds.reference(s.meta["shape_id"])    # Reference: images, depths, points, K, world_to_camera
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from PIL import Image

import datagen.dataset.format as F
from datagen.errors import InputError
from datagen.io import read_json
from datagen.spec import Camera


def load_png(path: Path) -> np.ndarray:
    """PNG -> uint8 (H,W[,C]) or uint16 (H,W) for 16-bit images."""
    try:
        with Image.open(path) as img:
            if img.mode in ("I;16", "I;16B", "I"):
                return np.asarray(img, dtype=np.uint16) if img.mode != "I" else np.asarray(img).astype(np.uint16)
            return np.asarray(img)
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except OSError as e:
        raise InputError(path, f"cannot read image: {e}") from None


def load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except (OSError, ValueError) as e:
        raise InputError(path, f"cannot read array: {e}") from None


@dataclass
class Sample:
    """One query render. Arrays load on first access.

    rgb : (H, W, 3) uint8 sRGB. depth : (H, W) float32 metres (0 = background).
    parts : (H, W) uint16, 1 + part index into ``meta['parts']`` (0 = none).
    mask_new / mask_old : (H, W) bool or None. camera : Camera. meta : dict (meta.json).
    """

    path: Path
    meta: dict

    @property
    def id(self) -> str:
        return self.meta["id"]

    @property
    def label(self) -> int:
        return int(self.meta["label"])

    @cached_property
    def rgb(self) -> np.ndarray:
        a = load_png(self.path / "rgb.png")
        if a.ndim == 3 and a.shape[2] == 4:  # composite transparent renders over white
            alpha = a[..., 3:4].astype(np.float32) / 255
            a = (a[..., :3] * alpha + 255 * (1 - alpha)).round().astype(np.uint8)
        return a

    @cached_property
    def depth(self) -> np.ndarray:
        return load_npy(self.path / "depth.npy")

    @cached_property
    def parts(self) -> np.ndarray:
        return load_png(self.path / "parts.png")

    def _mask(self, name) -> np.ndarray | None:
        p = self.path / name
        return load_png(p) > 0 if p.exists() else None

    @cached_property
    def mask_new(self) -> np.ndarray | None:
        return self._mask("mask_new.png")

    @cached_property
    def mask_old(self) -> np.ndarray | None:
        return self._mask("mask_old.png")

    @property
    def camera(self) -> Camera:
        return Camera.from_json(self.meta["camera"])

    @property
    def bbox(self) -> list[int] | None:
        """[x1, y1, x2, y2] pixels of the anomaly (x2, y2 exclusive), None for normal samples."""
        return self.meta.get("bbox")


@dataclass
class Reference:
    """Reference views of a shape. images : (V, H, W) uint8 gray; depths : (V, H, W) float32, or None
    for views imported from the Looking 3D release (no depth there); points : (V, H/8, W/8, 3) float32
    world (NaN = none); K : (V, 3, 3); world_to_camera : (V, 4, 4)."""

    path: Path
    images: np.ndarray
    depths: np.ndarray | None
    points: np.ndarray
    K: np.ndarray
    world_to_camera: np.ndarray

    @property
    def cameras(self) -> list[Camera]:
        h, w = self.images.shape[1:3]
        return [Camera(k, rt, w, h) for k, rt in zip(self.K, self.world_to_camera)]


class Dataset:
    """A dataset root in format v1."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        info_path = self.root / F.DATASET_JSON
        self.info = read_json(info_path)
        if self.info.get("format") != F.FORMAT_NAME or self.info.get("format_version") != F.FORMAT_VERSION:
            raise InputError(
                info_path,
                f"not a {F.FORMAT_NAME} v{F.FORMAT_VERSION} dataset "
                f"(format={self.info.get('format')!r}, version={self.info.get('format_version')!r})",
            )
        sp = self.root / F.SPLITS_JSON
        self.splits = read_json(sp) if sp.exists() else {}
        self._ref_cache: dict[str, Reference] = {}

    @cached_property
    def index(self) -> list[dict]:
        p = self.root / F.INDEX_JSONL
        if not p.exists():
            raise InputError(p, "index not found: the dataset was not finalized (run `datagen generate` again)")
        rows = []
        for n, line in enumerate(p.read_text().splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise InputError(p, f"line {n}: bad JSON: {e.msg}") from None
        return rows

    def rows(self, split: str | None = None, kind: str = "query") -> list[dict]:
        """Index rows of one kind (``query`` or ``scene``), optionally of one split."""
        return [r for r in self.index if r["kind"] == kind and (split is None or r.get("split") == split)]

    def sample(self, sample_id: str) -> Sample:
        d = self.root / F.SAMPLES_DIR / sample_id
        return Sample(d, read_json(d / F.META_JSON))

    def __iter__(self):
        for r in self.rows():
            yield self.sample(r["id"])

    def __len__(self) -> int:
        return len(self.rows())

    def shape_ids(self) -> list[str]:
        d = self.root / F.SHAPES_DIR
        return sorted(p.name for p in d.iterdir() if (p / F.VIEWS_DIR / F.CAMERAS_JSON).is_file())

    def reference(self, shape_id: str, cache: bool = True) -> Reference:
        if cache and shape_id in self._ref_cache:
            return self._ref_cache[shape_id]
        vdir = self.root / F.SHAPES_DIR / shape_id / F.VIEWS_DIR
        cams = read_json(vdir / F.CAMERAS_JSON)
        stems = [F.view_stem(i) for i in range(len(cams))]
        images = np.stack([load_png(vdir / f"{s}.png") for s in stems])
        if images.ndim == 4:  # tolerate RGB reference images
            images = images[..., :3].mean(-1).round().astype(np.uint8)
        depth_paths = [vdir / f"{s}_depth.npy" for s in stems]
        imported = all(isinstance(c, dict) and c.get("source") == F.SOURCE_LOOKING3D for c in cams)
        no_depth = imported and not all(p.is_file() for p in depth_paths)
        ref = Reference(
            path=vdir,
            images=images,
            depths=None if no_depth else np.stack([load_npy(p) for p in depth_paths]).astype(np.float32),
            points=np.stack([load_npy(vdir / f"{s}_points.npy") for s in stems]).astype(np.float32),
            K=np.array([c["K"] for c in cams], dtype=np.float64),
            world_to_camera=np.array([c["world_to_camera"] for c in cams], dtype=np.float64),
        )
        if cache:
            self._ref_cache[shape_id] = ref
        return ref

    def scene(self, scene_id: str) -> dict:
        return read_json(self.root / F.SCENES_DIR / scene_id / F.SCENE_JSON)
