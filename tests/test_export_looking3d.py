"""Export to the BrokenChairs-180K layout (Looking 3D) and import back (datagen.export).

The export is read back with the official loader's steps (VICO-UoE/Looking3D ``data/dataset_e2e.py``,
as written down in the layout notes), re-implemented here without its bare ``except``: name
parsing, split filter, annotation path rewrite, ``2d_bbox / 512`` + the albumentations YOLO checks
and the random 224 crop, the ``.npy`` keys / dtypes / shapes, and the view-pair co-visibility loop.
"""

import glob
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from datagen.dataset.reader import Dataset
from datagen.dataset.verify import verify
from datagen.dataset.writer import DatasetWriter, bbox_of
from datagen.errors import InputError
from datagen.export import export_looking3d, import_looking3d
from datagen.export import looking3d_layout as L
from datagen.export.looking3d import unique_name
from datagen.export.looking3d_check import check_looking3d
from datagen.export.looking3d_views import shape_points
from datagen.spec import Camera
from synth_chairs import make_synthetic, random_chair, rasterize

R = 64  # synthetic query / reference resolution


# --- the official loader's steps -----------------------------------------------------------------
def yolo_rejects(yolo) -> str | None:
    """albumentations (format='yolo'): every value in (0, 1]; converted corners in [0, 1] (or
    np.isclose to 0 / 1); positive size. Returns the reason it raises, or None."""
    yolo = np.asarray(yolo, dtype=np.float64)
    if np.any((yolo <= 0) | (yolo > 1)):
        return f"YOLO values {yolo} not in (0, 1]"
    x, y, w, h = yolo
    x_min, y_min = x - w / 2, y - h / 2
    box = (x_min, y_min, x_min + w, y_min + h)
    for v in box:
        if not 0 <= v <= 1 and not np.isclose(v, 0) and not np.isclose(v, 1):
            return f"corner {v} outside [0, 1]"
    if box[2] <= box[0] or box[3] <= box[1]:
        return "empty box"
    return None


def crop_keeps(yolo, rng) -> bool:
    """Resize 256, RandomCrop 224: the box survives when part of it stays inside the crop."""
    x, y, w, h = np.asarray(yolo) * 256
    x0, y0 = rng.integers(0, 256 - 224 + 1, size=2)
    cw = min(x + w / 2, x0 + 224) - max(x - w / 2, x0)
    ch = min(y + h / 2, y0 + 224) - max(y - h / 2, y0)
    return cw > 0 and ch > 0


def official_paths(root: Path, mode: str) -> list[str]:
    all_paths = glob.glob(f"{root}/images/*/*")
    for p in all_paths:  # the constructor evaluates split('_')[1] for every entry
        assert os.path.isfile(p) and len(os.path.basename(p).split("_")) > 1, p
    splits = json.load(open(f"{root}/split.json"))
    return [p for p in all_paths if os.path.basename(p).split("_")[1] in splits[mode]]


def official_item(root: Path, img_path: str, rng: np.random.Generator, num_mesh_images: int = 5) -> dict | None:
    filename = os.path.basename(img_path)
    model_id = filename.split("_")[1]
    ref = sorted(glob.glob(f"{root}/shapes/shape_{model_id}/mv_images/*.png"))
    assert len(ref) >= 2, f"{model_id}: {len(ref)} views"
    chosen = rng.choice(ref, num_mesh_images)
    mesh = [np.asarray(Image.open(p).convert("RGB")) for p in chosen]
    assert all(m.shape == (256, 256, 3) for m in mesh)
    pos_enc3d = np.stack([np.load(p.replace(".png", ".npy"), allow_pickle=True).item()["xyz"] for p in chosen])
    assert pos_enc3d.shape == (num_mesh_images, 32, 32, 3) and np.isfinite(pos_enc3d).all()
    query = np.asarray(Image.open(img_path).convert("RGB"))  # cv2.imread: colour, alpha dropped
    label = int("anomaly" in filename)
    bbox = np.zeros(4)
    if label:
        info_path = img_path.replace("/images/", "/annotations/").replace("/render_", "/info_").replace(".png", ".json")
        info = json.load(open(info_path))
        x, y, w, h = np.array(info["2d_bbox"]) / 512
        bbox = np.array([x + w / 2, y + h / 2, w, h])
        reason = yolo_rejects(bbox)
        assert reason is None, f"{info_path}: {reason}"
        # the random crop drops boxes in the outer band at random: retry with other seeds
        assert any(crop_keeps(bbox, np.random.default_rng(s)) for s in range(20)), info_path
    for _ in range(11):
        v1, v2 = rng.choice(ref, 2, replace=False)
        d1, d2 = (np.load(v.replace(".png", ".npy"), allow_pickle=True).item() for v in (v1, v2))
        paired = np.where(d1["is_visible"] & d2["is_visible"])[0]
        if len(paired) >= 32:
            break
    else:
        return None
    return {"query": query, "label": label, "bbox": bbox, "pxy_v1": d1["pxy"][paired], "pxy_v2": d2["pxy"][paired],
            "mesh_pos_enc3d": pos_enc3d}


