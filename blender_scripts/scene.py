"""Build (and reset) one Blender scene from a ``datagen.spec.SceneSpec``.

One scene per spec: objects, materials, world light, sun, optional ground and one camera
that ``render.py`` moves from view to view. ``reset()`` returns Blender to an empty
factory state between jobs, so nothing leaks from one spec into the next.

Frames: world Z-up, metres (the spec's); mesh vertices are in the object's frame and
``SceneObject.pose`` (4, 4) is world-from-mesh, applied as ``matrix_world``.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import bpy
import mathutils
import numpy as np

from datagen.errors import InputError
from datagen.spec import Lighting, RenderSettings, SceneSpec
from materials import lod

import blender_scripts.cameras as cameras
import blender_scripts.meshes as meshes

GROUND_NAME = "__ground__"
GROUND_SIZE = 200.0  # metres: the horizon stays outside the usual views
GRAY = (0.8, 0.8, 0.8)


@dataclass
class BuiltScene:
    """What ``build`` made: the Blender scene, its camera, objects by spec name, timings."""

    scene: "bpy.types.Scene"
    camera: "bpy.types.Object"
    objects: dict = field(default_factory=dict)
    ground: "bpy.types.Object | None" = None
    timings: dict = field(default_factory=dict)


def reset() -> None:
    """Empty factory state (no objects, data blocks freed): ~50 ms."""
    bpy.ops.wm.read_factory_settings(use_empty=True)


def _node_tree(idblock):
    """The shader node tree of a material/world (``use_nodes`` is deprecated in 5.0)."""
    if idblock.node_tree is None:
        idblock.use_nodes = True
    return idblock.node_tree


def _principled(name: str, color, roughness: float = 0.5) -> "bpy.types.Material":
    mat = bpy.data.materials.new(name)
    nt = _node_tree(mat)
    bsdf = next(n for n in nt.nodes if n.bl_idname == "ShaderNodeBsdfPrincipled")
    bsdf.inputs["Base Color"].default_value = (*color, 1.0)
    bsdf.inputs["Roughness"].default_value = roughness
    mat.diffuse_color = (*color, 1.0)  # what Workbench shows
    return mat


def _fallback_material() -> "bpy.types.Material":
    mat = bpy.data.materials.get("__flat_gray__")
    return mat if mat is not None else _principled("__flat_gray__", GRAY)


def _material_for(obj_spec, stats: dict, pixel_m: float | None = None,
                  bump_lod_px: float = 0.0) -> tuple["bpy.types.Material", bool]:
    """(material, needs UVs). Uses ``blender_scripts.materials`` when it exists; ``pixel_m`` and
    ``bump_lod_px``: the material level of detail (``materials.lod``)."""
    m = obj_spec.material
    if m is None or m.kind == "flat":
        return _fallback_material(), False
    try:
        import blender_scripts.materials as bmat
    except ImportError as e:
        if not stats.get("warned_materials"):
            print(f"warning: blender_scripts.materials unavailable ({e}); using flat gray", file=sys.stderr)
            stats["warned_materials"] = True
        return _fallback_material(), False
    mat = bmat.build_material(m, pixel_m, bump_lod_px)
    stats["bumps_dropped"] = stats.get("bumps_dropped", 0) + int(bool(mat.get("bump_dropped")))
    needs = bool(bmat.needs_uv(m)) if hasattr(bmat, "needs_uv") else False
    return mat, needs


def _pixel_size(me, pose, cams) -> float | None:
    """Metres per pixel on the mesh's bounding box where a camera sees it largest (None: no vertex)."""
    n = len(me.vertices)
    if n == 0 or not cams:
        return None
    co = np.empty(n * 3, dtype=np.float32)
    me.vertices.foreach_get("co", co)
    pose = np.asarray(pose, dtype=np.float64)
    world = lod.bbox_corners(co.reshape(-1, 3)) @ pose[:3, :3].T + pose[:3, 3]
    return lod.pixel_size(cams, world)


