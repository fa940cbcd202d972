"""Torch dataset over a pack (``datagen pack``, ``datagen.dataset.pack``): the same items as
``trainer.data.AnomalyDataset`` (the same keys, shapes, dtypes, augmentation and view choice per
(seed, epoch, index): both are ``trainer.data.QueryItems``), read from a split's shard files
instead of the per-sample folders.

Opening reads pack.json and the shards' footers (record descriptors, cameras, labels); an item
reads its arrays through each shard's memory map (a DataLoader worker maps its own) and checks
their CRC-32. ``encode=raw`` packs decode nothing; png / webp ones decode the query and the chosen
reference views. Training at R = the packed size reads each view's patch points as stored (the
pack computed them with the trainer's ``grid_points``) instead of back-projecting its depth.
A damaged shard raises ``InputError`` naming the file.
"""

from __future__ import annotations

import os
from pathlib import Path

from datagen.dataset import format as F
from datagen.dataset.pack import PACK_JSON, is_pack, read_pack_info
from datagen.dataset.shards import ShardReader
from datagen.errors import InputError
from trainer.data import QueryItems

__all__ = ["PackedDataset", "is_pack"]


class PackedDataset(QueryItems):
    """Queries of one split of a pack; arguments as ``AnomalyDataset``. split None: every packed
    split, in pack.json's order."""

    def __init__(self, root: str | os.PathLike, split: str | None, views: int = 10, resolution: int = 256,
                 train: bool = True, seed: int = 0, crop_fraction: float = 224 / 256, flip: bool = True, rel_tol: float = 0.02):
        super().__init__(views, resolution, train, seed, crop_fraction, flip, rel_tol)
        self.root = Path(root)
        self.info = read_pack_info(self.root)
        packed = self.info.get("splits", {})
        names = list(packed) if split is None else [split]
        if split is not None and split not in packed:
            raise InputError(self.root / PACK_JSON, f"no query samples in split {split!r} (packed: {', '.join(packed) or 'none'})")
        self.shards: list[ShardReader] = []
        self.rows, self._queries, self._shapes = [], [], {}
        for name in names:
            for s in packed[name]["shards"]:
                path = self.root / s["file"]
                if path.is_file() and path.stat().st_size != s["bytes"]:
                    raise InputError(path, f"corrupted shard: {path.stat().st_size} bytes, pack.json says {s['bytes']} "
                                           "(truncated or rewritten: run datagen pack again)")
                reader = ShardReader(path)
                k = len(self.shards)
                self.shards.append(reader)
                for rec in reader.records:
                    if rec["kind"] == "shape":
                        self._shapes[rec["key"]] = (k, rec)
                    elif rec["kind"] == "query":
                        self._queries.append((k, rec))
                        self.rows.append({"id": rec["key"], "label": rec["label"], "anomaly_type": rec["anomaly_type"],
                                          "shape_id": rec["shape_id"], "split": name})
        if not self.rows:
            raise InputError(self.root / PACK_JSON, f"no query samples in split {split!r}")

    def _query(self, i: int):
        k, rec = self._queries[i]
        return self.shards[k].array(rec, "rgb"), rec["sample_label"], rec["bbox"], rec["shape_id"]

    def _shape(self, shape_id: str):
        if shape_id not in self._shapes:
            raise InputError(self.root, f"reference {shape_id!r} is not in the pack")
        return self._shapes[shape_id]

    def _cameras(self, shape_id: str) -> list[dict]:
        return self._shape(shape_id)[1]["cameras"]

    def _grid_points(self, shape_id: str, v: int, depth, camera, grid: int):
        k, rec = self._shape(shape_id)
        if f"grid{v}" in rec["arrays"] and depth.shape == (F.PATCH_STRIDE * grid,) * 2:  # stored for R = H
            return self.shards[k].array(rec, f"grid{v}")
        return super()._grid_points(shape_id, v, depth, camera, grid)

    def _view(self, shape_id: str, v: int, camera_json: dict):
        k, rec = self._shape(shape_id)
        shard = self.shards[k]
        img = shard.array(rec, f"view{v}")
        if f"depth{v}" in rec["arrays"]:
            return img, shard.array(rec, f"depth{v}"), None
        return img, None, shard.array(rec, f"points{v}")
