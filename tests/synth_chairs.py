"""A tiny format-v1 dataset without Blender: box chairs rendered by a numpy z-buffer rasterizer.

Each shape is a chair of boxes (seat, back, four legs), normalized like every shape (Z up, bbox
centre at the origin, diagonal 1). Reference views: grayscale Lambert shading of the normal shape,
``ref_views`` regular azimuths at elevation 20 degrees, distance 2, fx = 355 * R / 256, with depth
and cameras. Queries: colored parts on white, a camera at radius 2.5, azimuth a multiple of pi/10,
elevation in [pi/9, 2 pi/9]; half are anomalous: a part moved ("position") or removed ("missing"),
with mask_new / mask_old / bbox. A test fixture (the pipeline's own chairs come from
``datagen.shapes.procedural`` and Blender): the trainer's tests and benchmarks/pack_throughput.py
use it where a dataset in seconds matters more than realism:

    python tests/synth_chairs.py /tmp/synth --shapes 12 --resolution 64
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

import numpy as np

from datagen.dataset.writer import DatasetWriter, bbox_of
from datagen.shapes import Part, Shape, normalize
from datagen.spec import Camera

LIGHT = np.array([0.4, -0.5, 0.77]) / np.linalg.norm([0.4, -0.5, 0.77])
PALETTE = np.array(
    [[166, 110, 60], [120, 80, 50], [200, 170, 120], [60, 60, 70], [150, 40, 40], [40, 90, 140], [90, 130, 70], [220, 210, 190]],
    dtype=np.float64,
)

_BOX_FACES = np.array(
    [[0, 2, 1], [0, 3, 2], [4, 5, 6], [4, 6, 7], [0, 1, 5], [0, 5, 4], [2, 3, 7], [2, 7, 6], [1, 2, 6], [1, 6, 5], [0, 4, 7], [0, 7, 3]],
    dtype=np.int64,
)


def box_mesh(lo, hi) -> tuple[np.ndarray, np.ndarray]:
    """Axis-aligned box from corner ``lo`` to ``hi`` (3,) metres -> vertices (8, 3) float64, faces (12, 3) int64."""
    (x0, y0, z0), (x1, y1, z1) = lo, hi
    v = np.array([[x0, y0, z0], [x1, y0, z0], [x1, y1, z0], [x0, y1, z0], [x0, y0, z1], [x1, y0, z1], [x1, y1, z1], [x0, y1, z1]], float)
    return v, _BOX_FACES.copy()


def random_chair(shape_id: str, rng: np.random.Generator) -> Shape:
    """A normalized chair of six box parts: seat, back, leg_0..leg_3."""
    w, d = rng.uniform(0.4, 0.6, 2)
    hs = rng.uniform(0.4, 0.5)
    t = rng.uniform(0.04, 0.08)
    lt = rng.uniform(0.04, 0.07)
    hb = rng.uniform(0.35, 0.6)
    parts = [Part("seat", "seat", *box_mesh((-w / 2, -d / 2, hs), (w / 2, d / 2, hs + t)))]
    parts.append(Part("back", "chair_back", *box_mesh((-w / 2, d / 2 - t, hs + t), (w / 2, d / 2, hs + t + hb))))
    for i, (sx, sy) in enumerate([(-1, -1), (1, -1), (1, 1), (-1, 1)]):
        cx, cy = sx * (w / 2 - lt / 2), sy * (d / 2 - lt / 2)
        parts.append(Part(f"leg_{i}", "leg", *box_mesh((cx - lt / 2, cy - lt / 2, 0), (cx + lt / 2, cy + lt / 2, hs))))
    return normalize(Shape(shape_id, "chair", tuple(parts)), up="z")


def rasterize(meshes: list[tuple[np.ndarray, np.ndarray]], camera: Camera) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Z-buffer rasterization at pixel centres.

    meshes : [(vertices (n, 3) world metres, faces (k, 3) int)]; camera : Camera (OpenCV).
    Returns depth (H, W) float32 planar z (0 = background), index (H, W) uint16 (1 + mesh index,
    0 = background), shade (H, W) float32 in [0, 1] (two-sided Lambert + ambient; 1 on background).
    """
    H, W = camera.height, camera.width
    depth = np.full((H, W), np.inf)
    index = np.zeros((H, W), np.uint16)
    shade = np.ones((H, W), np.float64)
    Rw, tw = camera.world_to_camera[:3, :3], camera.world_to_camera[:3, 3]
    for mi, (verts, faces) in enumerate(meshes):
        cam = verts @ Rw.T + tw
        uv = cam @ camera.K.T
        for f in faces:
            z = cam[f, 2]
            if (z <= 1e-3).any():
                continue
            p = uv[f, :2] / uv[f, 2:3]  # (3, 2) pixels
            area = (p[1, 0] - p[0, 0]) * (p[2, 1] - p[0, 1]) - (p[2, 0] - p[0, 0]) * (p[1, 1] - p[0, 1])
            if abs(area) < 1e-12:
                continue
            x0, x1 = max(int(np.floor(p[:, 0].min() - 0.5)), 0), min(int(np.ceil(p[:, 0].max() - 0.5)), W - 1)
            y0, y1 = max(int(np.floor(p[:, 1].min() - 0.5)), 0), min(int(np.ceil(p[:, 1].max() - 0.5)), H - 1)
            if x0 > x1 or y0 > y1:
                continue
            xs, ys = np.meshgrid(np.arange(x0, x1 + 1) + 0.5, np.arange(y0, y1 + 1) + 0.5)
            b0 = ((p[1, 0] - xs) * (p[2, 1] - ys) - (p[2, 0] - xs) * (p[1, 1] - ys)) / area
            b1 = ((p[2, 0] - xs) * (p[0, 1] - ys) - (p[0, 0] - xs) * (p[2, 1] - ys)) / area
            b2 = 1 - b0 - b1
            inside = (b0 >= -1e-9) & (b1 >= -1e-9) & (b2 >= -1e-9)
            if not inside.any():
                continue
            zz = 1.0 / (b0 / z[0] + b1 / z[1] + b2 / z[2])  # perspective-correct planar depth
            sub = depth[y0 : y1 + 1, x0 : x1 + 1]
            win = inside & (zz < sub)
            if not win.any():
                continue
            n = np.cross(verts[f[1]] - verts[f[0]], verts[f[2]] - verts[f[0]])
            n /= np.linalg.norm(n) + 1e-12
            sub[win] = zz[win]
            index[y0 : y1 + 1, x0 : x1 + 1][win] = mi + 1
            shade[y0 : y1 + 1, x0 : x1 + 1][win] = 0.25 + 0.7 * abs(float(n @ LIGHT))
    depth[~np.isfinite(depth)] = 0
    return depth.astype(np.float32), index, shade.astype(np.float32)


