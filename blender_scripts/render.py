"""``render(spec, out_dir)``: one built scene, every camera of the spec, all passes from one render.

Per camera ``c`` (``NNNN`` = ``datagen.spec.view_name(c)``) it writes, atomically:
``NNNN.png`` (uint8 sRGB RGB over white; RGBA if transparent; L if grayscale),
``NNNN_depth.npy`` ((H, W) float32 planar camera z, metres, 0 = background) and
``NNNN_index.png`` ((H, W) uint16 ``pass_index``, 0 = background or ground), for the
passes listed in ``spec.settings.passes``.

How: the scene is built once; for each view only the camera moves. Cycles writes one
32-bit multilayer EXR per view (Combined + Depth + Object Index, the same path-traced
render) which ``exr.read_exr`` reads back. Workbench has a Depth pass but no Object Index
pass, so with the index pass requested it renders each view a second time, flat and
unlit with an object colour that encodes the index, anti-aliasing off (~10-50 ms).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import bpy

from datagen.spec import RenderRuntime, RenderSettings, SceneSpec, view_name

import blender_scripts.cameras as cameras
import blender_scripts.exr as exr
import blender_scripts.passes as passes
import blender_scripts.phases as phases
import blender_scripts.scene as scene_mod


#: ``light_tree="auto"`` turns Cycles' light tree on from this many light objects (benchmarks/RESULTS.md:
#: with one sun and the world it costs about 10 % of the path-tracing time for the same image quality).
LIGHT_TREE_MIN_LIGHTS = 4


#: RenderSettings.denoise_guides (the words of ``datagen.spec.DENOISE_GUIDES``) -> the Cycles passes
#: OIDN is given besides the noisy image.
OIDN_INPUT_PASSES = {"none": "RGB", "albedo": "RGB_ALBEDO", "albedo_normal": "RGB_ALBEDO_NORMAL"}


def _setup_device(scene, device: str) -> str:
    """Select the Cycles device; falls back to CPU with a warning. Returns the device used."""
    scene.cycles.device = "CPU"
    if device == "cpu":
        return "cpu"
    kind = device.upper()
    devs = []
    try:
        prefs = bpy.context.preferences.addons["cycles"].preferences
        prefs.compute_device_type = kind
        prefs.get_devices()
        devs = [d for d in prefs.devices if d.type == kind]
        for d in prefs.devices:
            d.use = d.type == kind
    except (KeyError, TypeError, AttributeError, RuntimeError) as e:
        print(f"warning: cannot select {kind}: {e}", file=sys.stderr)
    if not devs:
        print(f"warning: no {kind} device found; rendering on CPU", file=sys.stderr)
        return "cpu"
    scene.cycles.device = "GPU"
    return device


def configure(scene, settings: RenderSettings, n_views: int, runtime: RenderRuntime = RenderRuntime(),
              index_pass: bool = False) -> dict:
    """Engine, samples, denoiser, seed, passes and EXR output for ``settings``; device and threads from ``runtime``.
    index_pass : render Cycles' Object Index pass even if ``settings.passes`` has no index (floor exposure)."""
    r = scene.render
    info = {"engine": settings.engine}
    # white / transparent backgrounds are composited exactly in passes.color_image; "world" shows the environment
    r.film_transparent = settings.background != "world"
    r.use_persistent_data = settings.engine == "cycles" and n_views > 1
    if runtime.threads > 0:
        r.threads_mode = "FIXED"
        r.threads = int(runtime.threads)
    else:
        r.threads_mode = "AUTO"
    vl = scene.view_layers[0]
    vl.use_pass_z = "depth" in settings.passes
    if settings.engine == "cycles":
        r.engine = "CYCLES"
        c = scene.cycles
        info["device"] = _setup_device(scene, runtime.device)
        c.samples = int(settings.samples)
        c.use_adaptive_sampling = settings.adaptive_threshold > 0  # off: exactly `samples` per pixel
        if c.use_adaptive_sampling:
            c.adaptive_threshold = float(settings.adaptive_threshold)
            c.adaptive_min_samples = int(settings.adaptive_min_samples)
        c.sampling_pattern = "BLUE_NOISE" if settings.blue_noise else "TABULATED_SOBOL"
        c.seed = int(settings.seed) % (2**31)
        c.use_animated_seed = False
        c.use_denoising = settings.denoise != "none"
        if c.use_denoising:
            c.denoiser = "OPENIMAGEDENOISE"
            c.denoising_prefilter = "FAST" if settings.denoise == "oidn_fast" else "ACCURATE"
            c.denoising_input_passes = OIDN_INPUT_PASSES[settings.denoise_guides]
            c.denoising_quality = settings.denoise_quality.upper()
            c.denoising_use_gpu = runtime.device != "cpu"
        mb = int(settings.max_bounces)
        c.max_bounces = mb
        c.diffuse_bounces, c.glossy_bounces = min(4, mb), min(4, mb)
        c.transmission_bounces, c.transparent_max_bounces = min(12, mb), min(8, mb)
        c.sample_clamp_indirect = float(settings.clamp_indirect)
        c.caustics_reflective = c.caustics_refractive = bool(settings.caustics)
        vl.use_pass_object_index = "index" in settings.passes or index_pass
        n_lights = sum(1 for o in scene.objects if o.type == "LIGHT")
        c.use_light_tree = settings.light_tree == "on" or (
            settings.light_tree == "auto" and n_lights >= LIGHT_TREE_MIN_LIGHTS)
    else:
        r.engine = "BLENDER_WORKBENCH"
        sh = scene.display.shading
        sh.light = "STUDIO"
        sh.color_type = "SINGLE" if settings.grayscale else "MATERIAL"
        sh.single_color = scene_mod.GRAY
        sh.show_shadows = False
        sh.show_cavity = False
        scene.display.render_aa = "8"
    ims = r.image_settings
    ims.media_type = "MULTI_LAYER_IMAGE"
    ims.file_format = "OPEN_EXR_MULTILAYER"
    ims.color_depth = "32"
    ims.exr_codec = "NONE"  # fastest to write and to read back
    return info


