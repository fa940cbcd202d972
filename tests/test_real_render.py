"""Real-looking meshes render cleanly: a double-sided part, cleaned on import, renders like its
single-sided version (Workbench grayscale reference views and Cycles); flipped windings and
double-sided copies no longer make black patches; open sheets render from both sides; the
shading is smooth by angle.

Blender never runs in the pytest process: one ``blender_scripts.worker`` subprocess renders
every spec of this module (96 x 96, few samples), and the shading check runs a small bpy
script in its own subprocess.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from datagen.corrupt import corrupt
from datagen.executors.worker import WorkerHandle
from datagen.shapes.library import write_shape
from datagen.shapes.objio import write_obj
from datagen.shapes.partnet import load_partnet
from datagen.spec import Camera, RenderSettings, SceneObject, SceneSpec
from real_fixtures import box, cylinder, double_sided, flip_patch, merge, seat_sheet

W = 96
DARK = 50  # a pixel darker than this (of 255) counts as dark
pytestmark = pytest.mark.blender


def _part():
    """A chair-seat-like part: a box and a cylinder (hard edges and a curved surface)."""
    return merge(box((-0.35, -0.3, -0.25), (0.05, 0.3, 0.15)), cylinder(0.15, 0.5, 24, (0.2, 0.0, 0.0)))


def _partnet_folder(root, anno_id, v, f):
    """A PartNet annotation folder whose only leaf ``seat_surface`` is the mesh (v, f)."""
    folder = root / anno_id
    (folder / "objs").mkdir(parents=True)
    write_obj(folder / "objs" / "original-1.obj", v, f)
    tree = [{"text": "Chair", "name": "chair", "id": 0, "children": [
        {"text": "Seat Surface", "name": "seat_surface", "id": 1, "objs": ["original-1"]}]}]
    (folder / "result.json").write_text(json.dumps(tree))
    (folder / "meta.json").write_text(json.dumps({"model_cat": "Chair", "anno_id": anno_id, "model_id": "m"}))
    return folder


def _ref_cameras(n, elevation_deg=20.0):
    """Reference-view cameras (Looking 3D: 50 mm lens on 36 mm, distance 2)."""
    fx = 50.0 / 36.0 * W
    return [Camera.orbit(2.0, 2 * math.pi * i / n + 0.3, math.radians(elevation_deg), fx, W, W) for i in range(n)]


WORKBENCH = RenderSettings(engine="workbench", grayscale=True, ground=False, background="white", passes=("rgb", "depth"))
CYCLES = RenderSettings(engine="cycles", samples=8, denoise="none", grayscale=True, ground=False, background="white",
                        passes=("rgb", "depth"), seed=7)


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    root = tmp_path_factory.mktemp("real_render")
    v, f = _part()
    src = root / "partnet"
    # the same part as the importer sees it: single-sided, double-sided (copies on their own
    # vertices, like ShapeNet), double-sided on shared vertices, with flipped patches
    folders = {
        "single": _partnet_folder(src, "single", v, f),
        "double": _partnet_folder(src, "double", *double_sided(v, f)),
        "double_shared": _partnet_folder(src, "double_shared", *double_sided(v, f, shared_vertices=True)),
        "flipped": _partnet_folder(src, "flipped", *flip_patch(v, f, np.arange(0, len(f), 3))),
    }
    lib = root / "lib"
    meshes = {}
    shapes = {}
    for name, folder in folders.items():
        for clean in (True, False):
            key = f"{name}_{'clean' if clean else 'raw'}"
            shape = load_partnet(folder, clean=clean).replace(id=key)
            shapes[key] = shape
            meshes[key] = write_shape(shape, lib) / "objs" / "seat_surface_0.obj"
    # a broken corruption of the cleaned double-sided part
    broken, rec = corrupt(shapes["double_clean"], "broken", np.random.default_rng(1), part="seat_surface_0")
    meshes["broken_clean"] = write_shape(broken.replace(id="broken_clean"), lib) / "objs" / "seat_surface_0.obj"
    # an open sheet, both windings, seen from below and above
    sv, sf = seat_sheet(8, 8, (0.8, 0.7), 0.05)
    for name, faces in (("sheet_up", sf), ("sheet_down", sf[:, ::-1])):
        meshes[name] = write_obj(root / f"{name}.obj", sv, faces)

    jobs = {}
    for name, mesh in meshes.items():
        sheet = name.startswith("sheet")
        for eng, settings, n in (("wb", WORKBENCH, 4), ("cy", CYCLES, 2)):
            cams = [_ref_cameras(1, -30.0)[0], _ref_cameras(1, 30.0)[0]] if sheet else _ref_cameras(n)
            spec = SceneSpec([SceneObject("part", str(mesh), 1)], cams, settings=settings)
            path = spec.save(root / "specs" / f"{name}_{eng}.json")
            jobs[(name, eng)] = {"spec": str(path), "out": str(root / "out" / f"{name}_{eng}")}
    replies = {}
    with WorkerHandle(timeout=300, log=root / "worker.log") as w:
        for key, job in jobs.items():
            replies[key] = w.request(job)
    return {"root": root, "jobs": jobs, "replies": replies, "shapes": shapes, "broken_record": rec}


def _views(scene, name, eng):
    job = scene["jobs"][(name, eng)]
    reply = scene["replies"][(name, eng)]
    assert reply["ok"], reply.get("traceback") or reply
    out = []
    for v in reply["views"]:
        img = np.array(Image.open(v["rgb"]))
        depth = np.load(v["depth"])
        out.append((img, depth))
    assert out, job
    return out


def _dark_fraction(views) -> float:
    """Share of object pixels (depth > 0) darker than DARK."""
    obj = np.concatenate([img[depth > 0] for img, depth in views])
    return float((obj < DARK).mean())


def _mean_abs_diff(a, b) -> float:
    return float(np.mean([np.abs(x.astype(float) - y.astype(float)).mean() for (x, _), (y, _) in zip(a, b)]))


def test_dark_pixels_before_and_after_cleaning(scene):
    """Print the numbers for the note; the cleaned double-sided part is never dark."""
    rows = []
    for eng in ("wb", "cy"):
        for name in ("single_clean", "double_raw", "double_shared_raw", "flipped_raw", "double_clean", "double_shared_clean"):
            rows.append((eng, name, _dark_fraction(_views(scene, name, eng))))
    print("\ndark-pixel fraction (< 50 of 255, object pixels):")
    for eng, name, frac in rows:
        print(f"  {eng:3s} {name:22s} {frac:.4f}")
    for eng, name, frac in rows:
        if name.endswith("_clean"):
            assert frac < 0.005, (eng, name, frac)


@pytest.mark.parametrize("eng", ["wb", "cy"])
@pytest.mark.parametrize("name", ["double_clean", "double_shared_clean", "flipped_clean"])
def test_cleaned_renders_equal_single_sided(scene, eng, name):
    single = _views(scene, "single_clean", eng)
    other = _views(scene, name, eng)
    for (a, da), (b, db) in zip(single, other):
        assert ((da > 0) == (db > 0)).mean() > 0.999  # same silhouette
    assert _mean_abs_diff(single, other) < 1.0
    assert abs(_dark_fraction(single) - _dark_fraction(other)) < 0.002


def test_shading_alone_fixes_normals_in_workbench(scene):
    """Uncleaned double-sided copies on shared vertices and flipped patches: smooth-by-angle
    makes their edges sharp, so opposite normals no longer average into black (Workbench,
    the grayscale reference views). Cycles still needs the cleaning (coincident copies
    shadow each other), measured in ``test_dark_pixels_before_and_after_cleaning``."""
    single = _views(scene, "single_clean", "wb")
    for name in ("double_shared_raw", "flipped_raw"):
        views = _views(scene, name, "wb")
        assert _dark_fraction(views) < 0.01, name
        assert _mean_abs_diff(single, views) < 2.0, name
    assert _dark_fraction(_views(scene, "flipped_raw", "cy")) < 0.01


@pytest.mark.parametrize("eng", ["wb", "cy"])
def test_open_sheet_renders_from_both_sides(scene, eng):
    up = _views(scene, "sheet_up", eng)
    down = _views(scene, "sheet_down", eng)
    for (a, da), (b, db) in zip(up, down):
        assert (da > 0).sum() > 500  # seen from below (view 0) and above (view 1)
        assert np.array_equal(da > 0, db > 0)
    assert _mean_abs_diff(up, down) < 0.5  # the winding does not matter
    assert _dark_fraction(up) < 0.1


@pytest.mark.parametrize("eng", ["wb", "cy"])
def test_broken_cleaned_part_renders(scene, eng):
    assert scene["broken_record"].params["repair"] == "none"
    views = _views(scene, "broken_clean", eng)
    single = _views(scene, "single_clean", eng)
    changed = np.mean([((d1 > 0) != (d2 > 0)).mean() for (_, d1), (_, d2) in zip(views, single)])
    assert changed > 0.001  # the cut shows
    if eng == "wb":
        assert _dark_fraction(views) < 0.01


SHADING_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from blender_scripts import meshes
    out = {}
    for name, path in json.loads(sys.argv[1]).items():
        me = meshes.load_mesh(name, path)
        n = np.zeros(3 * len(me.loops)); me.corner_normals.foreach_get("vector", n)
        p = np.zeros(3 * len(me.polygons)); me.polygon_normals.foreach_get("vector", p)
        loop_face = np.repeat(np.arange(len(me.polygons)), 3)
        co = np.zeros(3 * len(me.vertices)); me.vertices.foreach_get("co", co)
        vi = np.zeros(len(me.loops), dtype=np.int64); me.loops.foreach_get("vertex_index", vi)
        out[name] = {"domain": me.normals_domain, "corner": n.reshape(-1, 3).tolist(),
                     "face": p.reshape(-1, 3)[loop_face].tolist(), "co": co.reshape(-1, 3)[vi].tolist()}
    print("RESULT" + json.dumps(out))
    """
)


