"""Torch dataset over format v1: query + N reference views (+ depth-derived 3D points and view-view
correspondences), label, bbox and anomaly type, with the paper's augmentations.

Worker-friendly: an item opens, reads and closes its files (no handle is held, no cache grows) and
returns numpy arrays; ``collate`` stacks them into tensors. Randomness (augmentation, view choice)
comes from a generator seeded by (seed, epoch, index), so a batch is the same whatever the number
of workers or processes; evaluation (``train=False``) uses no randomness at all.
``QueryItems`` assembles the item from what a subclass reads: ``AnomalyDataset`` from the dataset
folders, ``trainer.packed.PackedDataset`` from the shards of ``datagen pack``.

Item (R = resolution, V = views, g = R / 8 feature cells per side):
  query : (3, R, R) float32, ImageNet-normalized RGB
  refs : (V, 1, R, R) float32, gray normalized to (x/255 - 0.5) / 0.25
  points : (V, g, g, 3) float32 world metres of each reference patch (0 where none), point_valid : (V, g, g) bool
  vv_target : (V, g*g) int64 patch of view (v+1) % V seen by patch p of view v, -1 = none / occluded
  label : int64; bbox : (4,) float32 [x1, y1, x2, y2] in [0, 1] of the query after augmentation;
  has_box : bool; type : str (anomaly type or "normal"); id : str; view_ids : (V,) int64
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from datagen.dataset import format as F
from datagen.dataset.reader import Dataset, Sample, load_npy, load_png
from datagen.errors import InputError
from datagen.io import read_json
from datagen.seeding import rng_for
from datagen.spec import Camera
from trainer.correspondence import grid_points, ring_correspondences

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
GRAY_MEAN, GRAY_STD = 0.5, 0.25
STRIDE = 8  # encoder output stride


def regular_views(total: int, n: int) -> np.ndarray:
    """The first ``n`` of ``total`` regular views spread over the circle: (n,) int64 (all if n >= total)."""
    if n >= total:
        return np.arange(total)
    return np.floor(np.arange(n) * total / n).astype(np.int64)


def _resize(img: np.ndarray, size: int, resample=Image.BILINEAR) -> np.ndarray:
    if img.shape[0] == size and img.shape[1] == size:
        return img
    return np.asarray(Image.fromarray(img).resize((size, size), resample))


def augment_query(rgb: np.ndarray, bbox, rng: np.random.Generator | None, size: int, crop_fraction: float, flip: bool):
    """rgb : (H, W, 3) uint8; bbox : [x1, y1, x2, y2] pixels or None -> ((size, size, 3) uint8,
    (4,) float32 box in [0, 1] of the output, bool box still valid). ``rng=None``: resize only."""
    H, W = rgb.shape[:2]
    box = None if bbox is None else np.array(bbox, dtype=np.float64)
    if rng is not None and flip and rng.random() < 0.5:
        rgb = rgb[:, ::-1]
        if box is not None:
            box = np.array([W - box[2], box[1], W - box[0], box[3]])
    x0 = y0 = 0
    cw, ch = W, H
    if rng is not None and crop_fraction < 1.0:
        cw, ch = max(1, int(round(W * crop_fraction))), max(1, int(round(H * crop_fraction)))
        x0 = int(rng.integers(0, W - cw + 1))
        y0 = int(rng.integers(0, H - ch + 1))
        rgb = rgb[y0 : y0 + ch, x0 : x0 + cw]
    out = _resize(np.ascontiguousarray(rgb), size)
    if box is None:
        return out, np.zeros(4, np.float32), False
    box = box - [x0, y0, x0, y0]
    box = np.clip(box, 0, [cw, ch, cw, ch]) / [cw, ch, cw, ch]
    ok = bool(box[2] > box[0] and box[3] > box[1])
    return out, box.astype(np.float32), ok


def coarse_view(points: np.ndarray, camera: Camera, grid: int) -> tuple[np.ndarray, np.ndarray, Camera]:
    """A reference view without depth (imported from the Looking 3D release) at the patch grid.

    points : (h, w, 3) float world points of the view's patches (NaN = none); camera : its Camera.
    Returns ((grid, grid, 3) float32 points, nearest-resampled; (grid, grid) float32 depth of those
    points in a grid x grid version of the camera (each point z-buffered into the cell it projects
    to, 0 = none); that grid x grid Camera), for ``ring_correspondences`` at patch resolution.
    """
    h, w = points.shape[:2]
    pts = points[(np.arange(grid) * h) // grid][:, (np.arange(grid) * w) // grid].astype(np.float32)
    small = Camera(np.diag([grid / camera.width, grid / camera.height, 1.0]) @ camera.K, camera.world_to_camera, grid, grid)
    flat = pts.reshape(-1, 3).astype(np.float64)
    ok = np.isfinite(flat).all(1)
    uv, z = small.project(np.where(ok[:, None], flat, 0.0))
    ok &= (z > 1e-6) & np.isfinite(uv).all(1)
    col = np.floor(np.where(ok, uv[:, 0], -1)).astype(np.int64)
    row = np.floor(np.where(ok, uv[:, 1], -1)).astype(np.int64)
    ok &= (col >= 0) & (col < grid) & (row >= 0) & (row < grid)
    depth = np.full(grid * grid, np.inf)
    np.minimum.at(depth, row[ok] * grid + col[ok], z[ok])
    depth[~np.isfinite(depth)] = 0
    return pts, depth.reshape(grid, grid).astype(np.float32), small


class QueryItems(torch.utils.data.Dataset):
    """The items of one split, whatever stores them: ONE assembly (augmentation, view choice, 3D
    points, correspondences) for the dataset folders (``AnomalyDataset``) and the packed shards
    (``trainer.packed.PackedDataset``), so both give the same item for the same (seed, epoch, index).

    A subclass sets ``rows`` (index rows: id, label, anomaly_type) and reads the stored data:
      _query(i) -> (rgb (H, W, 3) uint8, label int, bbox [x1, y1, x2, y2] pixels or None, shape_id str)
      _cameras(shape_id) -> the reference's cameras.json entries (list of dicts)
      _view(shape_id, v, camera_json) -> (image (H, W[, C]) uint8, depth (H, W) float32 metres or None,
        points (h, w, 3) float world patch points or None: a view without depth, see ``coarse_view``)
      _grid_points (optional): the view's patch points from its depth, stored instead of computed
    """

    rows: list[dict]

    def __init__(self, views: int, resolution: int, train: bool, seed: int, crop_fraction: float, flip: bool, rel_tol: float):
        if resolution % 32:
            raise ValueError(f"resolution must be a multiple of 32, got {resolution}")
        self.views, self.resolution, self.train, self.seed = int(views), int(resolution), bool(train), int(seed)
        self.crop_fraction, self.flip, self.rel_tol = float(crop_fraction), bool(flip), float(rel_tol)
        self.epoch = 0

    def _query(self, i: int):
        raise NotImplementedError

    def _cameras(self, shape_id: str) -> list[dict]:
        raise NotImplementedError

    def _view(self, shape_id: str, v: int, camera_json: dict):
        raise NotImplementedError

    def _grid_points(self, shape_id: str, v: int, depth: np.ndarray, camera: Camera, grid: int) -> np.ndarray:
        """``grid_points(depth, camera, grid)`` of view v; a subclass may return the same points stored."""
        return grid_points(depth, camera, grid)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def labels(self) -> np.ndarray:
        return np.array([int(r["label"]) for r in self.rows])

    def _views(self, shape_id: str, rng: np.random.Generator | None):
        cams_json = self._cameras(shape_id)
        total = len(cams_json)
        if rng is None:
            ids = regular_views(total, self.views)
        else:
            ids = np.sort(rng.choice(total, size=min(self.views, total), replace=False))
        g = self.resolution // STRIDE
        imgs, depths, cams, points = [], [], [], []
        for v in ids:
            img, depth, coarse = self._view(shape_id, int(v), cams_json[int(v)])
            if img.ndim == 3:
                img = img[..., :3].mean(-1).round().astype(np.uint8)
            cam = Camera.from_json(cams_json[int(v)])
            imgs.append(_resize(img, self.resolution))
            if depth is None:
                pts, depth, cam = coarse_view(coarse, cam, g)
            else:
                pts = self._grid_points(shape_id, int(v), depth, cam, g)
            depths.append(depth)
            cams.append(cam)
            points.append(pts)
        pts = np.stack(points)  # (V, g, g, 3)
        shapes = {d.shape for d in depths}
        if len(shapes) > 1:  # mixed depth / coarse views: compare all at the grid size
            coarse = [coarse_view(p, c, g) for p, c in zip(points, cams)]
            cams, depths = [c for _, _, c in coarse], [d for _, d, _ in coarse]
        vv = ring_correspondences(pts, cams, np.stack(depths), self.rel_tol)
        valid = np.isfinite(pts).all(-1)
        refs = ((np.stack(imgs).astype(np.float32) / 255 - GRAY_MEAN) / GRAY_STD)[:, None]
        return refs, np.nan_to_num(pts, nan=0.0).astype(np.float32), valid, vv, ids.astype(np.int64)

    def __getitem__(self, i: int) -> dict:
        row = self.rows[i]
        rgb, label, bbox, shape_id = self._query(i)
        rng = rng_for(self.seed, self.epoch, row["id"]) if self.train else None
        label = int(label)
        rgb, box, ok = augment_query(rgb, bbox if label else None, rng, self.resolution, self.crop_fraction, self.flip)
        item = {
            "query": ((rgb.astype(np.float32) / 255 - MEAN) / STD).transpose(2, 0, 1).copy(),
            "label": np.int64(label),
            "bbox": box,
            "has_box": np.bool_(ok and label == 1),
            "type": (row.get("anomaly_type") or "normal") if label else "normal",
            "id": row["id"],
        }
        if self.views > 0:
            refs, pts, valid, vv, ids = self._views(shape_id, rng)
            item.update(refs=refs, points=pts, point_valid=valid, vv_target=vv, view_ids=ids)
        return item


class AnomalyDataset(QueryItems):
    """Queries of one split of a format-v1 dataset.

    views : reference views per item (0 = none, for the query-only baseline). Training: a random
    subset (sorted); evaluation: the first ``views`` regular ones (all if views >= available).
    resolution : R, a multiple of 32. train : augment (flip, random crop of ``crop_fraction``
    resized to R) and sample views randomly. seed : base seed.
    """

    def __init__(self, root: str | os.PathLike, split: str | None, views: int = 10, resolution: int = 256,
                 train: bool = True, seed: int = 0, crop_fraction: float = 224 / 256, flip: bool = True, rel_tol: float = 0.02):
        super().__init__(views, resolution, train, seed, crop_fraction, flip, rel_tol)
        self.root = Path(root)
        ds = Dataset(self.root)
        self.rows = ds.rows(split)
        if not self.rows:
            raise InputError(self.root / F.INDEX_JSONL, f"no query samples in split {split!r}")

    def _query(self, i: int):
        d = self.root / F.SAMPLES_DIR / self.rows[i]["id"]
        s = Sample(d, read_json(d / F.META_JSON))
        return s.rgb, s.label, s.bbox, s.meta["shape_id"]

    def _cameras(self, shape_id: str) -> list[dict]:
        return read_json(self.root / F.SHAPES_DIR / shape_id / F.VIEWS_DIR / F.CAMERAS_JSON)

    def _view(self, shape_id: str, v: int, camera_json: dict):
        vdir = self.root / F.SHAPES_DIR / shape_id / F.VIEWS_DIR
        stem = F.view_stem(v)
        img = load_png(vdir / f"{stem}.png")
        if camera_json.get("source") == F.SOURCE_LOOKING3D and not (vdir / f"{stem}_depth.npy").is_file():
            return img, None, load_npy(vdir / f"{stem}_points.npy")
        return img, load_npy(vdir / f"{stem}_depth.npy").astype(np.float32), None


def collate(items: list[dict]) -> dict:
    """Stack a list of items into a batch: arrays -> tensors with a leading batch dim; strings -> lists."""
    out = {}
    for k in items[0]:
        vals = [it[k] for it in items]
        if isinstance(vals[0], str):
            out[k] = vals
        else:
            out[k] = torch.from_numpy(np.stack([np.asarray(v) for v in vals]))
    return out
