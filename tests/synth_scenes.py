"""Tiny Odd-One-Out scenes without Blender, in the format-v1 scene layout (tests only).

Each scene repeats one shape (a box or cylinder base with a smaller box or cylinder part on top,
one colour per part) 3 to 5 times on a grey floor; ``anomalies`` of the copies are altered: the part
scaled up ("scale"), removed ("missing") or moved sideways ("position"). Cameras look at the scene
from a circle. Rendered with the numpy z-buffer rasterizer of ``synth_chairs`` (Lambert
shading, planar depth, instance ids: 0 = floor / background, i = objects[i-1]).

    make_scenes(root, np.random.default_rng(0), scenes=4)
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from datagen.spec import Camera, look_at
from synth_chairs import box_mesh, rasterize

FLOOR_RGB = np.array([120.0, 120.0, 115.0])
SKY_RGB = np.array([200, 215, 235], np.uint8)
PALETTE = np.array([[200, 60, 50], [50, 110, 200], [230, 190, 60], [60, 160, 90], [150, 80, 170], [220, 130, 40]], float)
ANOMALIES = ("scale", "missing", "position")


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Import into a test module: tiny tensors on shared CPUs run faster and steadier on one
    intra-op thread than on two (the previous count is restored after the module)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def cylinder_mesh(center_xy, radius: float, z0: float, z1: float, n: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Closed cylinder about a vertical axis -> vertices (2n + 2, 3) float64, faces (4n, 3) int64."""
    a = np.arange(n) * 2 * math.pi / n
    ring = np.stack([center_xy[0] + radius * np.cos(a), center_xy[1] + radius * np.sin(a)], 1)
    v = np.concatenate([np.c_[ring, np.full(n, z0)], np.c_[ring, np.full(n, z1)],
                        [[center_xy[0], center_xy[1], z0], [center_xy[0], center_xy[1], z1]]])
    f = []
    for i in range(n):
        j = (i + 1) % n
        f += [[i, j, n + j], [i, n + j, n + i], [2 * n, j, i], [2 * n + 1, n + i, n + j]]
    return v, np.array(f, np.int64)


def _part_mesh(kind: str, c, size):
    """kind box: centre (3,), size (3,); cylinder: centre (3,), size = (2r, 2r, h)."""
    c, size = np.asarray(c, float), np.asarray(size, float)
    if kind == "box":
        return box_mesh(c - size / 2, c + size / 2)
    return cylinder_mesh(c[:2], size[0] / 2, c[2] - size[2] / 2, c[2] + size[2] / 2)


def random_shape(rng: np.random.Generator) -> dict:
    """Object-frame parts (z up, origin at the base's bottom centre): base and top part."""
    kind = "box" if rng.random() < 0.5 else "cylinder"
    if kind == "box":
        base = np.array([rng.uniform(0.14, 0.2), rng.uniform(0.1, 0.14), rng.uniform(0.07, 0.1)])
    else:
        r = rng.uniform(0.05, 0.07)
        base = np.array([2 * r, 2 * r, rng.uniform(0.07, 0.1)])
    pkind = "cylinder" if rng.random() < 0.5 else "box"
    part = np.array([base[0] * rng.uniform(0.3, 0.45), base[1] * rng.uniform(0.35, 0.5), base[2] * rng.uniform(0.5, 0.7)])
    if pkind == "cylinder":
        part[1] = part[0]
    off = base[0] * rng.uniform(-0.2, 0.2)
    colors = PALETTE[rng.choice(len(PALETTE), 2, replace=False)]
    return {"base": (kind, np.array([0, 0, base[2] / 2]), base), "part": (pkind, np.array([off, 0, base[2] + part[2] / 2]), part),
            "colors": colors}


def altered(shape: dict, kind: str, rng: np.random.Generator) -> tuple[dict, dict]:
    """A copy of ``shape`` with its part altered -> (shape, anomaly record)."""
    pk, c, size = shape["part"]
    base_h = shape["base"][2][2]
    if kind == "missing":
        return dict(shape, part=None), {"type": "missing", "part": "part"}
    if kind == "scale":
        f = rng.uniform(1.7, 2.0)
        new = size * np.array([f, f, 1.4])
        return dict(shape, part=(pk, np.array([c[0], c[1], base_h + new[2] / 2]), new)), {"type": "scale", "part": "part", "factor": f}
    d = shape["base"][2][0] * rng.choice([-1, 1]) * rng.uniform(0.3, 0.4)
    return (dict(shape, part=(pk, np.array([c[0] + d, rng.choice([-1, 1]) * shape["base"][2][1] * 0.25, c[2]]), size)),
            {"type": "position", "part": "part", "offset": float(d)})


