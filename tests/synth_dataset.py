"""A small synthetic dataset in format v1 for the stats / preview / verify tests.

A front view of a flat "chair" (seat, back, two legs) drawn with Pillow: the part index
mask, masks and bbox of each anomaly are consistent by construction (mask_old = the part's
visible pixels before, mask_new = after; the bbox covers both).

Composition (shape: images), checked exactly by the stats tests:
  normal   A 3, B 2, C 1, D 2         position A 2, B 1      rotation C 1
  broken   A 1, D 3                   swapped  B 2           missing  D 1, A 1
Splits: train A, B; val C; test D. Reference views: A 4, B 4, C 3, D 5. One scene (test).
"""

from __future__ import annotations

import numpy as np
import trimesh
from PIL import Image, ImageDraw

from datagen.dataset.writer import DatasetWriter, bbox_of
from datagen.shapes import Part, Shape
from datagen.spec import Camera

PARTS = ("seat", "back", "leg_left", "leg_right")
PART_RGB = {"seat": (170, 110, 60), "back": (90, 120, 170), "leg_left": (60, 140, 80), "leg_right": (150, 60, 130)}
SPLIT_OF = {"A": "train", "B": "train", "C": "val", "D": "test"}
REF_VIEWS = {"A": 4, "B": 4, "C": 3, "D": 5}
SAMPLES = {
    None: {"A": 3, "B": 2, "C": 1, "D": 2},
    "position": {"A": 2, "B": 1},
    "rotation": {"C": 1},
    "broken": {"A": 1, "D": 3},
    "swapped": {"B": 2},
    "missing": {"D": 1, "A": 1},
}
TARGET = {"position": "back", "rotation": "leg_left", "broken": "seat", "swapped": "back", "missing": "leg_right"}


def layout(size: int, anomaly: str | None = None) -> dict:
    """part name -> polygon [(x, y), ...] in pixels for a query of ``size`` x ``size``."""
    s = size / 48.0
    box = lambda x1, y1, x2, y2: [(x1 * s, y1 * s), (x2 * s, y1 * s), (x2 * s, y2 * s), (x1 * s, y2 * s)]
    lay = {
        "back": box(14, 6, 34, 24),
        "seat": box(10, 24, 38, 30),
        "leg_left": box(12, 30, 16, 44),
        "leg_right": box(32, 30, 36, 44),
    }
    if anomaly == "position":
        lay["back"] = box(20, 4, 40, 22)
    elif anomaly == "rotation":
        lay["leg_left"] = [(12 * s, 30 * s), (16 * s, 30 * s), (10 * s, 44 * s), (5 * s, 43 * s)]
    elif anomaly == "broken":
        lay["seat"] = [(10 * s, 24 * s), (30 * s, 24 * s), (38 * s, 28 * s), (38 * s, 30 * s), (10 * s, 30 * s)]
    elif anomaly == "swapped":
        lay["back"] = box(18, 2, 30, 24)
    elif anomaly == "missing":
        del lay["leg_right"]
    return lay


def render(size: int, lay: dict) -> np.ndarray:
    """(size, size) uint16 part index mask (1 + index into PARTS, 0 = none)."""
    img = Image.new("I", (size, size), 0)
    draw = ImageDraw.Draw(img)
    for name in ("leg_left", "leg_right", "seat", "back"):  # back drawn last: in front
        if name in lay:
            draw.polygon(lay[name], fill=PARTS.index(name) + 1)
    return np.asarray(img).astype(np.uint16)


