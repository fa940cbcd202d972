"""Blender render core: geometry of the renders against the spec cameras, passes, worker.

Blender never runs in the pytest process: one ``blender_scripts.worker`` subprocess renders
every spec of this module (64x64, few samples). The pure-numpy helpers of
``blender_scripts.passes`` and ``blender_scripts.exr`` are tested directly.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import trimesh
from PIL import Image

from blender_scripts import passes
from datagen.executors.worker import WorkerHandle
from datagen.shapes.objio import write_obj
from datagen.spec import Camera, Lighting, RenderSettings, SceneObject, SceneSpec

SIZE = 64
FX = 80.0


def _meshes():
    box = trimesh.creation.box((0.4, 0.4, 0.4))
    box.apply_translation((-0.3, 0.0, 0.2))
    sph = trimesh.creation.icosphere(3, radius=0.2)
    sph.apply_translation((0.3, 0.1, 0.2))
    return {1: box, 2: sph}


def _cameras():
    orbit = [Camera.orbit(2.0, math.radians(a), math.radians(25), FX, SIZE, SIZE, target=(0, 0, 0.2)) for a in (30, 150)]
    # off-centre principal point and a non-square image: checks shift_x/shift_y signs
    K = np.array([[70.0, 0.0, 44.0], [0.0, 70.0, 20.0], [0.0, 0.0, 1.0]])
    return orbit + [Camera(K, orbit[0].world_to_camera, 80, 48)]


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """Write meshes and specs, render them all in one worker, return paths and replies."""
    root = tmp_path_factory.mktemp("render")
    meshes = _meshes()
    names = {1: "box", 2: "sphere"}
    for k, m in meshes.items():
        write_obj(root / f"{names[k]}.obj", m.vertices, m.faces)
    objs = [SceneObject(names[k], f"{names[k]}.obj", k) for k in meshes]  # relative to the spec folder
    cams = _cameras()
    specs = {
        "cycles": RenderSettings(samples=4, denoise="none", ground=False),
        "gray": RenderSettings(engine="workbench", grayscale=True, ground=False),
        "transparent": RenderSettings(samples=4, denoise="oidn_fast", ground=False, background="transparent"),
        # also exercises the brokenchairs-style knobs: adaptive sampling, OIDN quality, light paths
        "ground": RenderSettings(samples=8, denoise="oidn_fast", ground=True, ground_z=0.0, adaptive_threshold=0.05,
                                 adaptive_min_samples=2, denoise_quality="balanced", max_bounces=4, clamp_indirect=5.0,
                                 caustics=False),
        # dim light (the low end of the brokenchairs ranges): a gray floor would show gray here
        "dim_ground": RenderSettings(samples=4, denoise="oidn_fast", ground=True),
    }
    dim = Lighting(env_strength=0.35, key_strength=1.5, key_direction=(0.6, -0.6, 0.53))
    jobs = {}
    for name, settings in specs.items():
        path = SceneSpec(objs, cams if "ground" not in name else cams[:1], dim if name == "dim_ground" else Lighting(),
                         settings=settings).save(root / f"{name}.json")
        jobs[name] = {"spec": str(path), "out": str(root / name)}
    bad = SceneSpec([SceneObject("ghost", "missing_mesh.obj", 1)], cams[:1]).save(root / "bad.json")
    replies = {}
    with WorkerHandle(timeout=300, log=root / "worker.log") as w:
        replies["ping"] = w.request({"cmd": "ping"})
        for name in ("cycles", "bad_missing", "gray", "transparent", "ground", "dim_ground"):
            job = jobs.get(name, {"spec": str(bad), "out": str(root / "bad")})
            replies[name] = w.request(job)
        starts = w.starts
    return {"root": root, "meshes": meshes, "cams": cams, "replies": replies, "starts": starts}


def _far_from(mask: np.ndarray, px: int = 2) -> np.ndarray:
    """Pixels more than ``px`` pixels (chessboard distance) from any ``mask`` pixel."""
    grown = mask.copy()
    for _ in range(px):
        g = grown.copy()
        g[1:] |= grown[:-1]
        g[:-1] |= grown[1:]
        g[:, 1:] |= grown[:, :-1]
        g[:, :-1] |= grown[:, 1:]
        g[1:, 1:] |= grown[:-1, :-1]
        g[:-1, :-1] |= grown[1:, 1:]
        g[1:, :-1] |= grown[:-1, 1:]
        g[:-1, 1:] |= grown[1:, :-1]
        grown = g
    return ~grown


def _load(scene, name, c):
    d = scene["root"] / name
    img = np.array(Image.open(d / f"{c:04d}.png"))
    depth = np.load(d / f"{c:04d}_depth.npy")
    index = np.array(Image.open(d / f"{c:04d}_index.png"))
    return img, depth, index


# --- pure helpers (no Blender) ---------------------------------------------------------


def test_srgb_encode_endpoints_and_midpoint():
    out = passes.srgb_encode(np.array([0.0, 1.0, 2.0, -1.0, 0.21586]))
    assert out.tolist() == [0, 255, 255, 0, 128]  # linear 0.21586 is sRGB 128/255


def test_index_colour_roundtrip():
    idx = np.array([[0, 1, 255], [256, 4097, 65535]])
    r = np.zeros(idx.shape, np.float32)
    g = np.zeros(idx.shape, np.float32)
    for (i, j), v in np.ndenumerate(idx):
        r[i, j], g[i, j], _, _ = passes.encode_index_color(int(v))
    # Workbench stores half floats: make sure the code survives that quantization
    chans = {"V.Combined.R": r.astype(np.float16), "V.Combined.G": g.astype(np.float16), "V.Combined.A": np.ones(idx.shape, np.float16)}
    assert (passes.index_from_color(chans) == idx).all()


def test_color_image_white_over_and_transparent():
    H, W = 2, 2
    a = np.array([[0.0, 1.0], [0.5, 0.0]], np.float32)
    chans = {f"L.Combined.{c}": a * 0.5 for c in "RGB"}
    chans["L.Combined.A"] = a
    white = passes.color_image(chans, "white", grayscale=False)
    assert white.shape == (H, W, 3) and (white[0, 0] == 255).all() and (white[1, 1] == 255).all()
    rgba = passes.color_image(chans, "transparent", grayscale=False)
    assert rgba.shape == (H, W, 4) and rgba[0, 0, 3] == 0 and rgba[0, 1, 3] == 255
    assert rgba[0, 1, 0] == rgba[1, 0, 0]  # straight alpha: same colour at half coverage
    assert passes.color_image(chans, "white", grayscale=True).shape == (H, W)


def test_floor_exposure_makes_the_lit_floor_white_and_keeps_its_shadows():
    """A dim warm-lit gray floor (0.2, 0.15, 0.1 linear), a shadow on it at 40 %, an object, sky above:
    exposed for the floor, the lit floor is (255, 255, 255), the shadow keeps its 40 % (in linear), the
    object takes the same gain, the sky stays white; without the exposure the floor is dark."""
    H, W = 10, 10
    lit = np.array([0.2, 0.15, 0.1], np.float32)
    rgb = np.broadcast_to(lit, (H, W, 3)).copy()
    alpha = np.ones((H, W), np.float32)
    index = np.zeros((H, W), np.float32)
    rgb[:2] = 0.0
    alpha[:2] = 0.0  # sky (film transparent above the horizon)
    rgb[5:7, 0:3] = 0.4 * lit  # a shadow
    rgb[3:5, 5:8] = [0.1, 0.1, 0.1]  # the object
    index[3:5, 5:8] = 1
    assert np.allclose(passes.floor_gain(rgb, alpha, index), 1.0 / lit)
    chans = {f"L.Combined.{c}": rgb[..., k] for k, c in enumerate("RGB")}
    chans.update({"L.Combined.A": alpha, "L.Object Index.X": index})
    img = passes.color_image(chans, "white", grayscale=False, expose_floor=True)
    assert (img[9, 9] == 255).all() and (img[0, 0] == 255).all()
    assert (img[5, 0] == passes.srgb_encode(np.full(3, 0.4))).all()
    assert (img[3, 5] == passes.srgb_encode(0.1 / lit)).all()
    assert (passes.color_image(chans, "white", grayscale=False)[9, 9] == passes.srgb_encode(lit)).all()
    # too little floor (here: none) sets no exposure
    assert (passes.floor_gain(rgb, alpha, np.ones((H, W))) == 1).all()


# --- renders ----------------------------------------------------------------------------


@pytest.mark.blender
def test_worker_replies(scene):
    r = scene["replies"]
    assert r["ping"]["ok"] and r["ping"]["pong"]
    for name in ("cycles", "gray", "transparent", "ground"):
        assert r[name]["ok"], r[name].get("traceback")
        assert r[name]["rss_mb"] > 0 and r[name]["seconds"] > 0
    assert len(r["cycles"]["views"]) == 3 and len(r["ground"]["views"]) == 1


@pytest.mark.blender
def test_views_report_where_the_time_went(scene):
    """Each view's phases: Cycles path tracing is measured and the phases add up to the render call."""
    for name in ("cycles", "gray"):
        for v in scene["replies"][name]["views"]:
            ph = v["phases"]
            inside = sum(ph.get(k, 0.0) for k in ("sync", "update", "bvh", "kernels", "sampling", "denoise", "save", "other"))
            assert ph["render"] == pytest.approx(v["render_seconds"], abs=1e-3)
            assert inside == pytest.approx(ph["render"], rel=0.02, abs=2e-3)
            assert ph["render"] + ph["exr_read"] + ph["write"] <= v["seconds"] + 2e-3
    assert all(v["phases"].get("sampling", 0) > 0 for v in scene["replies"]["cycles"]["views"])
    assert all("sampling" not in v["phases"] for v in scene["replies"]["gray"]["views"])  # Workbench: no status strings