def release_projection(K, RT, X) -> np.ndarray:
    """(n, 3) release-world points -> (n, 2) (row, col) with the release's formula (layout notes 5.4)."""
    uvw = (np.asarray(K) @ np.asarray(RT)[:3]) @ np.c_[X, np.ones(len(X))].T
    u, v = uvw[0] / uvw[2], uvw[1] / uvw[2]
    return np.stack([v, 256 - u], axis=1)


# --- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    make_synthetic(root, np.random.default_rng(0), shapes=4, queries_per_shape=4, resolution=R, ref_views=8,
                   splits=(0.5, 0.25, 0.25))
    return root


@pytest.fixture(scope="module")
def exported(synth, tmp_path_factory):
    out = tmp_path_factory.mktemp("exp") / "bc_like"
    summary = export_looking3d(synth, out, progress=False)
    assert summary.failed == 0, summary.failures
    return out


@pytest.fixture(scope="module")
def imported(exported, tmp_path_factory):
    out = tmp_path_factory.mktemp("imp") / "ds_real"
    summary = import_looking3d(exported, out, progress=False)
    assert summary.failed == 0 and summary.refused == 0, (summary.failures, summary.refusals)
    return out


def pipeline_like(root: Path, rng: np.random.Generator) -> Path:
    """A tiny dataset with the generator's meta (materials, lighting, camera angles), ids with '_'
    (one containing 'anomaly'), the release's type words, an unknown type and a name collision."""
    w = DatasetWriter(root, config={"generator": "test"}, seed=0)
    fx = 355.0 * R / 256
    ids = ["chair_000000", "anomaly_7"]
    for s, sid in enumerate(ids):
        shape = random_chair(sid, rng)
        views = []
        for v in range(6):
            cam = Camera.orbit(2.0, 2 * math.pi * v / 6, math.radians(20), fx, R, R)
            depth, _, shade = rasterize([(p.vertices, p.faces) for p in shape.parts], cam)
            views.append({"image": (shade * 255).round().astype(np.uint8), "depth": depth, "camera": cam})
        w.write_reference(shape, views)
        for q, kind in enumerate([None, None, "rotation", "broken", "swapped", "scale"]):
            ai, el = (q * 3) % 20, math.radians(25 + q)
            if q == 1:  # same camera, materials and lighting as q == 0: the same file name
                ai, el = 0, math.radians(25)
            az = ai * math.pi / 10
            cam = Camera.orbit(2.5, az, el, fx, R, R)
            depth, index, shade = rasterize([(p.vertices, p.faces) for p in shape.parts], cam)
            gray = np.where(index > 0, shade * 180, 255).astype(np.uint8)
            rgb = np.repeat(gray[..., None], 3, axis=2)
            mask = index == 2
            meta = {"shape_id": sid, "label": int(kind is not None), "split": ["train", "test"][s],
                    "camera": dict(cam.to_json(), azimuth=az, elevation=el, radius=2.5, azimuth_index=ai),
                    "materials": {"leg": {"name": "wood_001"}}, "lighting": {"key_strength": 2.0 + s},
                    "anomaly": None if kind is None else {"type": kind, "part": "back", "label": "chair_back"},
                    "bbox": None if kind is None else bbox_of(mask), "parts": [p.name for p in shape.parts]}
            w.write_sample(f"{sid}__q{q}", meta, rgb, depth, index, mask_new=mask if kind else None,
                           mask_old=mask if kind else None)
    w.write_splits({"train": [ids[0]], "test": [ids[1]]})
    w.finalize()
    return root