def colorize(parts: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """parts (H, W) uint16 -> rgb (H, W, 3) uint8 (white background, noisy part colours), depth (H, W) float32."""
    rgb = np.full(parts.shape + (3,), 235, np.uint8)
    for i, name in enumerate(PARTS):
        m = parts == i + 1
        noise = rng.integers(-12, 13, size=(int(m.sum()), 3))
        rgb[m] = np.clip(np.array(PART_RGB[name]) + noise, 0, 255).astype(np.uint8)
    depth = np.where(parts > 0, 2.4 + 0.02 * parts.astype(np.float32), 0.0).astype(np.float32)
    return rgb, depth


def box_shape(shape_id: str) -> Shape:
    parts = []
    for i, name in enumerate(PARTS):
        b = trimesh.creation.box((0.2, 0.2, 0.2))
        parts.append(Part(name, "chair_" + name.split("_")[0], b.vertices + [0.3 * i, 0, 0], b.faces))
    return Shape(shape_id, "chair", tuple(parts))


def build_dataset(root, size: int = 48, ref_size: int = 32, scenes: bool = True, seed: int = 0) -> DatasetWriter:
    """Write the synthetic dataset into ``root`` (finalized) and return its writer."""
    rng = np.random.default_rng(seed)
    w = DatasetWriter(root, config={"preset": "synthetic-test", "size": size}, seed=seed)
    for sid, n_views in REF_VIEWS.items():
        parts = render(ref_size, layout(ref_size))
        _, depth = colorize(parts, rng)
        gray = np.where(parts > 0, 90 + 30 * parts, 255).astype(np.uint8)
        views = [
            {"image": np.roll(gray, v, axis=1), "depth": np.roll(depth, v, axis=1),
             "camera": Camera.orbit(2.0, 2 * np.pi * v / n_views, 0.35, 355.0 * ref_size / 256, ref_size, ref_size)}
            for v in range(n_views)
        ]
        w.write_reference(box_shape(sid), views)
    before = render(size, layout(size))
    for atype, per_shape in SAMPLES.items():
        for sid, count in per_shape.items():
            for k in range(count):
                after = render(size, layout(size, atype))
                rgb, depth = colorize(after, rng)
                cam = Camera.orbit(2.5, np.pi / 10 * (k + 1), 0.5, 355.0 * size / 256, size, size)
                meta = {"shape_id": sid, "label": int(atype is not None), "anomaly": None, "camera": cam.to_json(),
                        "split": SPLIT_OF[sid], "parts": list(PARTS), "bbox": None}
                mask_new = mask_old = None
                if atype is not None:
                    part = TARGET[atype]
                    idx = PARTS.index(part) + 1
                    if atype == "missing":
                        mask_new = before == idx
                    else:
                        mask_new, mask_old = after == idx, before == idx
                    union = mask_new if mask_old is None else mask_new | mask_old
                    meta["anomaly"] = {"type": atype, "part": part}
                    meta["bbox"] = bbox_of(union)
                w.write_sample(f"{sid}_{atype or 'normal'}_{k}", meta, rgb, depth, after, mask_new, mask_old)
    if scenes:
        views = []
        for v in range(3):
            inst = np.zeros((size, size), np.uint16)
            for j in range(3):
                x = 4 + 14 * j + v
                inst[20:34, x:x + 10] = j + 1
            rgb = np.full((size, size, 3), 200, np.uint8)
            rgb[inst > 0] = (120, 100, 80)
            views.append({"rgb": rgb, "depth": np.where(inst > 0, 3.0, 0.0).astype(np.float32), "instances": inst})
        cams = [Camera.orbit(3.0, 2 * np.pi * v / 3, 0.4, 213.33 * size / 256, size, size).to_json() for v in range(3)]
        objects = [{"id": j + 1, "shape_id": sid, "label": int(j == 1),
                    "anomaly": {"type": "broken", "part": "seat"} if j == 1 else None}
                   for j, sid in enumerate(("A", "B", "D"))]
        boxes = [[bbox_of(v["instances"] == j + 1) for j in range(3)] for v in views]
        w.write_scene("scene_0", {"objects": objects, "cameras": cams, "split": "test", "shape_id": "D",
                                  "boxes2d": boxes}, views)
    w.write_splits({"train": ["A", "B"], "val": ["C"], "test": ["D"]})
    w.finalize()
    return w
