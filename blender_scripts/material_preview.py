"""A tiny preview scene for materials: one UV sphere per material under a sun and a studio-like
world, rendered with Cycles on the CPU (tests, ``benchmarks/materials_sheet.py``)."""

from __future__ import annotations

import math
import os

import bpy

from blender_scripts.materials import build_material
from blender_scripts.node_graph import NodeGraph


def render_spheres(items, out_dir, size: int = 96, samples: int = 16, denoise: bool = True,
                   lens: float = 50.0) -> list[str]:
    """Render each (Material, file name) on a UV sphere of radius 0.3 (object units),
    camera at distance 1 (36 mm sensor; ``lens`` 50 mm shows the whole sphere, 200 mm a
    close-up patch of about 0.15 units), sun + gray world, Cycles CPU; returns the PNG paths
    (8-bit RGB, ``size`` x ``size``). Resets Blender to an empty factory scene first."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    bpy.ops.mesh.primitive_uv_sphere_add(segments=64, ring_count=32, radius=0.3)
    sphere = bpy.context.active_object
    bpy.ops.object.shade_smooth()
    cam_data = bpy.data.cameras.new("cam")
    cam_data.lens, cam_data.sensor_width = float(lens), 36.0
    cam = bpy.data.objects.new("cam", cam_data)
    scene.collection.objects.link(cam)
    cam.location = (0.0, -0.95, 0.3)
    cam.rotation_euler = (math.atan2(0.95, 0.3), 0.0, 0.0)
    scene.camera = cam
    sun = bpy.data.objects.new("sun", bpy.data.lights.new("sun", "SUN"))
    sun.data.energy = 3.0
    sun.data.angle = 0.2
    sun.rotation_euler = (math.radians(40), math.radians(20), math.radians(-30))
    scene.collection.objects.link(sun)
    world = bpy.data.worlds.new("world")
    scene.world = world
    world.color = (0.3, 0.3, 0.3)
    if world.node_tree is None:
        world.use_nodes = True
    bg = next(n for n in world.node_tree.nodes if n.type == "BACKGROUND")
    wg = NodeGraph(world.node_tree)  # a studio-like environment: dark floor, bright horizon, blue-gray sky,
    direc = wg.node("ShaderNodeTexCoord").outputs["Generated"]  # so metals have something to reflect
    zc = wg.node("ShaderNodeSeparateXYZ", {"Vector": direc}).outputs["Z"]
    band = wg.node("ShaderNodeTexWave", {"Vector": direc, "Scale": 0.6}, wave_type="BANDS", bands_direction="X")
    sky = wg.ramp(wg.maprange(zc, -0.3, 0.6, 0.0, 1.0),
                  [(0.0, (0.08, 0.07, 0.06)), (0.45, (0.25, 0.24, 0.22)), (0.5, (0.9, 0.9, 0.88)),
                   (1.0, (0.35, 0.42, 0.55))])
    wg.set(bg.inputs["Color"], wg.mix(wg.math("MULTIPLY", band.outputs["Factor"], 0.5), sky, (0.1, 0.1, 0.1), "MULTIPLY"))
    bg.inputs["Strength"].default_value = 1.0
    world.cycles.sampling_method = "MANUAL"  # a small importance map: cheap to build for tiny renders
    world.cycles.sample_map_resolution = 64
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = samples
    scene.cycles.use_denoising = denoise
    scene.cycles.seed = 0
    scene.render.resolution_x = scene.render.resolution_y = size
    scene.render.resolution_percentage = 100
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGB"
    scene.view_settings.view_transform = "Standard"
    paths = []
    for material, name in items:
        mat = build_material(material)
        sphere.data.materials.clear()
        sphere.data.materials.append(mat)
        path = os.path.join(out_dir, name)
        scene.render.filepath = path
        bpy.ops.render.render(write_still=True)
        paths.append(path)
        bpy.data.materials.remove(mat)
    return paths