# --- names, ids, frames ----------------------------------------------------------------------------
def test_names_ids_and_type_words():
    fields = {"texture": 1944, "radius": 2.5, "azimuth": 300, "elevation": 30, "light": 3}
    used: set = set()
    a = unique_name("183", fields, False, used)
    b = unique_name("183", fields, False, used)
    c = unique_name("183", fields, True, used)
    assert a == "render_183_1944_2.5_300_30_3_normal.png" and b == "render_183_1944_2.5_300_30_3-1_normal.png"
    assert c.endswith("_anomaly.png") and len(used) == 3
    for n, label in ((a, 0), (b, 0), (c, 1)):
        q = L.parse_query_name(n)
        assert n.split("_")[1] == "183" and q.shape_id == "183" and q.label == label and ("anomaly" in n) == bool(label)
        assert (q.texture, q.radius, q.azimuth, q.elevation, q.light) == (1944, 2.5, 300, 30, 3)
    ids = L.export_ids(["183", "chair-000003", "chair_000003", "anomaly_1", "a/b c"])
    assert ids["183"] == "183" and ids["chair-000003"] == "chair-000003" and ids["chair_000003"] == "chair-000003-2"
    assert ids["anomaly_1"] == "anmly-1" and ids["a/b c"] == "a-b-c" and len(set(ids.values())) == 5
    assert L.export_ids(["x_1", "x-1"], previous={"x_1": "x-1"}) == {"x_1": "x-1", "x-1": "x-1-2"}
    assert [L.release_type(t) for t in ("position", "rotation", "broken", "missing", "swapped", "scale")] == [
        "position", "rotate", "damaged", "missing", "swapped", "scale"]
    assert [L.our_type(L.release_type(t)) for t in ("rotation", "broken", "scale")] == ["rotation", "broken", "scale"]
    assert L.box_problem([0, 0, 512, 512]) is None and L.box_problem([10, 10, 0, 5]) and L.box_problem([500, 0, 20, 5])


def test_frame_conversion_matches_the_release_camera():
    # our camera at azimuth a, elevation e -> the release's camera formula at azimuth -a
    for a, e in ((0.3, 0.35), (2.0, 0.5), (5.5, 0.2)):
        cam = Camera.orbit(2.0, a, e, 355.0, 256, 256)
        RT = L.release_rt(cam.world_to_camera)
        az_deg, el_deg = L.release_angles(a, e)
        ar, er = math.radians(az_deg), math.radians(el_deg)
        pos = 2.0 * np.array([math.cos(er) * math.cos(ar), math.sin(er), math.cos(er) * math.sin(ar)])
        z = pos / np.linalg.norm(pos)
        x = np.cross([0, 1, 0], z)
        x /= np.linalg.norm(x)
        pose = np.eye(4)
        pose[:3, :3] = np.stack([x, np.cross(z, x), z], axis=1)
        pose[:3, 3] = pos
        assert np.allclose(np.linalg.inv(RT), pose, atol=1e-9)
        assert np.allclose(L.opencv_world_to_camera(RT), cam.world_to_camera)
        assert np.isclose(np.linalg.det(RT[:3, :3]), 1.0)
        # a point projects to the same pixel with the release's formula as with ours
        X = np.array([[0.1, -0.2, 0.3]])
        uv, _ = cam.project(X)
        assert np.allclose(release_projection(cam.K, RT, L.to_release(X))[0], [uv[0, 1], uv[0, 0]])