def _render_exr(scene, path: Path, timings: dict) -> dict:
    """Render one view into a multilayer EXR and read it back. Adds to ``timings`` the seconds of
    Blender's render call (``"render"``), of its phases (``phases.PHASES``) and of the read-back
    (``"exr_read"``)."""
    scene.render.filepath = str(path)
    with phases.PhaseClock(timings):
        bpy.ops.render.render(write_still=True)
    t = time.perf_counter()
    chans = exr.read_exr(path)
    path.unlink()
    timings["exr_read"] = timings.get("exr_read", 0.0) + time.perf_counter() - t
    return chans


def _workbench_index(scene, built, path: Path, timings: dict) -> dict:
    """Second Workbench render: flat, unlit, object colour = encoded pass index, no AA."""
    sh = scene.display.shading
    saved = (sh.light, sh.color_type, scene.display.render_aa)
    for obj in built.objects.values():
        obj.color = passes.encode_index_color(obj.pass_index)
    sh.light, sh.color_type, scene.display.render_aa = "FLAT", "OBJECT", "OFF"
    try:
        return _render_exr(scene, path, timings)
    finally:
        sh.light, sh.color_type, scene.display.render_aa = saved


def render(spec: SceneSpec, out_dir: str | os.PathLike, spec_dir: str | os.PathLike | None = None,
           runtime: RenderRuntime = RenderRuntime()) -> list[dict]:
    """Render every camera of ``spec`` into ``out_dir`` (on ``runtime``'s device and threads).

    Resets Blender to an empty scene first (so calls do not leak into each other), builds
    the scene once and moves the camera per view. Returns one dict per camera:
    ``{"view": c, "rgb"/"depth"/"index": file path (str, for the passes requested),
    "seconds": render + read-back + write time of that view, "render_seconds": the time inside
    Blender's render call, "phases": seconds per phase (``phases.PHASES``, ``exr_read``, ``write``)}``;
    the first dict also holds
    ``"build_seconds"`` and ``"engine"``/``"device"``. Raises ``InputError`` for a missing or bad mesh.
    """
    s = spec.settings
    out = Path(out_dir)
    scene_mod.check_meshes(spec, spec_dir)
    t0 = time.perf_counter()
    scene_mod.reset()
    built = scene_mod.build(spec, spec_dir)
    scene = built.scene
    expose = s.engine == "cycles" and scene_mod.exposes_floor(s, spec.floor)
    info = configure(scene, s, len(spec.cameras), runtime, index_pass=expose)
    build_s = time.perf_counter() - t0
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".render.", dir=out))
    views = []
    try:
        for c, cam in enumerate(spec.cameras):
            t = time.perf_counter()
            cameras.apply_camera(built.camera, cam)
            tv: dict = {}
            chans = _render_exr(scene, tmp / f"{c:04d}.exr", tv)
            rgb = passes.color_image(chans, s.background, s.grayscale, expose) if "rgb" in s.passes else None
            depth = passes.depth_map(chans) if "depth" in s.passes else None
            index = None
            if "index" in s.passes:
                if s.engine == "cycles":
                    index = passes.index_map(chans)
                else:
                    index = passes.index_from_color(_workbench_index(scene, built, tmp / f"{c:04d}_index.exr", tv))
            tw = time.perf_counter()
            files = passes.write_view(out, view_name(c), rgb=rgb, depth=depth, index=index)
            tv["write"] = time.perf_counter() - tw
            views.append({"view": c, **files, "seconds": round(time.perf_counter() - t, 4),
                          "render_seconds": round(tv.get("render", 0.0), 4),
                          "phases": {k: round(v, 4) for k, v in tv.items()}})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    views[0].update({"build_seconds": round(build_s, 4), **info, **{k: round(v, 4) for k, v in built.timings.items()}})
    return views


def render_files(spec_path: str | os.PathLike, out_dir: str | os.PathLike, spec_dir=None,
                 runtime: RenderRuntime = RenderRuntime()) -> list[dict]:
    """Load a spec JSON and render it; relative mesh paths resolve against the spec's folder."""
    spec = SceneSpec.load(spec_path)
    return render(spec, out_dir, spec_dir if spec_dir is not None else Path(spec_path).resolve().parent, runtime)
