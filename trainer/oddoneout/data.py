"""Torch dataset over the Odd-One-Out scenes of a format-v1 dataset.

Reads (see datagen/dataset/format.py): ``index.jsonl`` (rows of kind "scene" with "split" and
"path"), and per scene ``rgb/NNNN.png``, ``depth/NNNN.npy``,
``instances/NNNN.png`` (uint16, 0 = floor/background, i = objects[i-1]) and ``scene.json``
(objects with label, anomaly, bbox3d; cameras with K, OpenCV world_to_camera, width, height).

Item (V = num_views, R = resolution; the first V views are the model's inputs, the last V the
held-out views that supervise the rendering):
  rgb : (2V, 3, R, R) float32 in [0, 1]          silhouette : (2V, R, R) float32 in [0, 1] (objects)
  depth : (2V, R, R) float32 planar metres, 0 = none
  K : (2V, 3, 3) float32 pixels of the resized image    world_to_camera : (2V, 4, 4) float32 OpenCV
  boxes : (M, 7) float32 [cx, cy, cz, dx, dy, dz, yaw] world metres / radians (see instances.py)
  labels : (M,) int64 0/1; object_ids : (M,) int64 (the values in instances/); types : [str] * M
  ("normal" or the anomaly type); id : str; split : str (the index row's); view_ids : (2V,) int64
Views: training draws 2V distinct views with a ``numpy.random.Generator`` seeded by
(seed, epoch, scene id); evaluation takes V inputs regularly spread over the cameras and the V
views half-way between them (deterministic). Training augmentation (``augment``) moves the whole
world by one similarity transform applied consistently to cameras, depth and boxes: a yaw about Z,
an x/y shift and a scale about the origin (the release's ``scale_range: auto``, bounded so that the
scene stays inside the grid).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from datagen.dataset.format import split_members
from datagen.errors import InputError
from datagen.io import read_json
from datagen.seeding import rng_for
from trainer.oddoneout.instances import box_from_bbox3d


def fixed_views(total: int, n: int) -> np.ndarray:
    """n input views spread over ``total`` cameras, then n supervision views half-way between them: (2n,) int64."""
    if total < 2 * n:
        raise ValueError(f"{total} views cannot give {n} input and {n} distinct supervision views")
    inp = np.floor(np.arange(n) * total / n).astype(np.int64)
    sup = np.floor((np.arange(n) + 0.5) * total / n).astype(np.int64)
    return np.concatenate([inp, sup])


def _load_image(path: Path, rgb: bool) -> np.ndarray:
    """rgb: (H, W, 3) uint8 (alpha dropped); else a single-channel map as stored (uint8 or uint16)."""
    try:
        with Image.open(path) as img:
            if rgb:
                return np.asarray(img.convert("RGB"))
            if img.mode in ("I;16", "I;16B", "I;16L", "I"):
                return np.asarray(img).astype(np.uint16)
            return np.asarray(img if img.mode in ("L", "P") else img.convert("L"))
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except OSError as e:
        raise InputError(path, f"cannot read image: {e}") from None


def _resize(a: np.ndarray, hw: tuple[int, int], resample) -> np.ndarray:
    if a.shape[:2] == hw:
        return a
    return np.asarray(Image.fromarray(a).resize((hw[1], hw[0]), resample))


def similarity(yaw: float, shift_xy, scale: float) -> np.ndarray:
    """(4, 4) world transform X' = scale * Rz(yaw) X + (sx, sy, 0)."""
    c, s = math.cos(yaw), math.sin(yaw)
    A = np.eye(4)
    A[:3, :3] = scale * np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    A[:2, 3] = shift_xy
    return A