# --- export, read with the official steps -----------------------------------------------------------
def test_official_loader_steps_load_every_sample(synth, exported):
    root = exported
    splits = json.loads((root / "split.json").read_text())
    assert set(splits) == {"train", "val", "test"} and all(isinstance(s, str) for v in splits.values() for s in v)
    assert len({s for v in splits.values() for s in v}) == sum(map(len, splits.values()))  # disjoint
    images = glob.glob(f"{root}/images/*/*")
    assert len(images) == len(Dataset(synth).rows())
    rng = np.random.default_rng(0)
    n = 0
    for mode in ("train", "val", "test"):
        paths = official_paths(root, mode)
        assert paths, mode
        for p in paths:
            item = official_item(root, p, rng)
            assert item is not None, p
            assert item["query"].shape == (512, 512, 3)
            q = item["query"]
            assert (q[0, 0] == 255).all() and (q[-1, -1] == 255).all() and (q < 200).any()  # white background
            n += 1
    assert n == len(images)
    for info in glob.glob(f"{root}/annotations/*/info_*.json"):
        d = json.loads(Path(info).read_text())
        assert {"2d_bbox", "IoU", "camera_parameters", "texture_id", "config"} <= set(d)
        assert d["config"]["type"] in ("position", "rotate", "damaged", "missing", "swapped")
        stem = Path(info).name[len("info_"):-len(".json")]
        new = np.asarray(Image.open(Path(info).with_name(f"mask_new_{stem}.png")))
        assert new.shape == (512, 512) and set(np.unique(new)) <= {0, 255}
        ys, xs = np.nonzero(new)  # 2d_bbox matches the mask extent (synthetic bbox = mask_new's)
        assert np.allclose(d["2d_bbox"], [xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()])
        assert Path(info).with_name(f"mask_old_{stem}.png").exists() == (d["config"]["type"] != "missing")
        assert str(d["texture_id"]) == stem.split("_")[1]


def test_reference_views_npy_covisibility_and_projection(synth, exported):
    ds = Dataset(synth)
    pairs_ok = pairs = 0
    for sid in ds.shape_ids():
        mv = exported / "shapes" / f"shape_{sid}" / "mv_images"
        pngs = sorted(mv.glob("*.png"))
        assert len(pngs) == 8 and sorted(p.name for p in mv.iterdir()) == sorted(
            f"{p.stem}{ext}" for p in pngs for ext in (".png", ".npy", ".json"))
        pts = L.to_release(shape_points(synth / "shapes" / sid))
        vis = []
        for p in pngs:
            img = np.asarray(Image.open(p))
            assert img.shape == (256, 256, 3) and (img[..., 0] == img[..., 1]).all() and (img[0, 0] == 255).all()
            d = np.load(p.with_suffix(".npy"), allow_pickle=True).item()
            assert set(d) == {"pxy", "is_visible", "xyz"}
            assert d["pxy"].dtype == np.int64 and d["pxy"].shape == (L.N_POINTS, 2)
            assert d["is_visible"].dtype == bool and d["is_visible"].shape == (L.N_POINTS,)
            assert d["xyz"].dtype == np.float64 and d["xyz"].shape == (32, 32, 3) and np.isfinite(d["xyz"]).all()
            j = json.loads(p.with_suffix(".json").read_text())
            K, RT = np.array(j["K"]), np.array(j["RT"])
            assert np.allclose(np.linalg.inv(RT), j["RT_"]) and np.allclose(RT[3], [0, 0, 0, 1])
            assert np.allclose(K, [[355, 0, 128], [0, 355, 128], [0, 0, 1]])
            # pxy: the release projection of the shape's points, within 1 px; visible ones on the object
            rc = release_projection(K, RT, pts)
            v = d["is_visible"]
            assert v.mean() > 0.15 and (np.abs(rc[v] - d["pxy"][v]) <= 1).all()
            assert ((d["pxy"][v] >= 0) & (d["pxy"][v] < 256)).all()
            gray = img[..., 0].astype(int)
            r, c = d["pxy"][v].T
            near = np.min([gray[np.clip(r + dr, 0, 255), np.clip(c + dc, 0, 255)]
                           for dr in (-1, 0, 1) for dc in (-1, 0, 1)], axis=0)
            assert (near < 230).mean() > 0.98
            # xyz: cell (r, c) projects to pixel (8r, 8c) within 1 px and sits on the object
            fg = ~np.all(d["xyz"] == -1, axis=-1)
            rr, cc = np.nonzero(fg)
            rc = release_projection(K, RT, d["xyz"][fg])
            assert fg.sum() > 30 and (np.abs(rc - np.c_[rr * 8, cc * 8]) <= 1).all()
            lo, hi = pts.min(0) - 0.03, pts.max(0) + 0.03  # release frame: y up
            assert ((d["xyz"][fg] >= lo) & (d["xyz"][fg] <= hi)).all()
            vis.append(v)
        for i in range(len(vis)):
            for k in range(i + 1, len(vis)):
                pairs += 1
                pairs_ok += int((vis[i] & vis[k]).sum() >= L.MIN_COVISIBLE)
    assert pairs_ok / pairs > 0.9, f"{pairs_ok} of {pairs} view pairs share >= 32 visible points"