def test_shading_smooth_by_angle(tmp_path):
    """Hard edges (a box's 90 degrees) stay sharp, a 24-segment cylinder's side is smooth,
    and a double-sided copy on shared vertices gets no averaged (cancelled) normals."""
    v, f = cylinder(0.2, 0.6, 24)
    files = {
        "box": write_obj(tmp_path / "box.obj", *box()),
        "cyl": write_obj(tmp_path / "cyl.obj", v, f),
        "ds": write_obj(tmp_path / "ds.obj", *double_sided(v, f, shared_vertices=True)),
    }
    r = subprocess.run([sys.executable, "-c", SHADING_SCRIPT, json.dumps({k: str(p) for k, p in files.items()})],
                       capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parents[1])
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads(r.stdout.split("RESULT", 1)[1])
    box_r = res["box"]
    assert np.allclose(box_r["corner"], box_r["face"], atol=1e-5)  # flat faces, sharp edges
    cyl = res["cyl"]
    corner, face, co = (np.asarray(cyl[k]) for k in ("corner", "face", "co"))
    side = np.abs(face[:, 2]) < 0.5  # loops of side faces
    radial = co[side] * [1, 1, 0]
    radial /= np.linalg.norm(radial, axis=1, keepdims=True)
    assert np.allclose(corner[side], radial, atol=1e-4)  # smooth: normals point along the radius
    cap = ~side
    assert np.allclose(corner[cap], face[cap], atol=1e-5)  # the caps stay flat (90 degree rims)
    ds = res["ds"]
    assert ds["domain"] != "POINT"
    assert np.allclose(np.linalg.norm(ds["corner"], axis=1), 1.0, atol=1e-4)  # nothing cancels
    assert np.allclose(ds["corner"], ds["face"], atol=1e-5)