def smart_uv(obj: "bpy.types.Object", angle_limit: float = math.radians(66.0), margin: float = 0.02) -> None:
    """Smart UV Project ``obj``'s mesh (headless: operator with a context override)."""
    view_layer = bpy.context.view_layer
    for o in view_layer.objects:
        o.select_set(False)
    obj.select_set(True)
    view_layer.objects.active = obj
    with bpy.context.temp_override(active_object=obj, object=obj, selected_objects=[obj], edit_object=obj):
        bpy.ops.object.mode_set(mode="EDIT")
        bpy.ops.mesh.select_all(action="SELECT")
        bpy.ops.uv.smart_project(angle_limit=angle_limit, island_margin=margin)
        bpy.ops.object.mode_set(mode="OBJECT")
    obj.select_set(False)


def _world(lighting: Lighting, spec_dir=None) -> None:
    """Uniform world colour, or an HDR/EXR environment image (tinted by env_color, rotated about Z)."""
    world = bpy.data.worlds.new("world")
    bpy.context.scene.world = world
    nt = _node_tree(world)
    bg = next(n for n in nt.nodes if n.bl_idname == "ShaderNodeBackground")
    color = (*[float(c) for c in lighting.env_color], 1.0)
    bg.inputs["Color"].default_value = color
    bg.inputs["Strength"].default_value = float(lighting.env_strength)
    if lighting.env_map:
        path = Path(lighting.env_map)
        path = path if path.is_absolute() or spec_dir is None else Path(spec_dir) / path
        if not path.is_file():
            raise InputError(path, "environment map not found")
        tex = nt.nodes.new("ShaderNodeTexEnvironment")
        tex.image = bpy.data.images.load(str(path), check_existing=True)
        coord = nt.nodes.new("ShaderNodeTexCoord")
        mapping = nt.nodes.new("ShaderNodeMapping")
        mapping.inputs["Rotation"].default_value = (0.0, 0.0, float(lighting.env_rotation))
        nt.links.new(coord.outputs["Generated"], mapping.inputs["Vector"])
        nt.links.new(mapping.outputs["Vector"], tex.inputs["Vector"])
        tint = nt.nodes.new("ShaderNodeMix")
        tint.data_type, tint.blend_type = "RGBA", "MULTIPLY"
        sock = {x.identifier: x for x in tint.inputs}
        sock["Factor_Float"].default_value = 1.0
        nt.links.new(tex.outputs["Color"], sock["A_Color"])
        sock["B_Color"].default_value = color
        nt.links.new(next(x for x in tint.outputs if x.identifier == "Result_Color"), bg.inputs["Color"])


def _sun(lighting: Lighting) -> "bpy.types.Object":
    """Sun lamp whose light travels along -key_direction (key_direction points to the light)."""
    d = np.asarray(lighting.key_direction, dtype=np.float64)
    n = np.linalg.norm(d)
    if not n > 0:
        raise ValueError("lighting.key_direction must be non-zero")
    light = bpy.data.lights.new("sun", "SUN")
    light.energy = float(lighting.key_strength)
    light.color = tuple(float(c) for c in lighting.key_color)
    light.angle = float(lighting.key_angle)
    obj = bpy.data.objects.new("sun", light)
    # a sun shines along its local -Z: point local +Z at the light
    obj.rotation_mode = "QUATERNION"
    obj.rotation_quaternion = mathutils.Vector((d / n).tolist()).to_track_quat("Z", "Y")
    bpy.context.scene.collection.objects.link(obj)
    return obj


def exposes_floor(settings: RenderSettings, floor=None) -> bool:
    """Whether the render of a plain floor on a white background is exposed for the floor
    (``passes.floor_gain``: the object on white with soft shadows, as the Looking 3D release shows
    it). A shadow catcher would look alike but path-traces the floor's pixels twice."""
    return settings.ground and settings.background == "white" and (floor is None or floor.kind == "flat")