def object_meshes(shape: dict, pose: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """World meshes [(vertices, faces, rgb colour)] of an object placed by ``pose`` (4, 4) world-from-object."""
    out = []
    for part, col in zip([shape["base"], shape["part"]], shape["colors"]):
        if part is None:
            continue
        v, f = _part_mesh(*part)
        out.append((v @ pose[:3, :3].T + pose[:3, 3], f, col))
    return out


def floor_mesh(half: float = 1.5, tiles: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """The floor z = 0 as a grid of tiles (the rasterizer drops triangles reaching behind a camera)."""
    g = np.linspace(-half, half, tiles + 1)
    x, y = np.meshgrid(g, g, indexing="ij")
    v = np.stack([x.ravel(), y.ravel(), np.zeros(x.size)], 1)
    i, j = np.meshgrid(np.arange(tiles), np.arange(tiles), indexing="ij")
    a = (i * (tiles + 1) + j).ravel()
    f = np.concatenate([np.stack([a, a + tiles + 1, a + tiles + 2], 1), np.stack([a, a + tiles + 2, a + 1], 1)])
    return v, f.astype(np.int64)


def local_bounds(shape: dict) -> tuple[np.ndarray, np.ndarray]:
    parts = [p for p in (shape["base"], shape["part"]) if p is not None]
    lo = np.min([c - s / 2 for _, c, s in parts], 0)
    hi = np.max([c + s / 2 for _, c, s in parts], 0)
    return lo, hi


def _place(n: int, rng: np.random.Generator, radius: float = 0.38, min_dist: float = 0.34) -> np.ndarray:
    for _ in range(1000):
        pts = []
        for _ in range(200):
            p = rng.uniform(-radius, radius, 2)
            if np.linalg.norm(p) <= radius and all(np.linalg.norm(p - q) >= min_dist for q in pts):
                pts.append(p)
            if len(pts) == n:
                return np.array(pts)
    raise RuntimeError("cannot place the objects")


def make_scene(scene_id: str, rng: np.random.Generator, views: int = 10, resolution: int = 64, objects: int | None = None,
               anomalies: int = 1, kinds=ANOMALIES, cam_radius: float = 0.95, cam_height: float = 0.55):
    """Build one scene -> (scene.json dict without split, list of per-view dicts rgb/depth/instances)."""
    shape = random_shape(rng)
    n = int(objects or rng.integers(3, 6))
    xy = _place(n, rng)
    bad = set(rng.choice(n, anomalies, replace=False).tolist()) if anomalies else set()
    objs, meshes = [], []
    for i in range(n):
        shp, anomaly = shape, None
        if i in bad:
            shp, anomaly = altered(shape, str(kinds[int(rng.integers(len(kinds)))]), rng)
        yaw = rng.uniform(-math.pi, math.pi)
        pose = np.eye(4)
        pose[:3, :3] = [[math.cos(yaw), -math.sin(yaw), 0], [math.sin(yaw), math.cos(yaw), 0], [0, 0, 1]]
        pose[:2, 3] = xy[i]
        lo, hi = local_bounds(shp)
        center = pose[:3, :3] @ ((lo + hi) / 2) + pose[:3, 3]
        objs.append({"id": i + 1, "shape_id": "synth" if anomaly is None else f"synth-{anomaly['type']}",
                     "label": int(anomaly is not None), "anomaly": anomaly, "pose": pose.tolist(),
                     "bbox3d": {"center": center.tolist(), "size": (hi - lo).tolist(), "rotation": pose[:3, :3].tolist()}})
        meshes += [(v, f, c, i + 1) for v, f, c in object_meshes(shp, pose)]
    meshes.append((*floor_mesh(), FLOOR_RGB, 0))
    R = int(resolution)
    fx = 30.0 / 36.0 * R
    K = np.array([[fx, 0, R / 2], [0, fx, R / 2], [0, 0, 1.0]])
    cams, rendered = [], []
    inst_of = np.array([0] + [m[3] for m in meshes], np.uint16)
    col_of = np.concatenate([[SKY_RGB.astype(float)], [m[2] for m in meshes]])
    for v in range(views):
        a = 2 * math.pi * v / views
        eye = (cam_radius * math.cos(a), cam_radius * math.sin(a), cam_height)
        cam = Camera(K, look_at(eye, (0.0, 0.0, 0.04)), R, R)
        depth, index, shade = rasterize([(m[0], m[1]) for m in meshes], cam)
        rgb = col_of[index] * np.where(index > 0, shade, 1.0)[..., None]
        rendered.append({"rgb": np.clip(rgb.round(), 0, 255).astype(np.uint8), "depth": depth, "instances": inst_of[index]})
        cams.append(cam.to_json())
    scene = {"id": scene_id, "kind": "scene", "shape_id": "synth", "category": "synth", "objects": objs, "cameras": cams}
    return scene, rendered


def write_scene(root: Path, scene: dict, views: list[dict]) -> Path:
    d = root / "scenes" / scene["id"]
    for sub in ("rgb", "depth", "instances"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    for i, v in enumerate(views):
        Image.fromarray(v["rgb"]).save(d / "rgb" / f"{i:04d}.png")
        np.save(d / "depth" / f"{i:04d}.npy", v["depth"].astype(np.float32))
        Image.fromarray(v["instances"].astype(np.uint16)).save(d / "instances" / f"{i:04d}.png")
    (d / "scene.json").write_text(json.dumps(scene, indent=1))
    return d


def make_scenes(root: str | os.PathLike, rng: np.random.Generator, scenes: int = 4, views: int = 10, resolution: int = 64,
                split_of=None, **kw) -> dict:
    """Write ``scenes`` scenes, splits.json and index.jsonl under ``root``; returns the splits.

    split_of : a function of the scene number -> split name (default: all "train").
    """
    root = Path(root)
    splits: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    rows = []
    for s in range(scenes):
        sid = f"scene{s:03d}"
        split = split_of(s) if split_of else "train"
        scene, views_ = make_scene(sid, rng, views, resolution, **kw)
        scene["split"] = split
        write_scene(root, scene, views_)
        splits.setdefault(split, []).append(sid)
        rows.append({"id": sid, "kind": "scene", "shape_id": "synth", "split": split, "path": f"scenes/{sid}",
                     "label": int(any(o["label"] for o in scene["objects"]))})
    (root / "splits.json").write_text(json.dumps(splits))
    (root / "index.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (root / "dataset.json").write_text(json.dumps({"format": "anomaly3d-dataset", "format_version": 1,
                                                   "config": {"generator": "tests.synth_scenes"}, "seed": 0}))
    return splits
