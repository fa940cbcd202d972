"""Export of scenes to the ToysAD-8K / PartsAD-15K layout (Odd-One-Out): datagen.export.oddoneout.

A small scenes dataset is made by the real pipeline with the fake renderer (64 px, 10 views), exported
at 256 px, and read back with the official loader's steps (VICO-UoE/OddOneOutAD ``data/dataset_e2e.py``
``get_dataloaders`` + ``__getitem__``, as written down in the layout notes, part B section 6),
re-implemented here without its bare ``except``; then checked against our scene.json.
"""

import glob
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from datagen.corrupt.registry import ANOMALY_TYPES
from datagen.dataset.reader import Dataset
from datagen.errors import InputError
from datagen.export import export_oddoneout
from datagen.export import oddoneout_layout as O
from datagen.scenes.placement import rotation_xy, rotation_z

HERE = Path(__file__).resolve().parent
FAKE = (sys.executable, str(HERE / "fake_worker.py"))
TYPES = ("position", "rotation", "broken", "swapped", "missing", "scale", "material")
RES, VIEWS = 64, 10


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Low-poly shapes (the fake rasterizer is Python): 2 chairs (unseen category), 2 tables, 2 parts."""
    from datagen.executors import WorkerOptions
    from datagen.generate import generate_dataset
    from datagen.jobs.oddoneout import ScenesRunner
    from datagen.scene_config import scenes_preset
    from datagen.shapes.procedural import generate_library

    root = tmp_path_factory.mktemp("ooo")
    lib = root / "lib"
    generate_library("chair", 2, lib, seed=1, progress=False)
    generate_library("table", 2, lib, seed=1, progress=False)
    generate_library("mechanical", 2, lib, seed=1, prefix="part", progress=False)
    cfg = scenes_preset("toysad", resolution=RES, views=VIEWS, samples=1, instances=(3, 4), min_visible_px=20,
                        unseen_categories=("chair",), types=TYPES)
    summary, _ = generate_dataset(ScenesRunner(cfg, lib, root / "ds", 0, n_scenes=6), workers=2,
                                  opts=WorkerOptions(cmd=FAKE, job_timeout=120), progress=False)
    assert summary.failed == 0 and summary.done >= 4, summary.failures
    return root / "ds"


@pytest.fixture(scope="module")
def exported(dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "parts_like"
    t = time.perf_counter()
    report = export_oddoneout(dataset, out, progress=False)
    report.seconds = time.perf_counter() - t
    return out, report


# --- the official loader's steps -----------------------------------------------------------------------
def official_splits(data_path: Path, split_path: Path) -> dict:
    """``get_dataloaders``: every key a DataLoader (``'test' in key`` = evaluation), paths joined to data_path."""
    split = json.loads(split_path.read_text())
    out = {}
    for key, names in split.items():
        assert isinstance(names, list) and len(names) > 0, f"{key}: RandomSampler raises on an empty list"
        out[key] = [os.path.join(str(data_path), n) for n in names]
    return out


def official_item(scene_path: str, rng: np.random.Generator, num_views: int = 5, dimension: int = 256) -> dict:
    """``dataloader.__getitem__`` (no augmentation), plus the checks of what it would hide."""
    rgb_images = sorted(glob.glob(scene_path + "/RGB/*"))
    seg_images = sorted(glob.glob(scene_path + "/masks/*"))
    meta = json.loads(Path(scene_path, "scene3d.metadata.json").read_text())
    RT = [np.array(p["rotation"]) for p in meta["camera"]["poses"]]
    K = [np.array(meta["camera"]["K"])] * len(RT)
    # what the bare except would hide: counts and pairing, shapes
    assert len(rgb_images) >= 2 * num_views
    assert [os.path.basename(p) for p in rgb_images] == [os.path.basename(p) for p in seg_images]
    assert len(RT) == len(rgb_images) and all(r.shape == (4, 4) for r in RT) and K[0].shape == (3, 3)
    idx = rng.choice(len(rgb_images), 2 * num_views, replace=False)
    rgb = np.stack([np.asarray(Image.open(rgb_images[i]).convert("RGB").resize((dimension, dimension), Image.BICUBIC),
                               dtype=np.float32).transpose(2, 0, 1) / 255 for i in idx])
    sil = np.stack([np.asarray(Image.open(seg_images[i]).convert("L"), dtype=np.float32) / 255 for i in idx])
    boxes = np.array([o["bbox"] for o in meta["objects"]], dtype=np.float32)
    assert boxes.ndim == 3 and boxes.shape[1:] == (2, 3)
    labels = np.array([1 if "-" in os.path.basename(o["path"]) else 0 for o in meta["objects"]], dtype=np.int64)
    return {"rgb_images": rgb, "batch_silhouettes": sil, "cam_RT": np.stack([RT[i] for i in idx]).astype(np.float32),
            "cam_K": np.array([K[i] for i in idx]), "boxes": boxes.reshape(len(boxes), 6), "labels": labels,
            "view_indices": idx, "scene_path": scene_path}


def _png(path) -> np.ndarray:
    return np.asarray(Image.open(path))


def _up(a: np.ndarray, f: int) -> np.ndarray:
    return np.repeat(np.repeat(a, f, 0), f, 1)


# --- tests -----------------------------------------------------------------------------------------------
def test_every_scene_loads_and_matches_our_scenes(dataset, exported):
    out, report = exported
    ds = Dataset(dataset)
    rows = ds.rows(kind="scene")
    assert report.summary.failed == 0 and report.summary.done == len(rows), report.summary.failures
    ids = json.loads((out / O.SCENE_IDS).read_text())
    names = ids["scenes"]
    assert sorted(names) == sorted(r["id"] for r in rows)
    # the root holds the scene folders and our files only; every folder is a scene (train.py's glob)
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert folders == sorted(names.values()) and all((out / f / "scene3d.metadata.json").is_file() for f in folders)
    # split file: non-empty lists, from the index rows' splits, in the release's key order
    splits = official_splits(out, out / "split.json")
    want = {}
    for r in rows:
        want.setdefault(r["split"], []).append(names[r["id"]])
    assert {k: sorted(os.path.basename(p) for p in v) for k, v in splits.items()} == {k: sorted(v) for k, v in want.items()}
    assert list(splits) == [k for k in O.SPLIT_ORDER if k in splits]
    assert any("train" in k for k in splits) and any("test" in k for k in splits)
    missing = [k for k in ds.splits if k not in splits and k != "test"]  # a split with shapes but no scene (val)
    assert missing and set(missing) <= set(report.empty_splits)  # reported, left out
    f = 256 // RES
    rng = np.random.default_rng(0)
    hits = pairs = 0
    for r in rows:
        name = names[r["id"]]
        scene = ds.scene(r["id"])
        src = ds.root / r["path"]
        assert name.split("-")[0] == ids["shapes"][r["shape_id"]] == r["shape_id"]  # the normal shape's stem
        item = official_item(str(out / name), rng)
        n_obj = len(scene["objects"])
        assert item["rgb_images"].shape == (10, 3, 256, 256) and item["batch_silhouettes"].shape == (10, 256, 256)
        assert set(np.unique(item["batch_silhouettes"])) <= {0.0, 1.0}
        # labels: the hyphen rule gives our labels; the type token maps back to our type
        meta = json.loads((out / name / "scene3d.metadata.json").read_text())
        assert item["labels"].tolist() == [o["label"] for o in scene["objects"]]
        for o, e in zip(scene["objects"], meta["objects"]):
            base = os.path.basename(e["path"])
            if o["label"]:
                stem, token, number = base[: -len(".obj")].split("-")
                assert (stem, number) == tuple(name.split("-")) and O.our_type(token) == o["anomaly"]["type"]
            else:
                assert base == name.split("-")[0] + ".obj"
        m2 = json.loads((out / name / "scene2d.metadata.json").read_text())
        assert m2["anomaly_labels"] == [1 - o["label"] for o in scene["objects"]]
        assert m2["blend_paths"] == [e["path"] for e in meta["objects"]]
        # boxes: centre and dims along the object's own axes, Blender (dx, dy, dz) order
        for o, b, e in zip(scene["objects"], item["boxes"], meta["objects"]):
            assert np.allclose(b[:3], o["bbox3d"]["center"], atol=1e-6) and np.allclose(b[3:], o["bbox3d"]["size"], atol=1e-6)
            mw = np.asarray(e["rotation_matrix"])
            assert np.allclose(mw[:3, 3], e["location"]) and np.allclose(e["location"], b[:3], atol=1e-6)
            assert np.allclose(mw[:3, :3], o["scale"] * np.asarray(o["bbox3d"]["rotation"]))
            assert np.isclose(e["rotation_euler"][2], o["yaw"]) and np.allclose(e["rotation_euler"][:2], 0, atol=1e-9)
        # cameras: our OpenCV world_to_camera in file order, K in 256-px units
        K = item["cam_K"][0]
        assert np.allclose(K, np.diag([f, f, 1.0]) @ np.asarray(scene["cameras"][0]["K"])) and np.allclose(K[:2, 2], 128)
        for k, i in enumerate(item["view_indices"]):
            assert np.allclose(item["cam_RT"][k], scene["cameras"][i]["world_to_camera"], atol=1e-6)
        # pixels: masks = any object, binary_labels = the anomalous copy, segmentations per object, boxes
        bad = [o["id"] for o in scene["objects"] if o["label"]]
        for v in range(VIEWS):
            stem = f"{v:04d}"
            inst = _up(_png(src / "instances" / f"{stem}.png").astype(np.int64), f)
            mask = _png(out / name / "masks" / f"{stem}.png")
            assert mask.dtype == np.uint8 and mask.shape == (256, 256) and np.array_equal(mask > 0, inst > 0)
            assert np.array_equal(_png(out / name / "binary_labels" / f"{stem}.png") > 0, np.isin(inst, bad))
            rgba = Image.open(out / name / "RGB" / f"{stem}.png")
            assert rgba.size == (256, 256) and (np.asarray(rgba)[..., 3] == 255).all()
            depth = _png(out / name / "depth_png" / f"{stem}.png")
            assert np.abs(depth / 1000 - _up(np.load(src / "depth" / f"{stem}.npy"), f)).max() <= 0.0006
            seg_boxes = []
            for o, e in zip(scene["objects"], meta["objects"]):
                seg = _png(out / name / "segmentations" / e["name"] / f"{e['name']}_{stem}.png")
                assert seg.shape == (256, 256, 4) and np.array_equal(seg[..., 0] > 127, inst == o["id"])
                if o["label"] and (seg[..., 0] > 127).any():
                    seg_boxes.append(list(Image.fromarray((seg[..., 0] > 127).astype(np.uint8) * 255).getbbox()))
            assert m2["bbox"][f"{stem}.png"] == seg_boxes
        # projection: K @ RT[:3] @ [bbox[0], 1] is in front of the camera and on or near the object
        sil_by_view = dict(zip(item["view_indices"], item["batch_silhouettes"]))
        for v, sil in sil_by_view.items():
            P = item["cam_K"][0] @ np.asarray(meta["camera"]["poses"][v]["rotation"])[:3]
            inst = _up(_png(src / "instances" / f"{v:04d}.png").astype(np.int64), f)
            for o, b, e in zip(scene["objects"], item["boxes"], meta["objects"]):
                u, w, z = P @ np.append(b[:3], 1.0)
                assert z > 0.1
                col, row = u / z, w / z
                pix = inst == o["id"]
                if pix.sum() < 30:
                    continue
                pairs += 1
                ys, xs = np.nonzero(pix)
                near = np.hypot(xs + 0.5 - col, ys + 0.5 - row).min()
                hits += near <= 3
                # every pixel of the object lies inside the projection of its exported (rotated) box
                R = np.asarray(e["rotation_matrix"])[:3, :3] / o["scale"]
                corners = b[:3] + (np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1])).reshape(3, -1).T * b[3:] / 2) @ R.T
                uvw = (P @ np.c_[corners, np.ones(8)].T).T
                uv = uvw[:, :2] / uvw[:, 2:]
                tol = f / 2 + 0.5  # a 64-px pixel is set when its centre is covered: up to half of it sticks out
                assert xs.min() >= uv[:, 0].min() - tol and xs.max() + 1 <= uv[:, 0].max() + tol
                assert ys.min() >= uv[:, 1].min() - tol and ys.max() + 1 <= uv[:, 1].max() + tol
                assert sil[pix].all()  # the loader's silhouette holds the object
        assert n_obj <= 10
    assert pairs and hits / pairs > 0.8, (hits, pairs)


def test_rerun_writes_nothing_and_foreign_folders_are_refused(dataset, exported, tmp_path):
    out, report = exported
    before = {p: (p.stat().st_mtime_ns, p.stat().st_ino) for p in out.rglob("*")}
    again = export_oddoneout(dataset, out, progress=False)
    assert again.summary.skipped == report.summary.done and again.summary.done == 0
    assert {p: (p.stat().st_mtime_ns, p.stat().st_ino) for p in out.rglob("*")} == before
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not a previous export"):
        export_oddoneout(dataset, foreign, progress=False)
    (foreign / O.MARKER).write_text(json.dumps({"format": "datagen-looking3d-export"}))
    with pytest.raises(InputError, match="another kind of export"):
        export_oddoneout(dataset, foreign, progress=False)
    with pytest.raises(InputError, match="size 256"):
        export_oddoneout(dataset, out, size=128, progress=False)
    from datagen.commands.export import export as export_group

    res = CliRunner().invoke(export_group, ["oddoneout", str(dataset), "--out", str(foreign), "--no-progress"])
    assert res.exit_code != 0 and "not a previous export" not in res.output and "another kind" in res.output
    assert len(res.output.strip().splitlines()) == 1  # one line naming the file and the problem


def test_bad_scenes_are_listed_and_the_export_goes_on(dataset, tmp_path):
    ds_copy = tmp_path / "ds"
    shutil.copytree(dataset, ds_copy)
    rows = Dataset(ds_copy).rows(kind="scene")
    a, b = ds_copy / rows[0]["path"], ds_copy / rows[1]["path"]
    os.replace(a / "rgb" / "0003.png", tmp_path / "0003.png")
    scene = json.loads((b / "scene.json").read_text())
    scene["cameras"] = scene["cameras"][:9]
    (b / "scene.json").write_text(json.dumps(scene))
    out = tmp_path / "out"
    from datagen.commands.export import export as export_group

    res = CliRunner().invoke(export_group, ["oddoneout", str(ds_copy), "--out", str(out), "--split-file",
                                            str(tmp_path / "s.json"), "--workers", "2", "--no-progress"])
    assert res.exit_code == 0, res.output
    fails = [json.loads(line) for line in (out / O.FAILURES).read_text().splitlines()]
    assert sorted(x["item"] for x in fails) == sorted([rows[0]["id"], rows[1]["id"]])
    msgs = " ".join(x["error"] for x in fails)
    assert "0003.png: file not found" in msgs and "9 views < 10" in msgs
    names = json.loads((out / O.SCENE_IDS).read_text())["scenes"]
    listed = {n for v in json.loads((tmp_path / "s.json").read_text()).values() for n in v}
    assert listed == {names[r["id"]] for r in rows[2:]} and not (out / "split.json").exists()
    assert not (out / names[rows[0]["id"]]).exists() and not list(out.glob(".*"))  # nothing half-written
    assert json.loads((out / O.MARKER).read_text())["complete"] is False
    os.replace(tmp_path / "0003.png", a / "rgb" / "0003.png")  # fixed: a rerun exports it
    (out / f".{names[rows[0]['id']]}.x1y2.tmp" / "RGB").mkdir(parents=True)  # as a killed run leaves it
    r2 = export_oddoneout(ds_copy, out, split_file=tmp_path / "s.json", progress=False)
    assert r2.summary.done == 1 and r2.summary.failed == 1 and r2.summary.skipped == len(rows) - 2
    listed = {n for v in json.loads((tmp_path / "s.json").read_text()).values() for n in v}
    assert names[rows[0]["id"]] in listed and names[rows[1]["id"]] not in listed and not list(out.glob(".*"))


def test_names_tokens_and_angles():
    m = O.scene_names([("a-b-001", "a-b"), ("a_b-001", "a_b"), ("a_b-007", "a_b"), ("x", "x"), ("x-002", "x")])
    assert m["shapes"] == {"a-b": "a_b", "a_b": "a_b_2", "x": "x"}
    assert m["scenes"] == {"a-b-001": "a_b-001", "a_b-001": "a_b_2-001", "a_b-007": "a_b_2-007",
                           "x": "x-001", "x-002": "x-002"}
    again = O.scene_names([("a_b-001", "a_b"), ("new-001", "new")], previous=m)
    assert {k: again["scenes"][k] for k in m["scenes"]} == m["scenes"] and again["scenes"]["new-001"] == "new-001"
    assert all(n.count("-") == 1 for n in again["scenes"].values())
    assert set(O.TYPE_TOKENS) >= set(ANOMALY_TYPES)
    assert len(set(O.TYPE_TOKENS.values())) == len(O.TYPE_TOKENS)  # one token per type: the type round-trips
    assert all("-" not in t and "_" not in t for t in O.TYPE_TOKENS.values())
    assert O.label_of("/x/y-z/mug_001.obj") == 0 and O.label_of("mug_001/mug_001-bend-003.obj") == 1
    assert O.object_path("mug_001", "003", "dent") == "mug_001/mug_001-bump-003.obj"
    for rx, ry, yaw in ((0.0, 0.0, 2.5), (0.2, -0.1, -1.0), (np.pi / 2, 0.0, 0.3), (0.0, np.pi / 2, 1.0)):
        R = rotation_z(yaw) @ rotation_xy(rx, ry)
        e = O.euler_xyz(R)
        back = rotation_z(e[2]) @ rotation_xy(0, e[1]) @ rotation_xy(e[0], 0)
        assert np.allclose(back, R, atol=1e-9)


@pytest.mark.blender
def test_real_rendered_scene_exports(tmp_path):
    """Blender renders (a floor behind the objects): the export loads, the masks mark objects only,
    floor_object the floor, and bbox[0] projects onto its own object's pixels."""
    from datagen.executors import WorkerOptions
    from datagen.generate import generate_dataset
    from datagen.jobs.oddoneout import ScenesRunner
    from datagen.scene_config import scenes_preset
    from datagen.shapes.procedural import generate_library

    lib = tmp_path / "lib"
    generate_library("mechanical", 1, lib, seed=1, prefix="part", progress=False)  # solid: bbox[0] lies inside
    cfg = scenes_preset("toysad", resolution=RES, views=VIEWS, samples=2, instances=(3, 4), min_visible_px=20,
                        types=("position",))
    summary, _ = generate_dataset(ScenesRunner(cfg, lib, tmp_path / "ds", 0, n_scenes=1), workers=1,
                                  opts=WorkerOptions(job_timeout=300), progress=False)
    assert summary.done == 1, summary.failures
    report = export_oddoneout(tmp_path / "ds", tmp_path / "out", progress=False)
    assert report.summary.done == 1, report.summary.failures
    splits = official_splits(tmp_path / "out", tmp_path / "out" / "split.json")
    (path,) = [p for v in splits.values() for p in v]
    item = official_item(path, np.random.default_rng(0))
    meta = json.loads(Path(path, "scene3d.metadata.json").read_text())
    hits = pairs = 0
    for k, v in enumerate(item["view_indices"]):
        sil = item["batch_silhouettes"][k]
        floor = _png(Path(path, "segmentations", O.FLOOR_OBJECT, f"{O.FLOOR_OBJECT}_{v:04d}.png"))[..., 0] > 127
        assert 0 < sil.mean() < 0.5 and not (floor & (sil > 0)).any() and floor.mean() > 0.5  # objects only
        P = item["cam_K"][k] @ item["cam_RT"][k][:3].astype(np.float64)
        for b, e in zip(item["boxes"], meta["objects"]):
            seg = _png(Path(path, "segmentations", e["name"], f"{e['name']}_{v:04d}.png"))[..., 0] > 127
            u, w, z = P @ np.append(b[:3], 1.0)
            assert z > 0.1
            if seg.sum() >= 30:
                ys, xs = np.nonzero(seg)
                pairs += 1
                hits += np.hypot(xs + 0.5 - u / z, ys + 0.5 - w / z).min() <= 3
                R = np.asarray(e["rotation_matrix"])[:3, :3] / e["scale"][0]  # the object's pixels lie in its box
                corners = b[:3] + (np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1])).reshape(3, -1).T * b[3:] / 2) @ R.T
                uvw = (P @ np.c_[corners, np.ones(8)].T).T
                uv = uvw[:, :2] / uvw[:, 2:]
                tol = 256 / RES  # one source pixel (antialiased edges)
                assert xs.min() >= uv[:, 0].min() - tol and xs.max() + 1 <= uv[:, 0].max() + tol
                assert ys.min() >= uv[:, 1].min() - tol and ys.max() + 1 <= uv[:, 1].max() + tol
    assert pairs and hits / pairs > 0.8, (hits, pairs)