# --- round trip ------------------------------------------------------------------------------------
def test_round_trip_labels_boxes_cameras_splits(synth, exported, imported):
    a, b = Dataset(synth), Dataset(imported)
    assert b.splits == a.splits
    assert verify(imported) == []
    rows_a, rows_b = {r["id"]: r for r in a.rows()}, {r["id"]: r for r in b.rows()}
    assert set(rows_a) == set(rows_b)
    s = 512 / R
    for sid, ra in rows_a.items():
        sa, sb = a.sample(sid), b.sample(sid)
        assert (sb.label, sb.meta["split"], sb.meta["shape_id"]) == (sa.label, sa.meta["split"], sa.meta["shape_id"])
        assert rows_b[sid]["anomaly_type"] == ra["anomaly_type"] and sb.meta["source"] == "looking3d-release"
        assert sb.rgb.shape == (512, 512, 3)
        if sa.label:
            assert np.abs(np.array(sb.bbox) - np.array(sa.bbox) * s).max() <= 1
            assert sb.mask_new.sum() == sa.mask_new.sum() * s * s
        ca, cb = sa.camera, sb.camera
        assert np.allclose(cb.world_to_camera, ca.world_to_camera, atol=1e-6)
        assert np.allclose(cb.K, np.diag([s, s, 1]) @ ca.K, atol=1e-4) and cb.width == 512
    for shape_id in a.shape_ids():
        ra, rb = a.reference(shape_id), b.reference(shape_id)
        assert rb.depths is None and rb.images.shape == (8, 256, 256)
        assert np.allclose(rb.world_to_camera, ra.world_to_camera, atol=1e-9)
        assert np.allclose(rb.K, np.diag([4, 4, 1]) @ ra.K)


def test_imported_dataset_stats_preview_and_trainer(imported, tmp_path):
    from datagen.dataset.preview import make_preview
    from datagen.dataset.stats import compute_stats
    from trainer.data import AnomalyDataset, collate

    st = compute_stats(imported)
    assert st["samples"] == 16 and st["reference"]["resolutions"]["query"] == {"512x512": 16}
    assert make_preview(imported, tmp_path / "p.png", n=4).is_file()
    ds = AnomalyDataset(imported, "train", views=4, resolution=64, train=True, seed=0)
    b = collate([ds[i] for i in range(len(ds))])
    assert b["refs"].shape == (len(ds), 4, 1, 64, 64) and b["points"].shape == (len(ds), 4, 8, 8, 3)
    assert b["point_valid"].any() and (b["vv_target"] >= 0).any()


def test_generator_meta_ids_types_and_collisions(tmp_path):
    src = pipeline_like(tmp_path / "ds", np.random.default_rng(1))
    out = tmp_path / "bc"
    summary = export_looking3d(src, out, query_size=256, progress=False)
    assert summary.failed == 0, summary.failures
    ids = json.loads((out / L.SHAPE_IDS).read_text())
    assert ids == {"chair_000000": "chair-000000", "anomaly_7": "anmly-7"}
    names = [Path(p).name for p in glob.glob(f"{out}/images/*/*")]
    assert len(names) == len(set(names)) == 12
    assert sum("_normal.png" in n for n in names) == 4 and sum(n.split("_")[-2].count("-") == 1 for n in names) == 2
    for n in names:
        assert n.split("_")[1] in ids.values() and ("anomaly" in n) == n.endswith("_anomaly.png")
        q = L.parse_query_name(n)
        assert q.radius == 2.5 and q.azimuth % 18 == 0 and 25 <= q.elevation <= 30
    rng = np.random.default_rng(0)
    for mode in ("train", "test"):
        for p in official_paths(out, mode):
            item = official_item(out, p, rng)
            assert item is not None and item["query"].shape == (256, 256, 3)
    words = sorted(json.loads(Path(p).read_text())["config"]["type"] for p in glob.glob(f"{out}/annotations/*/info_*"))
    assert words == sorted(["rotate", "damaged", "swapped", "scale"] * 2)
    back = tmp_path / "back"
    assert import_looking3d(out, back, progress=False).failed == 0
    a, b = Dataset(src), Dataset(back)
    assert b.splits == a.splits and b.shape_ids() == a.shape_ids()
    for r in a.rows():
        sa, sb = a.sample(r["id"]), b.sample(r["id"])
        assert sb.meta["shape_id"] == sa.meta["shape_id"] and sb.label == sa.label
        assert (sb.meta["anomaly"] or {}).get("type") == (sa.meta["anomaly"] or {}).get("type")
        assert np.allclose(sb.camera.world_to_camera, sa.camera.world_to_camera, atol=1e-6)
        assert np.isclose(sb.meta["camera"]["azimuth"], sa.meta["camera"]["azimuth"] % (2 * math.pi))
        if sa.label:
            assert np.abs(np.array(sb.bbox) - np.array(sa.bbox) * 4).max() <= 1
    # verify finds nothing, except the type "scale" where format v1 does not list it
    assert all("'scale'" in p for p in verify(back))