def test_render_status_strings_map_to_phases():
    from blender_scripts.phases import classify

    assert classify("Mem: 0M | Synchronizing object | Cube") == "sync"
    assert classify("Mem: 1M | Updating Scene BVH | Building BVH 0%") == "bvh"
    assert classify("Mem: 1M | Updating Mesh | Computing attributes") == "update"
    assert classify("Mem: 1M | Loading render kernels (may take a few minutes the first time)") == "kernels"
    assert classify("Remaining: 00:00.02 | Mem: 2M | Sample 1/16") == "sampling"
    assert classify("Mem: 2M | Denoising") == "denoise"
    assert classify("Mem: 2M | Finished") == "save"
    assert classify("Time: 00:00.27 (Saving: 00:00.11)") == "other"


@pytest.mark.blender
def test_worker_survives_missing_mesh(scene):
    bad = scene["replies"]["bad_missing"]
    assert bad["ok"] is False
    assert "missing_mesh.obj" in bad["error"] and "\n" not in bad["error"]
    assert scene["replies"]["gray"]["ok"]  # the next job still renders
    assert scene["starts"] == 1  # in the same worker process


@pytest.mark.blender
def test_projected_centres_land_on_their_index(scene):
    for c, cam in enumerate(scene["cams"]):
        img, depth, index = _load(scene, "cycles", c)
        assert index.shape == (cam.height, cam.width) and index.dtype == np.uint16
        assert img.shape == (cam.height, cam.width, 3)
        for k, mesh in scene["meshes"].items():
            uv, z = cam.project(mesh.centroid[None])
            j, i = np.floor(uv[0]).astype(int)
            assert index[i, j] == k, f"camera {c}: centre of object {k} at {uv[0]} shows index {index[i, j]}"


