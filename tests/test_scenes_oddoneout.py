"""Odd-One-Out scenes: config, plan and splits, the pure scene builder (placement without
intersections, grid limits, boxes, cameras, anomalies), and the job with the fake renderer."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from datagen.corrupt import registry
from datagen.plan import assign_scene_splits, plan_scenes
from datagen.scene_config import GRID_HALF_XY, GRID_TOP, ScenesConfig, scenes_preset
from datagen.scenes.oddoneout import PART_SLOTS, draw_scene, job_bundles
from datagen.shapes.library import read_shape
from datagen.shapes.procedural import generate_library
from datagen.spec import Camera

HERE = Path(__file__).resolve().parent
FAKE = (sys.executable, str(HERE / "fake_worker.py"))


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("toys")
    for cat in ("mug", "table", "car", "robot"):
        generate_library(cat, 2, root, seed=1, progress=False)
    generate_library("mechanical", 2, root, seed=1, prefix="part", progress=False)
    return root


def _cfg(**kw):
    base = dict(resolution=64, views=6, samples=1)
    base.update(kw)
    return scenes_preset(kw.pop("preset", "toysad"), **{k: v for k, v in base.items() if k != "preset"})


def _runner(library, tmp_path, cfg=None, n=12, seed=0):
    from datagen.jobs.oddoneout import ScenesRunner

    return ScenesRunner(cfg or _cfg(), library, tmp_path / "ds", seed, n_scenes=n)


def test_presets_and_validation():
    t, p = scenes_preset("toysad"), scenes_preset("partsad")
    assert t.views == 20 and t.resolution == 256 and abs(t.fx - 213.333) < 1e-3  # 30 mm lens, 36 mm sensor
    assert p.instances == (3, 12) and p.flip_prob > 0 and p.tilt_deg > 0
    assert set(t.types) == set(registry.ANOMALY_TYPES) and "material" in t.types
    assert ScenesConfig.from_json(json.loads(json.dumps(t.to_json()))) == t
    for bad, match in (({"instances": (1, 3)}, "instances"), ({"max_height": 0.5}, "max_height"),
                       ({"types": ("melted",)}, "types"), ({"floor_substances": ("stone",)}, "floor_substances")):
        with pytest.raises(ValueError, match=match):
            scenes_preset("toysad", **bad)


def test_splits_by_shape_and_unseen_categories():
    cats = {f"{c}_{i}": c for c in ("mug", "table", "car", "lamp", "robot") for i in range(6)}
    s = assign_scene_splits(cats, (0.6, 0.2, 0.2), ("mug", "robot"), seed=0)
    assert set(s) == {"train", "val", "seen-test", "unseen-test"} and all(s.values())
    assert {cats[x] for x in s["unseen-test"]} == {"mug", "robot"}
    assert not {cats[x] for x in s["train"] + s["val"] + s["seen-test"]} & {"mug", "robot"}
    flat = [x for v in s.values() for x in v]
    assert sorted(flat) == sorted(cats)  # disjoint and complete
    assert set(assign_scene_splits(cats, (0.6, 0.2, 0.2), (), seed=0)) == {"train", "val", "test"}


def test_plan_is_deterministic_and_extends(library, tmp_path):
    runner = _runner(library, tmp_path)
    a = plan_scenes(runner.config, runner.categories, 0, 12)
    assert [j.id for j in a] == [j.id for j in plan_scenes(runner.config, runner.categories, 0, 12)]
    assert plan_scenes(runner.config, runner.categories, 0, 20)[:12] == a  # a larger run extends a smaller one
    assert len({j.id for j in a}) == 12 and all(j.kind == "scene" for j in a)
    anomalous = [j for j in a if j.anomaly]
    assert anomalous and all(j.anomaly in runner.config.types for j in anomalous)


def _draws(library, tmp_path, cfg, n=8):
    runner = _runner(library, tmp_path, cfg, n=n)
    out = []
    for job in runner.plan():
        try:
            out.append(draw_scene(job, runner.load_shape(job.shape_id), cfg, runner.material_library(),
                                  runner.donors(job.shape_id)))
        except Exception as e:  # noqa: BLE001 - a refused corruption
            assert "Refused" in type(e).__name__, e
    return out


@pytest.mark.parametrize("preset", ["toysad", "partsad"])
def test_scene_geometry(library, tmp_path, preset):
    import manifold3d

    cfg = _cfg(preset=preset)
    draws = _draws(library, tmp_path, cfg)
    assert draws
    for d in draws:
        n = len(d.instances)
        assert cfg.instances[0] <= n <= cfg.instances[1]
        allv = np.concatenate([i.world_vertices() for i in d.instances])
        assert np.abs(allv[:, :2]).max() < GRID_HALF_XY and allv[:, 2].max() < GRID_TOP  # inside the model's grid
        for inst in d.instances:
            v = inst.world_vertices()
            assert abs(v[:, 2].min()) < 1e-9  # resting on the floor
            b = inst.bbox3d()  # the box holds every vertex of its copy
            local = (v - b["center"]) @ np.asarray(b["rotation"])
            assert (np.abs(local) <= np.asarray(b["size"]) / 2 + 1e-9).all()
        # no two copies intersect: exact booleans on the meshes (every part is a closed solid)
        solids = []
        for inst in d.instances:
            m = manifold3d.Manifold()
            for p in inst.shape.parts:
                v = p.vertices @ inst.pose[:3, :3].T + inst.pose[:3, 3]
                m = m + manifold3d.Manifold(manifold3d.Mesh(v.astype(np.float32), p.faces.astype(np.uint32)))
            solids.append(m)
        for i in range(n):
            for j in range(i + 1, n):
                assert (solids[i] ^ solids[j]).volume() < 1e-12
        assert (d.anomalous is None) == (d.job.anomaly is None)
        if d.anomalous is not None:
            a = d.anomaly
            assert a["type"] == d.job.anomaly and sum(i.anomalous for i in d.instances) == 1
            if a["type"] == "material":
                assert a["new"] != a["old"] and (a["new_substance"] != a["old_substance"] or a["color_distance"] >= 0.15)
            else:  # the recorded measurement passed the type's thresholds
                assert d.record.measured and d.record.type == a["type"]
        # cameras: on a circle around the scene, looking at its centre
        target = np.asarray(d.camera_rig["target"])
        for cam in d.cameras:
            uv, z = cam.project([target])
            assert np.allclose(uv[0], [cfg.resolution / 2] * 2) and z[0] > 0
            assert abs(np.linalg.norm(cam.position - target) - d.camera_rig["distance"]) < 1e-9


def test_spec_bytes_are_stable(library, tmp_path):
    runner = _runner(library, tmp_path, n=4)

    def specs():
        out = []
        for job in runner.plan():
            try:
                out += [b.spec.dumps() for b in job_bundles(job, runner.load_shape(job.shape_id), runner.config,
                                                            runner.material_library(), runner.donors(job.shape_id))]
            except Exception as e:  # noqa: BLE001
                out.append(str(e))
        return out

    a = specs()
    assert a == specs() and any('"tag": "scene"' in s for s in a)


def test_scenes_job_with_fake_renderer(library, tmp_path):
    from datagen.dataset.reader import Dataset
    from datagen.dataset.verify import verify
    from datagen.executors import WorkerOptions
    from datagen.generate import generate_dataset

    cfg = _cfg(min_visible_px=20, instances=(3, 4), views=4)  # the fake rasterizer is slow: small scenes
    summary, counts = generate_dataset(_runner(library, tmp_path, cfg, n=6), workers=2,
                                       opts=WorkerOptions(cmd=FAKE, job_timeout=60), progress=False)
    assert summary.failed == 0 and summary.done >= 3, summary.failures
    ds = Dataset(tmp_path / "ds")
    rows = ds.rows(kind="scene")
    assert len(rows) == summary.done
    for r in rows:
        scene = ds.scene(r["id"])
        d = ds.root / r["path"]
        n = len(scene["objects"])
        assert [o["id"] for o in scene["objects"]] == list(range(1, n + 1))
        assert len(scene["cameras"]) == cfg.views == len(scene["boxes2d"])
        assert r["label"] == int(any(o["label"] for o in scene["objects"]))
        from PIL import Image

        for k, cam in enumerate(scene["cameras"]):
            inst = np.asarray(Image.open(d / "instances" / f"{k:04d}.png"))
            assert inst.shape == (cfg.resolution, cfg.resolution) and inst.max() <= n
            for o, box in zip(scene["objects"], scene["boxes2d"][k]):
                mask = inst == o["id"]
                assert (box is None) == (not mask.any())
            if scene["anomaly"] is not None:  # the anomaly's pixels lie where its copy (anomalous or normal) projects
                an = np.asarray(Image.open(d / "anomaly" / f"{k:04d}.png")) > 0
                o = scene["objects"][scene["anomaly"]["instance"] - 1]
                pose = np.asarray(o["pose"])
                lo, hi = read_shape(library / o["shape_id"]).bounds
                box = o["bbox3d"]
                corners = [np.asarray(box["center"]) + np.asarray(box["rotation"]) @ (np.asarray(box["size"]) * sgn / 2)
                           for sgn in np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1])).reshape(3, -1).T]
                corners += [pose[:3, :3] @ np.array(c) + pose[:3, 3] for c in np.array(np.meshgrid(*zip(lo, hi))).reshape(3, -1).T]
                uv, _ = Camera.from_json(cam).project(np.asarray(corners))
                ys, xs = np.nonzero(an)
                if len(xs):
                    assert xs.min() >= uv[:, 0].min() - 1 and xs.max() <= uv[:, 0].max() + 1
                    assert ys.min() >= uv[:, 1].min() - 1 and ys.max() <= uv[:, 1].max() + 1
        if scene["anomaly"] is not None:
            assert max(scene["anomaly"]["visible_px"]) >= cfg.min_visible_pixels
    assert verify(tmp_path / "ds") == []
    splits = json.loads((tmp_path / "ds" / "splits.json").read_text())
    assert {"train", "unseen-test"} <= set(splits) or len(rows) < 4


def test_pass_index_slots():
    from datagen.scenes.oddoneout import pass_index

    assert pass_index(3, 0) // PART_SLOTS == 3 and pass_index(12, 254) < 65536


@pytest.mark.blender
def test_real_render_conventions(library, tmp_path):
    """Blender renders: object centres project onto their own instance ids (OpenCV cameras), depth
    back-projects into the right 3D boxes, the anomaly shows where recorded."""
    from PIL import Image

    from datagen.dataset.reader import Dataset
    from datagen.executors import WorkerOptions
    from datagen.generate import generate_dataset

    cfg = _cfg(resolution=96, views=6, samples=4, instances=(3, 5), min_visible_px=30)
    summary, _ = generate_dataset(_runner(library, tmp_path, cfg, n=2, seed=3), workers=1,
                                  opts=WorkerOptions(job_timeout=300), progress=False)
    assert summary.failed == 0 and summary.done >= 1, summary.failures
    ds = Dataset(tmp_path / "ds")
    hits = pairs = 0
    for r in ds.rows(kind="scene"):
        scene, d = ds.scene(r["id"]), ds.root / r["path"]
        for k, cj in enumerate(scene["cameras"]):
            cam = Camera.from_json(cj)
            inst = np.asarray(Image.open(d / "instances" / f"{k:04d}.png"))
            depth = np.load(d / "depth" / f"{k:04d}.npy")
            rgb = np.asarray(Image.open(d / "rgb" / f"{k:04d}.png"))
            assert rgb.shape == (96, 96, 3) and (depth[inst > 0] > 0).all()
            world = cam.backproject(depth.astype(np.float64))
            for o in scene["objects"]:
                mask = inst == o["id"]
                if mask.sum() < 10:
                    continue
                box = o["bbox3d"]
                local = (world[mask] - box["center"]) @ np.asarray(box["rotation"])
                inside = (np.abs(local) <= np.asarray(box["size"]) / 2 + 0.01).all(1)
                assert inside.mean() > 0.95  # depth back-projects into the object's own box
                uv, _ = cam.project([box["center"]])
                col, row = int(uv[0, 0]), int(uv[0, 1])  # pixel (row, col) holds (u, v) in [col, col+1) x [row, row+1)
                pairs += 1
                if 0 <= row < 96 and 0 <= col < 96 and inst[row, col] == o["id"]:
                    hits += 1
            floor = (inst == 0) & (depth > 0)  # (the sky above the floor has no depth)
            assert floor.any() and np.abs(world[floor][:, 2]).max() < 2e-3  # floor pixels lie on z = 0
        if scene["anomaly"] is not None:
            an = [np.asarray(Image.open(d / "anomaly" / f"{k:04d}.png")) > 0 for k in range(len(scene["cameras"]))]
            assert max(int(m.sum()) for m in an) >= cfg.min_visible_pixels
    assert pairs and hits / pairs > 0.7, (hits, pairs)