def _ground(settings: RenderSettings, floor=None) -> "bpy.types.Object":
    """A GROUND_SIZE m square at ``ground_z``: a shadow catcher on a transparent background, else the
    ``floor`` Material (procedural presets: object space = metres here) or a plain light gray (on a
    white background exposed white: ``exposes_floor``)."""
    h = GROUND_SIZE / 2.0
    z = float(settings.ground_z)
    v = np.array([[-h, -h, z], [h, -h, z], [h, h, z], [-h, h, z]])
    me = meshes.mesh_from_arrays(GROUND_NAME, v, np.array([[0, 1, 2], [0, 2, 3]]))
    obj = bpy.data.objects.new(GROUND_NAME, me)
    obj.pass_index = 0
    obj.color = (0.0, 0.0, 0.0, 1.0)  # index 0 in the Workbench index render
    if settings.background == "transparent":
        obj.is_shadow_catcher = True
        me.materials.append(_fallback_material())
    elif floor is not None and floor.kind != "flat":
        import blender_scripts.materials as bmat

        me.materials.append(bmat.build_material(floor))
        if bmat.needs_uv(floor):  # texture maps tile every metre
            uv = me.uv_layers.new(name="UVMap")
            loops = np.array([me.loops[i].vertex_index for i in range(len(me.loops))])
            uv.data.foreach_set("uv", (v[loops, :2] / 1.0).astype(np.float32).reshape(-1))
    else:
        me.materials.append(_principled("__floor__", GRAY, roughness=1.0))
    bpy.context.scene.collection.objects.link(obj)
    return obj


def build(spec: SceneSpec, spec_dir=None) -> BuiltScene:
    """Create every Blender object of ``spec`` in the (empty) current scene.

    Mesh paths are resolved with ``spec.resolve_mesh(obj, spec_dir)``. Raises ``InputError``
    naming the file for a missing or malformed mesh. Does not set render settings.
    """
    scene = bpy.context.scene
    t0 = time.perf_counter()
    stats: dict = {"uv_s": 0.0, "mesh_s": 0.0, "material_s": 0.0}
    built = BuiltScene(scene=scene, camera=cameras.make_camera("camera"))
    for o in spec.objects:
        path = spec.resolve_mesh(o, spec_dir)
        t = time.perf_counter()
        me = meshes.load_mesh(o.name, path)
        stats["mesh_s"] += time.perf_counter() - t
        obj = bpy.data.objects.new(o.name, me)
        obj.pass_index = int(o.pass_index)
        obj.matrix_world = mathutils.Matrix(o.pose.tolist())
        scene.collection.objects.link(obj)
        t = time.perf_counter()
        lod_px = spec.settings.bump_lod_px if o.material is not None and o.material.kind == "preset" else 0.0
        pixel_m = _pixel_size(me, o.pose, spec.cameras) if lod_px > 0 else None  # only presets have a LOD
        mat, needs_uv = _material_for(o, stats, pixel_m, lod_px)
        me.materials.append(mat)
        stats["material_s"] += time.perf_counter() - t
        if needs_uv:
            t = time.perf_counter()
            smart_uv(obj)
            stats["uv_s"] += time.perf_counter() - t
        built.objects[o.name] = obj
    _world(spec.lighting, spec_dir)
    if spec.lighting.key_strength > 0:
        _sun(spec.lighting)
    if spec.settings.ground:
        built.ground = _ground(spec.settings, spec.floor)
    stats.pop("warned_materials", None)
    stats["build_s"] = time.perf_counter() - t0
    built.timings = stats
    return built


def check_meshes(spec: SceneSpec, spec_dir=None) -> None:
    """Raise ``InputError`` for the first mesh file that does not exist (before any work)."""
    for o in spec.objects:
        p = spec.resolve_mesh(o, spec_dir)
        if not p.is_file():
            raise InputError(p, f"mesh file of object {o.name!r} not found")