@pytest.mark.blender
def test_index_pixels_inside_projected_bounds(scene):
    """Every pixel of object k lies inside the projection of k's vertices (1 px slack)."""
    for c, cam in enumerate(scene["cams"]):
        _, _, index = _load(scene, "cycles", c)
        for k, mesh in scene["meshes"].items():
            uv, _ = cam.project(mesh.vertices)
            ii, jj = np.nonzero(index == k)
            assert len(ii) > 20
            centres = np.stack([jj + 0.5, ii + 0.5], -1)
            assert (centres >= uv.min(0) - 1).all() and (centres <= uv.max(0) + 1).all()
            # and the mask fills most of that box (no shift/flip): half a box at least
            lo, hi = np.floor(uv.min(0)).astype(int), np.ceil(uv.max(0)).astype(int)
            assert len(ii) > 0.3 * (hi - lo).prod()


@pytest.mark.blender
def test_depth_backprojects_onto_mesh(scene):
    for c, cam in enumerate(scene["cams"]):
        _, depth, index = _load(scene, "cycles", c)
        assert depth.dtype == np.float32
        points = cam.backproject(depth)
        for k, mesh in scene["meshes"].items():
            pts = points[index == k]
            assert np.isfinite(pts).all()
            _, dist, _ = trimesh.proximity.closest_point(mesh, pts)
            assert dist.max() < 0.01 and np.median(dist) < 1e-3, (c, k, dist.max())