def _render_query(shape: Shape, camera: Camera, colors: np.ndarray):
    depth, index, shade = rasterize([(p.vertices, p.faces) for p in shape.parts], camera)
    rgb = np.full(depth.shape + (3,), 255.0)
    fg = index > 0
    rgb[fg] = colors[index[fg] - 1] * shade[fg, None]
    return np.clip(rgb.round(), 0, 255).astype(np.uint8), depth, index


def _corrupt(shape: Shape, kind: str, part: str, rng: np.random.Generator) -> tuple[Shape, dict]:
    if kind == "missing":
        return shape.without_part(part), {"type": "missing", "part": part}
    ang = rng.uniform(0, 2 * math.pi)
    dist = rng.uniform(0.12, 0.22)
    off = np.array([dist * math.cos(ang), dist * math.sin(ang), rng.uniform(-0.05, 0.1)])
    m = np.eye(4)
    m[:3, 3] = off
    new = shape.replace_part(part, shape.part(part).transformed(m))
    return new, {"type": "position", "part": part, "offset": off.round(4).tolist()}


def make_synthetic(
    root: str | os.PathLike,
    rng: np.random.Generator,
    shapes: int = 8,
    queries_per_shape: int = 4,
    resolution: int = 64,
    ref_views: int = 8,
    splits: tuple[float, float, float] = (1.0, 0.0, 0.0),
) -> dict:
    """Write a tiny format-v1 dataset to ``root``; returns the counts of ``DatasetWriter.finalize``.

    Even query numbers of a shape are normal, odd ones anomalous (position / missing alternating).
    splits : fractions of shapes in train / val / test (by shape, disjoint).
    """
    R = int(resolution)
    fx = 355.0 * R / 256
    config = {"generator": "tests/synth_chairs.py", "shapes": shapes, "queries_per_shape": queries_per_shape,
              "resolution": R, "ref_views": ref_views, "splits": list(splits)}
    w = DatasetWriter(root, config=config, seed=0, allow_config_change=True)
    n_train = int(round(splits[0] * shapes))
    n_val = int(round(splits[1] * shapes))
    split_of = ["train"] * n_train + ["val"] * n_val + ["test"] * (shapes - n_train - n_val)
    names = {"train": [], "val": [], "test": []}
    for s in range(shapes):
        sid = f"chair{s:04d}"
        split = split_of[s]
        names[split].append(sid)
        shape = random_chair(sid, rng)
        views = []
        for v in range(ref_views):
            cam = Camera.orbit(2.0, 2 * math.pi * v / ref_views, math.radians(20), fx, R, R)
            depth, index, shade = rasterize([(p.vertices, p.faces) for p in shape.parts], cam)
            views.append({"image": np.clip(shade * 255, 0, 255).round().astype(np.uint8), "depth": depth, "camera": cam})
        w.write_reference(shape, views)
        part_names = [p.name for p in shape.parts]
        for q in range(queries_per_shape):
            colors = PALETTE[rng.integers(0, len(PALETTE), len(shape.parts))]
            label = q % 2
            for _ in range(50):  # camera tries until the anomalous part is visible
                cam = Camera.orbit(2.5, math.pi / 10 * rng.integers(0, 20), rng.uniform(math.pi / 9, 2 * math.pi / 9), fx, R, R)
                if not label:
                    rgb, depth, index = _render_query(shape, cam, colors)
                    mask_new = mask_old = None
                    anomaly, bbox = None, None
                    break
                kind = "missing" if (q // 2) % 2 else "position"
                part = part_names[int(rng.integers(1, len(part_names)))]  # back or a leg
                new, anomaly = _corrupt(shape, kind, part, rng)
                k = shape.part_index(part)
                c = colors if kind == "position" else np.delete(colors, k, axis=0)
                rgb, depth, index = _render_query(new, cam, c)
                _, old_index, _ = rasterize([(p.vertices, p.faces) for p in shape.parts], cam)
                mask_old = old_index == k + 1
                # format v1: for "missing", mask_new marks where the removed part would be seen, no mask_old
                mask_new, mask_old = ((index == k + 1), mask_old) if kind == "position" else (mask_old, None)
                vis = mask_new
                bbox = bbox_of(vis)
                if vis.sum() >= max(4, R * R // 400):
                    break
            meta = {
                "shape_id": sid,
                "label": label,
                "anomaly": anomaly,
                "camera": cam.to_json(),
                "split": split,
                "bbox": bbox,
                "parts": part_names,
                "material": [c.tolist() for c in colors],
            }
            parts_img = index.astype(np.uint16)
            if label and anomaly["type"] == "missing":  # re-map to the full part list
                parts_img = np.where(index >= k + 1, index + 1, index).astype(np.uint16)
                parts_img[index == 0] = 0
            w.write_sample(f"{sid}_q{q:02d}", meta, rgb, depth, parts_img, mask_new=mask_new, mask_old=mask_old)
    w.write_splits(names)
    return w.finalize()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--shapes", type=int, default=8)
    ap.add_argument("--queries", type=int, default=4)
    ap.add_argument("--resolution", type=int, default=64)
    ap.add_argument("--views", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    counts = make_synthetic(Path(a.out), np.random.default_rng(a.seed), a.shapes, a.queries, a.resolution, a.views, (0.6, 0.2, 0.2))
    print(counts)


if __name__ == "__main__":
    main()