# --- incremental, refusals, CLI ---------------------------------------------------------------------
def _snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def test_rerun_writes_nothing_and_resumes(synth, tmp_path):
    out = tmp_path / "bc"
    export_looking3d(synth, out, progress=False)
    before = _snapshot(out)
    again = export_looking3d(synth, out, progress=False)
    assert again.done == 0 and again.skipped == 16 + 4 and _snapshot(out) == before
    # a lost image and a torn manifest line (a crash) are redone; nothing else is written
    lost = next((out / "images").glob("*/*_normal.png"))
    lost.unlink()
    man = out / L.MANIFEST
    man.write_bytes(man.read_bytes() + b'{"sample_id": "chair00')
    third = export_looking3d(synth, out, progress=False)
    assert third.done == 1 and lost.is_file() and man.read_text().endswith("\n")
    assert len(glob.glob(f"{out}/images/*/*")) == 16


def test_refuses_foreign_folder_and_bad_paths(synth, tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not a previous export"):
        export_looking3d(synth, foreign, progress=False)
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]
    with pytest.raises(InputError, match="/images/"):
        export_looking3d(synth, tmp_path / "images" / "x", progress=False)
    out = tmp_path / "bc"
    export_looking3d(synth, out, progress=False)
    with pytest.raises(InputError, match="query size"):
        export_looking3d(synth, out, query_size=256, progress=False)
    with pytest.raises(InputError, match="not a BrokenChairs"):
        import_looking3d(tmp_path / "foreign", tmp_path / "imp", progress=False)


def test_import_reports_unreadable_files_and_goes_on(exported, tmp_path):
    import shutil

    src = tmp_path / "bc"
    shutil.copytree(exported, src)
    (src / L.MANIFEST).unlink()  # a plain release: no manifest, no id map
    (src / L.SHAPE_IDS).unlink()
    bad = sorted((src / "images").glob("*/*_anomaly.png"))[0]
    bad.write_bytes(b"not a png")
    info = sorted((src / "annotations").glob("*/info_*.json"))[-1]
    info.write_text("{broken")
    view = sorted((src / "shapes").glob("*/mv_images/*.npy"))[0]
    view.write_bytes(b"junk")
    normal = sorted((src / "images").glob("*/*_normal.png"))[0]
    stranger = normal.with_name(normal.name.replace("_normal", "_x_normal").replace(normal.name.split("_")[1], "zz9"))
    shutil.copy(normal, stranger)  # a shape in no split: refused, as the official loader skips it
    out = tmp_path / "ds"
    s = import_looking3d(src, out, progress=False)
    assert s.failed == 3 and s.refused == 1 and s.by_group["sample"]["done"] == 14
    lines = (out / "failures.jsonl").read_text().splitlines()
    assert any(str(bad) in x for x in lines) and any(str(info) in x for x in lines) and any(str(view) in x for x in lines)
    ds = Dataset(out)
    assert len(ds.rows()) == 14 and all(len(ds.reference(sid).images) >= 7 for sid in ds.shape_ids())
    normal_cam = ds.sample(normal.name[len("render_"):-len(".png")]).meta["camera"]
    assert normal_cam["assumed"] is True and np.isclose(normal_cam["radius"], 2.5)
    assert verify(out) == []