@pytest.mark.blender
def test_depth_zero_exactly_on_background(scene):
    for c in range(len(scene["cams"])):
        img, depth, index = _load(scene, "cycles", c)
        assert ((depth == 0) == (index == 0)).all()  # no ground: background is everything else
        # exactly white away from the anti-aliased silhouettes (the pixel filter is 1.5 px wide)
        assert (img[_far_from(depth > 0)] == 255).all()
        assert (img[depth == 0] >= 128).all()


@pytest.mark.blender
def test_second_camera_is_a_different_view(scene):
    a, _, ia = _load(scene, "cycles", 0)
    b, _, ib = _load(scene, "cycles", 1)
    assert (ia != ib).mean() > 0.05
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 2.0


@pytest.mark.blender
def test_workbench_grayscale(scene):
    for c in range(len(scene["cams"])):
        img, depth, index = _load(scene, "gray", c)
        _, depth_c, index_c = _load(scene, "cycles", c)
        assert img.ndim == 2 and img.dtype == np.uint8
        assert (img[_far_from(index > 0)] == 255).all()
        assert img[index > 0].mean() < 200
        assert (index == index_c).mean() > 0.99  # same geometry, Workbench's own index render
        both = (depth > 0) & (depth_c > 0)
        assert np.abs(depth[both] - depth_c[both]).max() < 1e-3


@pytest.mark.blender
def test_transparent_background(scene):
    for c in range(len(scene["cams"])):
        img, depth, index = _load(scene, "transparent", c)
        assert img.ndim == 3 and img.shape[2] == 4
        alpha = img[..., 3]
        assert (alpha[_far_from(depth > 0)] == 0).all()
        assert (alpha[depth == 0] < 200).all()
        inner = _far_from(index == 0)  # object pixels 2+ px from the silhouette are opaque
        assert inner.sum() > 50
        assert (alpha[inner] == 255).all()


@pytest.mark.blender
def test_ground_has_depth_but_index_zero(scene):
    cam = scene["cams"][0]
    img, depth, index = _load(scene, "ground", 0)
    ground = (index == 0) & (depth > 0)
    assert ground.mean() > 0.3
    z = cam.backproject(depth)[ground][:, 2]
    assert np.abs(z).max() < 1e-3  # on the plane z = ground_z = 0
    _, _, index_free = _load(scene, "cycles", 0)
    assert (index == index_free).all()  # the floor does not change the objects' index


@pytest.mark.blender
def test_ground_on_white_is_exposed_white(scene):
    """White background + plain ground under dim light: the floor shows as white, darker only in the
    objects' shadows (the Looking 3D release look; the official model's mask calls gray < 230 object),
    not a gray plane."""
    img, depth, index = _load(scene, "dim_ground", 0)
    gray = img[..., :3].astype(float) @ [0.2989, 0.587, 0.114]
    floor = _far_from(index > 0, 3)
    assert floor.mean() > 0.3 and (depth[floor] > 0).all()  # the floor is there (depth) ...
    assert (gray[floor] >= 230).mean() > 0.7  # ... white where lit
    assert (gray[floor] < 200).sum() > 20  # and the shadows stay