def transform_scene(A: np.ndarray, w2c: np.ndarray, depth: np.ndarray, boxes: np.ndarray):
    """Apply a similarity A (scale * rotation about Z + translation) to the world.

    w2c : (n, 4, 4) OpenCV; depth : (n, H, W) metres; boxes : (M, 7). Returns the new rigid w2c
    (camera coordinates scale with the world, so projections are unchanged), depth * scale, boxes.
    """
    s = float(np.cbrt(np.linalg.det(A[:3, :3])))
    Rz, t = A[:3, :3] / s, A[:3, 3]
    out = np.tile(np.eye(4), (len(w2c), 1, 1))
    out[:, :3, :3] = w2c[:, :3, :3] @ Rz.T
    out[:, :3, 3] = s * w2c[:, :3, 3] - out[:, :3, :3] @ t
    b = boxes.copy()
    if len(b):
        b[:, :3] = boxes[:, :3] @ A[:3, :3].T + t
        b[:, 3:6] *= s
        yaw = math.atan2(Rz[1, 0], Rz[0, 0])
        b[:, 6] = (boxes[:, 6] + yaw + math.pi) % (2 * math.pi) - math.pi
    return out, depth * s, b


class SceneDataset(torch.utils.data.Dataset):
    """Scenes of one split.

    num_views : V (input views; as many held-out views). resolution : R (multiple of 32) or (H, W).
    train : random views (seeded) and augmentation; else deterministic. augment : on/off in training.
    yaw_deg : yaw drawn in +/- this; shift : x/y shift in +/- this (metres); scale : "auto" (release:
    uniform in [1, s_max], s_max the largest scale keeping the objects inside ``bounds``), a
    (lo, hi) range or None. bounds : (half-width in x and y, top z) of the model's grid, metres.
    """

    def __init__(self, root: str | os.PathLike, split: str, num_views: int = 5, resolution=256, train: bool = True,
                 seed: int = 0, augment: bool = True, yaw_deg: float = 150.0, shift: float = 0.2, scale="auto",
                 bounds: tuple[float, float] = (1.92, 0.32)):
        self.root = Path(root)
        self.split = split
        self.ids, self.paths, self.splits = self._scenes(split)
        self.num_views = int(num_views)
        hw = (resolution, resolution) if isinstance(resolution, int) else tuple(int(r) for r in resolution)
        if hw[0] % 32 or hw[1] % 32:
            raise ValueError(f"resolution must be a multiple of 32, got {resolution}")
        self.hw = hw
        self.train, self.seed, self.augment = bool(train), int(seed), bool(augment)
        self.yaw_deg, self.shift, self.scale, self.bounds = float(yaw_deg), float(shift), scale, tuple(bounds)
        self.epoch = 0

    def _scenes(self, split: str) -> tuple[list[str], list[Path], list[str]]:
        """(ids, folders, split names) of the scenes whose index row carries ``split`` (splits.json lists
        shapes; a scene takes its shape's split); ``test`` also takes seen-test and unseen-test (ToysAD)."""
        ip = self.root / "index.jsonl"
        if not ip.exists():
            raise InputError(ip, "index not found: the dataset was not finalized")
        scenes = [r for r in (json.loads(x) for x in ip.read_text().splitlines() if x.strip()) if r.get("kind") == "scene"]
        rows = [r for r in scenes if r.get("split") in split_members(split)]
        if not rows:
            have = sorted({str(r.get("split")) for r in scenes})
            raise InputError(ip, f"no scenes in split {split!r}" + (f" (scenes are in: {', '.join(have)})" if have else ""))
        return ([r["id"] for r in rows], [self.root / (r.get("path") or f"scenes/{r['id']}") for r in rows],
                [str(r["split"]) for r in rows])

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.ids)

    def _scale_bound(self, boxes: np.ndarray) -> float:
        if not len(boxes):
            return 1.0
        r = np.hypot(np.abs(boxes[:, 0]) + boxes[:, 3:5].max(1) / 2, np.abs(boxes[:, 1]) + boxes[:, 3:5].max(1) / 2).max()
        top = (boxes[:, 2] + boxes[:, 5] / 2).max()
        half, ztop = self.bounds
        return max(1.0, min((half - self.shift) / max(r, 1e-6), ztop / max(top, 1e-6)))

    def __getitem__(self, i: int) -> dict:
        sid, d = self.ids[i], self.paths[i]
        scene = read_json(d / "scene.json")
        cams = scene["cameras"]
        V = self.num_views
        if len(cams) < 2 * V:
            raise InputError(d / "scene.json", f"{len(cams)} cameras: need at least {2 * V} (num_views={V})")
        rng = rng_for(self.seed, self.epoch, sid) if self.train else None
        views = rng.choice(len(cams), 2 * V, replace=False) if rng is not None else fixed_views(len(cams), V)
        H, W = self.hw
        rgbs, sils, depths, Ks, w2cs = [], [], [], [], []
        for v in views:
            stem = f"{int(v):04d}"
            rgb = _load_image(d / "rgb" / f"{stem}.png", rgb=True)
            inst = _load_image(d / "instances" / f"{stem}.png", rgb=False)
            try:
                depth = np.load(d / "depth" / f"{stem}.npy", allow_pickle=False).astype(np.float32)
            except (OSError, ValueError) as e:
                raise InputError(d / "depth" / f"{stem}.npy", f"cannot read depth: {e}") from None
            h0, w0 = rgb.shape[:2]
            rgbs.append(_resize(rgb, (H, W), Image.BICUBIC))
            sils.append(_resize(((inst > 0) * 255).astype(np.uint8), (H, W), Image.BOX))
            depths.append(_resize(depth, (H, W), Image.NEAREST))
            K = np.array(cams[int(v)]["K"], np.float64)
            K[0] *= W / w0
            K[1] *= H / h0
            Ks.append(K)
            w2cs.append(np.array(cams[int(v)]["world_to_camera"], np.float64))
        objs = scene.get("objects", [])
        boxes = np.array([box_from_bbox3d(o["bbox3d"]["center"], o["bbox3d"]["size"], o["bbox3d"]["rotation"]) for o in objs],
                         np.float64).reshape(-1, 7)
        w2c, depth = np.stack(w2cs), np.stack(depths)
        if rng is not None and self.augment:
            if self.scale == "auto":
                s = rng.uniform(1.0, self._scale_bound(boxes))
            elif self.scale:
                s = rng.uniform(*self.scale)
            else:
                s = 1.0
            A = similarity(math.radians(rng.uniform(-self.yaw_deg, self.yaw_deg)), rng.uniform(-self.shift, self.shift, 2), s)
            w2c, depth, boxes = transform_scene(A, w2c, depth, boxes)
        return {
            "rgb": (np.stack(rgbs).astype(np.float32) / 255).transpose(0, 3, 1, 2).copy(),
            "silhouette": np.stack(sils).astype(np.float32) / 255,
            "depth": depth.astype(np.float32),
            "K": np.stack(Ks).astype(np.float32),
            "world_to_camera": w2c.astype(np.float32),
            "boxes": boxes.astype(np.float32),
            "labels": np.array([int(o.get("label", 0)) for o in objs], np.int64),
            "object_ids": np.array([int(o["id"]) for o in objs], np.int64),
            "types": [(o.get("anomaly") or {}).get("type", "anomaly") if o.get("label") else "normal" for o in objs],
            "id": sid,
            "split": self.splits[i],
            "view_ids": np.asarray(views, np.int64),
        }