def test_cli_export_and_import(synth, tmp_path):
    from datagen.cli import main

    runner = CliRunner()
    r = runner.invoke(main, ["export", "looking3d", str(synth), "--out", str(tmp_path / "bc"), "--query-size", "128",
                             "--no-progress"])
    assert r.exit_code == 0, r.output
    assert "samples: done 16" in r.output and Image.open(next((tmp_path / "bc" / "images").glob("*/*"))).size == (128, 128)
    r = runner.invoke(main, ["import", "looking3d", str(tmp_path / "bc"), "--out", str(tmp_path / "ds"), "--no-progress"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["export", "looking3d", str(synth), "--out", str(synth / "samples"), "--no-progress"])
    assert r.exit_code != 0 and "not a previous export" in r.output and "Traceback" not in r.output


# --- the real thing -------------------------------------------------------------------------------
@pytest.mark.blender
def test_end_to_end_blender_export_and_import(tmp_path):
    # Blender runs in worker subprocesses only (see tests/test_jobs_looking3d.py)
    import importlib.util

    if importlib.util.find_spec("bpy") is None:
        pytest.skip("bpy not installed")
    from datagen.config import preset
    from datagen.executors import WorkerOptions
    from datagen.generate import generate_dataset
    from datagen.jobs.looking3d import Looking3DRunner
    from datagen.shapes.procedural import generate_library

    lib = tmp_path / "lib"
    generate_library("chair", 2, lib, seed=0, progress=False)
    cfg = preset("demo", resolution=48, ref_resolution=32, samples=1, ref_views=4, normal_views=(2, 0, 2),
                 anomaly_views=(2, 0, 2), types=("rotation", "missing"), min_visible_px=40, splits=(0.5, 0.0, 0.5))
    src = tmp_path / "ds"
    summary, _ = generate_dataset(Looking3DRunner(cfg, lib, src, 0), workers=2, opts=WorkerOptions(job_timeout=300),
                                  progress=False)
    assert summary.counts["failed"] == 0, summary.failures
    out = tmp_path / "bc"
    s = export_looking3d(src, out, workers=2, progress=False)
    assert s.failed == 0, s.failures
    report = check_looking3d(out)  # every [L] / [M] requirement of the released layout, every sample and shape
    assert report.failed == 0, "\n".join(report.lines())
    rng = np.random.default_rng(0)
    n = 0
    for mode in ("train", "test"):
        for p in official_paths(out, mode):
            item = official_item(out, p, rng)
            assert item is not None and item["query"].shape == (512, 512, 3), p
            n += 1
    assert n == len(Dataset(src).rows()) and n > 0
    words = {json.loads(Path(p).read_text())["config"]["type"] for p in glob.glob(f"{out}/annotations/*/info_*")}
    assert words and words <= {"rotate", "missing"}
    for mv in (out / "shapes").glob("*/mv_images"):
        for p in mv.glob("*.png"):
            d = np.load(p.with_suffix(".npy"), allow_pickle=True).item()
            j = json.loads(p.with_suffix(".json").read_text())
            fg = ~np.all(d["xyz"] == -1, axis=-1)
            rr, cc = np.nonzero(fg)
            assert fg.sum() > 20 and (np.abs(release_projection(j["K"], j["RT"], d["xyz"][fg]) - np.c_[rr * 8, cc * 8]) <= 1).all()
            gray = np.asarray(Image.open(p))[..., 0]
            r, c = d["pxy"][d["is_visible"]].T
            assert d["is_visible"].mean() > 0.1 and (gray[r, c] < 230).mean() > 0.95
    back = tmp_path / "back"
    assert import_looking3d(out, back, progress=False).failed == 0
    assert verify(back) == []
    a, b = Dataset(src), Dataset(back)
    assert b.splits == a.splits
    for r in a.rows():
        sa, sb = a.sample(r["id"]), b.sample(r["id"])
        assert (sb.label, sb.meta["shape_id"]) == (sa.label, sa.meta["shape_id"])
        assert np.allclose(sb.camera.world_to_camera, sa.camera.world_to_camera, atol=1e-6)
        if sa.label:
            assert np.abs(np.array(sb.bbox) - np.array(sa.bbox) * 512 / 48).max() <= 1