@pytest.mark.blender
def test_worker_exits_at_once_and_leaves_no_temp_folder(scene, tmp_path):
    """After ``exit`` the worker skips Blender's teardown (os._exit) but still removes the session
    temporary folder Blender made, and its exit status is 0."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    job = {"spec": str(scene["root"] / "cycles.json"), "out": str(tmp_path / "out")}
    lines = "\n".join(json.dumps(r) for r in ({"cmd": "ping"}, job, {"cmd": "exit"})) + "\n"
    env = {**os.environ, "TMPDIR": str(tmp)}
    p = subprocess.run([sys.executable, "-m", "blender_scripts.worker"], input=lines, capture_output=True,
                       text=True, env=env, timeout=300)
    replies = [json.loads(x) for x in p.stdout.splitlines()]
    assert p.returncode == 0, p.stderr[-2000:]
    assert [r["ok"] for r in replies] == [True, True, True] and replies[-1]["bye"]
    assert (tmp_path / "out" / "0002.png").is_file()
    assert list(tmp.iterdir()) == []  # Blender's blender_XXXXXX session folder is gone


@pytest.mark.slow
@pytest.mark.blender
def test_worker_memory_flat_over_50_jobs(scene):
    """Resetting between jobs must not leak: RSS after 50 jobs stays within 150 MB of job 5."""
    job = {"spec": str(scene["root"] / "cycles.json"), "out": str(scene["root"] / "rss")}
    rss = []
    with WorkerHandle(timeout=300) as w:
        for _ in range(50):
            r = w.request(job)
            assert r["ok"], r.get("traceback")
            rss.append(r["rss_mb"])
        assert w.starts == 1
    print("rss_mb over 50 jobs:", rss[0], rss[4], rss[-1], "max", max(rss))
    assert rss[-1] - rss[4] < 150


def test_render_settings_validate_new_fields():
    s = RenderSettings(samples=128, adaptive_threshold=0.013, adaptive_min_samples=4, max_bounces=4)
    back = SceneSpec.from_json(SceneSpec([], _cameras()[:1], settings=s).to_json()).settings
    assert back == s
    s2 = RenderSettings(light_tree="on", denoise_guides="albedo_normal")
    assert SceneSpec.from_json(SceneSpec([], _cameras()[:1], settings=s2).to_json()).settings == s2
    for bad in ({"denoise_quality": "ultra"}, {"max_bounces": -1}, {"clamp_indirect": -1.0},
                {"adaptive_threshold": 2.0}, {"samples": 0}, {"seed": -1}, {"light_tree": "maybe"},
                {"denoise_guides": "depth"}):
        with pytest.raises(ValueError):
            RenderSettings(**bad)
    # a minimum above the maximum is lowered to it (one clamp, here), so replace(samples=1) stays valid
    assert RenderSettings(samples=8, adaptive_min_samples=16).adaptive_min_samples == 8


@pytest.mark.blender
def test_light_tree_and_denoise_guides_reach_cycles():
    """auto: no light tree with one sun, on from LIGHT_TREE_MIN_LIGHTS lights; guides map to Cycles passes."""
    code = """
import bpy, json
from datagen.spec import RenderSettings
from blender_scripts import render, scene
scene.reset()
sc = bpy.context.scene
sc.collection.objects.link(bpy.data.objects.new("sun", bpy.data.lights.new("sun", "SUN")))
out = {}
for lt, guides in (("auto", "albedo"), ("on", "none"), ("off", "albedo_normal")):
    render.configure(sc, RenderSettings(light_tree=lt, denoise_guides=guides), 1)
    out[lt] = [sc.cycles.use_light_tree, sc.cycles.denoising_input_passes]
for k in range(render.LIGHT_TREE_MIN_LIGHTS):
    sc.collection.objects.link(bpy.data.objects.new(f"l{k}", bpy.data.lights.new(f"l{k}", "POINT")))
render.configure(sc, RenderSettings(), 1)
out["many"] = sc.cycles.use_light_tree
print("RESULT" + json.dumps(out))
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    line = next((l for l in r.stdout.splitlines() if l.startswith("RESULT")), None)
    assert line, r.stderr[-2000:]
    got = json.loads(line[6:])
    assert got["auto"] == [False, "RGB_ALBEDO"] and got["on"] == [True, "RGB"]
    assert got["off"] == [False, "RGB_ALBEDO_NORMAL"] and got["many"] is True