def collate(items: list[dict]) -> dict:
    """Batch scenes; per-object fields are padded to the largest M (at least 1).

    Adds box_mask : (B, M) bool. boxes : (B, M, 7) (padding zeros); labels : (B, M) int64 (padding 0);
    object_ids : (B, M) int64 (padding -1); types : list of lists; id, split : lists of str.
    """
    out = {k: torch.from_numpy(np.stack([it[k] for it in items]))
           for k in ("rgb", "silhouette", "depth", "K", "world_to_camera", "view_ids")}
    B, M = len(items), max([1] + [len(it["labels"]) for it in items])
    boxes = torch.zeros(B, M, 7)
    labels = torch.zeros(B, M, dtype=torch.int64)
    oids = torch.full((B, M), -1, dtype=torch.int64)
    mask = torch.zeros(B, M, dtype=torch.bool)
    for b, it in enumerate(items):
        m = len(it["labels"])
        boxes[b, :m] = torch.from_numpy(it["boxes"])
        labels[b, :m] = torch.from_numpy(it["labels"])
        oids[b, :m] = torch.from_numpy(it["object_ids"])
        mask[b, :m] = True
    out.update(boxes=boxes, labels=labels, object_ids=oids, box_mask=mask, types=[it["types"] for it in items],
               id=[it["id"] for it in items], split=[it["split"] for it in items])
    return out
