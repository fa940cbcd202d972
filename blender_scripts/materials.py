"""Build Blender materials (Principled BSDF node graphs) from ``datagen.spec.Material``.

- ``preset``: a procedural graph per substance (``materials.presets``), in OBJECT
  coordinates (3D solid textures): no UVs needed, no seams, and a pattern's size is in
  object units (shapes are normalized to a bbox diagonal of 1). Wood rings follow a
  grain axis; fabric weave is a 3D grid of thread bands (on any axis-aligned face two of
  its three directions show); leather is Voronoi grain cells plus noise-isoline wrinkles;
  plastic is smooth / speckled / scratched / molded; metal is brushed (anisotropic),
  polished, hammered or oxidized. ``Material.variation`` (drawn in Python, see
  ``materials.variation``) places the pattern (Mapping offsets, ring centre), so parts
  sharing a preset do not look stamped out of one image; nothing here is random.
- ``textures``: one Image Texture node per map on the object's UVs (Non-Color for
  roughness / metallic / normal / displacement), a Normal Map node (DirectX maps get
  their green channel flipped), the displacement map as a Bump height on top of it; a
  packed ARM map (``params["packed"]``) gives roughness (G) and metallic (B) through a
  Separate Color node.
- ``flat``: plain gray diffuse-ish Principled (``params`` may set ``color`` (linear RGB)
  and ``roughness``).

``needs_uv(material)`` is True only for ``textures``: the scene builder then runs Smart UV
Project on the object.

Socket names are those of Blender 5.0 (``Base Color``, ``Roughness``, ``Metallic``,
``Normal``, ``Coat Weight``, ``Sheen Weight``, ``Anisotropic``; Noise / Voronoi / Wave
outputs ``Factor`` / ``Distance``; Mix inputs looked up by identifier ``A_Color``...).
"""

from __future__ import annotations

import math
import os

import bpy
import numpy as np

from datagen.spec import Material
from materials import lod

from blender_scripts.node_graph import NodeGraph

_AXES = {"X": 0, "Y": 1, "Z": 2}


def needs_uv(material: Material | None) -> bool:
    """True when the material's graph reads UV coordinates (texture maps)."""
    return material is not None and material.kind == "textures"


# Wave texture: sin(20 * scale * x) -> one period per unit at scale 2*pi/20.
_WAVE_UNIT = 2 * math.pi / 20


def _lerp_col(a, b, t):
    return [float(x + (y - x) * t) for x, y in zip(a, b)]


def _wood(g: NodeGraph, obj, p: dict, var: dict) -> dict:
    light, dark, pore = p["palette"]
    axis = p.get("axis", "Z")
    ai = _AXES[axis]
    # ring centre perpendicular to the grain (materials.variation: near for "rings", far otherwise)
    rings = var["rings"]
    dist, ang = rings["distance"], rings["angle"]
    loc = np.zeros(3)
    others = [i for i in range(3) if i != ai]
    loc[others[0]], loc[others[1]] = dist * math.cos(ang), dist * math.sin(ang)
    loc[ai] = rings["along"]
    v = g.mapping(obj, loc=loc)
    ring = g.wave(v, p["scale"] * _WAVE_UNIT, "RINGS", axis, "SAW", p["distortion"], 3.0)
    stretch = [p["grain_scale"]] * 3
    stretch[ai] = p["grain_scale"] * 0.03
    grain = g.noise(g.mapping(obj, loc=var["offset"]["grain"], scale=stretch), 1.0, 3.0, 0.6)
    grain = g.maprange(grain, 0.35, 0.65, 0.0, 1.0)
    col = g.ramp(ring, [(0.0, light), (0.55, _lerp_col(light, dark, 0.3)), (1.0, dark)])
    col = g.mix(g.math("MULTIPLY", grain, p["grain_contrast"]), col, pore)
    rough = g.maprange(g.math("ADD", g.math("MULTIPLY", ring, 0.5), g.math("MULTIPLY", grain, 0.5)),
                       0, 1, p["roughness"][0], p["roughness"][1])
    height = g.math("ADD", g.math("MULTIPLY", ring, 0.3), g.math("MULTIPLY", grain, -0.7))
    if p["pattern"] == "planks":
        sep = g.node("ShaderNodeSeparateXYZ", {"Vector": g.mapping(obj, loc=var["offset"]["planks"])})
        names = ("X", "Y", "Z")
        comb = g.node("ShaderNodeCombineXYZ", {"X": sep.outputs[names[ai]], "Y": sep.outputs[names[others[0]]],
                                               "Z": sep.outputs[names[others[1]]]})
        w = p.get("plank_width", 0.12)
        brick = g.node("ShaderNodeTexBrick", {"Vector": comb.outputs[0], "Scale": 1.0, "Mortar Size": 0.004,
                                              "Brick Width": w * 8, "Row Height": w, "Bias": 0.0,
                                              "Color1": [0.85] * 3, "Color2": [1.0] * 3, "Mortar": [0.2] * 3},
                       offset=0.5, offset_frequency=2)
        col = g.mix(1.0, col, brick.outputs["Color"], "MULTIPLY")
        height = g.math("SUBTRACT", height, g.math("MULTIPLY", brick.outputs["Factor"], 2.0))
    return {"Base Color": col, "Roughness": rough, "height": height, "distance": 0.002,
            "Coat Weight": p.get("coat", 0.0), "Coat Roughness": 0.08}


def _fabric(g: NodeGraph, obj, p: dict, var: dict) -> dict:
    warp, weft, heather = p["palette"]
    pattern = p["pattern"]
    s = p["scale"] * (0.6 if pattern == "canvas" else 1.0)
    v = g.mapping(obj, loc=var["offset"]["weave"], scale=(s, s, s))
    if pattern == "melange":
        h = g.noise(v, 1.5, 4.0, 0.7)
        col = g.mix(h, warp, weft)
    else:
        bands = [g.wave(v, _WAVE_UNIT, "BANDS", d, "SIN") for d in ("X", "Y", "Z")]
        grid = g.math("MULTIPLY", g.math("ADD", g.math("ADD", bands[0], bands[1]), bands[2]), 1 / 3)
        if pattern == "twill":
            diag = g.wave(v, _WAVE_UNIT, "BANDS", "DIAGONAL", "SAW")
            h = g.math("ADD", g.math("MULTIPLY", grid, 0.4), g.math("MULTIPLY", diag, 0.6))
            sel = diag
        else:
            chk = g.node("ShaderNodeTexChecker", {"Vector": v, "Scale": 1.0}).outputs["Factor"]
            h = g.math("ADD", g.math("MULTIPLY", grid, 0.7), g.math("MULTIPLY", chk, 0.3))
            sel = chk
        col = g.mix(sel, warp, weft)
        col = g.mix(g.math("MULTIPLY", g.math("SUBTRACT", 1.0, grid), 0.35), col, [0.0, 0.0, 0.0], "MIX")
    fuzz = g.noise(v, 4.0, 2.0, 0.6)
    hv = g.noise(g.mapping(obj, loc=var["offset"]["heather"]), p["heather_scale"], 3.0, 0.6)
    col = g.mix(g.math("MULTIPLY", g.maprange(hv, 0.4, 0.7, 0, 1), p["heather_amount"]), col, heather)
    rough = g.maprange(h, 0, 1, p["roughness"][1], p["roughness"][0])
    height = g.math("ADD", h, g.math("MULTIPLY", fuzz, p.get("fuzz", 0.0)))
    return {"Base Color": col, "Roughness": rough, "height": height, "distance": 0.4 / s,
            "Sheen Weight": p.get("sheen", 0.5), "Sheen Roughness": 0.5}


def _leather(g: NodeGraph, obj, p: dict, var: dict) -> dict:
    base, crease, worn = p["palette"]
    s = p["scale"]
    v = g.mapping(obj, loc=var["offset"]["cells"])
    d1 = g.voronoi(v, s, "SMOOTH_F1")
    d2 = g.voronoi(v, s * 2.3, "F1")
    cells = g.math("ADD", g.maprange(d1, 0.0, 0.6, 1.0, 0.0, "SMOOTHSTEP"),
                   g.math("MULTIPLY", g.maprange(d2, 0.0, 0.6, 1.0, 0.0), 0.35))
    if p["pattern"] == "smooth":
        cells = g.math("MULTIPLY", cells, 0.6)
    n = g.noise(g.mapping(obj, loc=var["offset"]["wrinkles"]), 6.0, 4.0, 0.6, 0.3)
    ridge = g.math("ABSOLUTE", g.math("SUBTRACT", n, 0.5))
    wrinkle = g.math("MULTIPLY", g.maprange(ridge, 0.0, 0.03, 1.0, 0.0), p.get("wrinkle", 0.0))
    height = g.math("SUBTRACT", g.math("MULTIPLY", cells, 0.5), wrinkle)
    dark = g.math("ADD", g.math("MULTIPLY", g.math("SUBTRACT", 1.35, cells), 0.6), g.math("MULTIPLY", wrinkle, 0.8))
    col = g.mix(g.math("MINIMUM", dark, 1.0), base, crease)
    wear = g.noise(g.mapping(obj, loc=var["offset"]["wear"]), 3.0, 5.0, 0.6)
    wmask = g.math("MULTIPLY", g.maprange(wear, 1.0 - 0.5 * p.get("wear", 0.0) - 0.1, 1.0, 0.0, 1.0), cells)
    col = g.mix(wmask, col, worn)
    rough = g.maprange(g.math("SUBTRACT", dark, g.math("MULTIPLY", wmask, 0.5)), 0.2, 0.8,
                       p["roughness"][0], p["roughness"][1])
    return {"Base Color": col, "Roughness": rough, "height": height, "distance": 1.0 / s,
            "Coat Weight": p.get("coat", 0.0), "Coat Roughness": 0.2}


def _plastic(g: NodeGraph, obj, p: dict, var: dict) -> dict:
    base, second = p["palette"]
    s = p["scale"]
    lo, hi = p["roughness"]
    v = g.mapping(obj, loc=var["offset"]["base"])
    smudge = g.noise(v, 3.0, 3.0, 0.5)
    col = g.mix(g.maprange(smudge, 0.3, 0.7, 0.0, 0.15), base, [x * 0.75 for x in base])  # slight mottling
    rough = g.maprange(smudge, 0.3, 0.7, lo, lo + 0.3 * (hi - lo))
    height = g.math("MULTIPLY", g.noise(v, s * 2, 2.0, 0.5), 0.3)
    pattern = p["pattern"]
    if pattern == "speckle":
        d = g.voronoi(v, s, "F1")
        r = 0.1 + 0.35 * p.get("speckle_density", 0.1)
        spk = g.maprange(d, r, r + 0.05, 1.0, 0.0)
        col = g.mix(spk, base, second)
        height = g.math("ADD", height, g.math("MULTIPLY", spk, 0.3))
    elif pattern == "textured":
        height = g.maprange(g.voronoi(v, s * 1.5, "SMOOTH_F1"), 0.0, 0.7, 0.0, 1.0, "SMOOTHSTEP")
        rough = g.maprange(height, 0, 1, hi, lo + 0.5 * (hi - lo))
    if pattern == "scratched" or p.get("scratch_amount", 0.0) > 0.02:
        sv = g.mapping(obj, loc=var["offset"]["scratches"], rot=var["rotation"]["scratches"], scale=(1.0, 1.0, 250.0))
        sn = g.noise(sv, 4.0, 1.0, 0.5)
        scr = g.math("MULTIPLY", g.maprange(g.math("ABSOLUTE", g.math("SUBTRACT", sn, 0.5)), 0.0, 0.015, 1.0, 0.0),
                     p.get("scratch_amount", 0.0))
        rough = g.mixf(scr, rough, min(1.0, hi + 0.3))
        col = g.mix(g.math("MULTIPLY", scr, 0.5), col, [0.8, 0.8, 0.8])
        height = g.math("SUBTRACT", height, scr)
    if p.get("wear", 0.0) > 0.0:
        wn = g.noise(g.mapping(obj, loc=var["offset"]["wear"]), 2.0, 4.0, 0.6)
        wm = g.math("MULTIPLY", g.maprange(wn, 0.55, 0.8, 0.0, 1.0), p["wear"] * 0.3)
        col = g.mix(wm, col, [1.0, 1.0, 1.0], "SCREEN")
    return {"Base Color": col, "Roughness": rough, "height": height, "distance": 0.2 / s,
            "Coat Weight": p.get("coat", 0.0), "Coat Roughness": 0.05}


def _metal(g: NodeGraph, obj, p: dict, var: dict) -> dict:
    f0, oxide = p["palette"]
    lo, hi = p["roughness"]
    s = p["scale"]
    pattern = p["pattern"]
    ai = _AXES[p.get("axis", "Z")]
    v = g.mapping(obj, loc=var["offset"]["base"])
    out = {"Metallic": 1.0}
    if pattern == "brushed":
        st = [p["streak_stretch"]] * 3
        st[ai] = 1.0
        sv = g.mapping(obj, loc=var["offset"]["streaks"], scale=st)
        streak = g.noise(sv, 2.0, 6.0, 0.7)
        rough = g.maprange(streak, 0.3, 0.7, lo, hi)
        col = g.mix(g.maprange(streak, 0.3, 0.7, 0.0, 0.25), f0, [x * 0.8 for x in f0])
        height = streak
        out.update({"Anisotropic": p.get("anisotropy", 0.5), "Anisotropic Rotation": 0.25 if ai != 2 else 0.0})
    elif pattern == "hammered":
        d = g.voronoi(v, s, "SMOOTH_F1")
        height = g.maprange(d, 0.0, 0.7, 0.0, 1.0, "SMOOTHSTEP")
        rough = g.maprange(g.noise(v, s * 0.5, 2.0), 0.3, 0.7, lo, hi)
        col = g.mix(g.math("MULTIPLY", height, 0.2), f0, [x * 0.85 for x in f0])
    else:  # polished / oxidized: low-frequency smudges
        sm = g.noise(v, 4.0, 4.0, 0.6)
        rough = g.maprange(sm, 0.3, 0.7, lo, hi)
        col = g.mix(g.maprange(sm, 0.3, 0.7, 0.0, 0.12), f0, [x * 0.85 for x in f0])
        height = g.math("MULTIPLY", g.noise(v, s * 3, 2.0), 0.2)
    wear = p.get("wear", 0.0)
    if wear > 0.0:  # fine random scratches: rougher, slightly darker lines
        sv = g.mapping(obj, loc=var["offset"]["scratches"], rot=var["rotation"]["scratches"], scale=(1.0, 1.0, 150.0))
        sn = g.noise(sv, 6.0, 1.0, 0.5)
        scr = g.math("MULTIPLY", g.maprange(g.math("ABSOLUTE", g.math("SUBTRACT", sn, 0.5)), 0.0, 0.02, 1.0, 0.0),
                     min(1.0, 2 * wear))
        rough = g.mixf(scr, rough, min(1.0, hi + 0.25))
        col = g.mix(g.math("MULTIPLY", scr, 0.4), col, [x * 0.7 for x in f0])
        height = g.math("SUBTRACT", height, g.math("MULTIPLY", scr, 0.5))
    ox = p.get("oxidation", 0.0)
    if ox > 0.1:  # presets other than "oxidized" carry <= 0.05: no oxide
        on = g.noise(g.mapping(obj, loc=var["offset"]["oxide"]), max(2.0, s * 0.2), 6.0, 0.65, 0.4)
        t = 0.72 - 0.3 * ox  # larger oxidation -> lower threshold on the noise -> more oxide
        om = g.maprange(on, t - 0.05, t + 0.05, 0.0, 1.0)
        col = g.mix(om, col, oxide)
        out["Metallic"] = g.math("SUBTRACT", 1.0, om)
        rough = g.mixf(om, rough, 0.9)
        height = g.math("ADD", height, g.math("MULTIPLY", om, 0.5))
    out.update({"Base Color": col, "Roughness": rough, "height": height, "distance": 0.3 / s})
    return out


_BUILDERS = {"wood": _wood, "fabric": _fabric, "leather": _leather, "plastic": _plastic, "metal": _metal}


def _new_material(name: str):
    mat = bpy.data.materials.new(name)
    if not mat.node_tree:  # Blender < 5 needs use_nodes; 5.0 materials come with a tree
        mat.use_nodes = True
    mat.node_tree.nodes.clear()
    return mat


def _finish(g: NodeGraph, mat, chans: dict):
    bsdf = g.node("ShaderNodeBsdfPrincipled")
    outn = g.node("ShaderNodeOutputMaterial")
    g.tree.links.new(bsdf.outputs["BSDF"], outn.inputs["Surface"])
    height = chans.pop("height", None)
    normal = chans.pop("normal", None)
    bump = chans.pop("bump", 0.0)
    distance = chans.pop("distance", 0.01)
    for k, v in chans.items():
        g.set(bsdf.inputs[k], v)
    if height is not None and bump > 0:
        b = g.node("ShaderNodeBump", {"Strength": float(bump), "Distance": float(distance), "Height": height})
        if normal is not None:
            g.set(b.inputs["Normal"], normal)
        normal = b.outputs["Normal"]
    if normal is not None:
        g.set(bsdf.inputs["Normal"], normal)
    return mat


def _textures(g: NodeGraph, p: dict) -> dict:
    """Texture maps on the object's UVs. One Image Texture node per file (sRGB for color, Non-Color
    otherwise); a channel listed in ``p["packed"]`` (a packed ARM image: R = AO, G = roughness,
    B = metallic) reads that component through one Separate Color node per image. Without a
    metallic map the constant ``p["metallic"]`` is used."""
    maps, packed = p["maps"], p.get("packed", {})
    uv = g.node("ShaderNodeTexCoord").outputs["UV"]
    s = float(p.get("uv_scale", 1.0))
    v = g.mapping(uv, scale=(s, s, s))
    nodes: dict[str, object] = {}
    split: dict[str, object] = {}

    def image(channel):
        path = maps[channel]
        if path not in nodes:
            if not os.path.isfile(path):
                raise FileNotFoundError(f"{path}: texture map for '{channel}' not found")
            img = bpy.data.images.load(path, check_existing=True)
            if channel == "color":
                if not img.is_float:
                    img.colorspace_settings.name = "sRGB"
            else:
                img.colorspace_settings.name = "Non-Color"
            nodes[path] = g.node("ShaderNodeTexImage", {"Vector": v}, image=img)
        out = nodes[path].outputs["Color"]
        comp = packed.get(channel)
        if comp is None:
            return out
        if path not in split:
            split[path] = g.node("ShaderNodeSeparateColor", {"Color": out}, mode="RGB")
        return split[path].outputs[{"R": "Red", "G": "Green", "B": "Blue"}[comp]]

    chans = {"Base Color": image("color"), "Metallic": float(p.get("metallic", 0.0))}
    if "roughness" in maps:
        chans["Roughness"] = image("roughness")
    if "metallic" in maps:
        chans["Metallic"] = image("metallic")
    if "normal" in maps:
        c = image("normal")
        if p.get("normal_convention", "GL") == "DX":  # DirectX: Y down -> flip green
            sep = g.node("ShaderNodeSeparateColor", {"Color": c})
            c = g.node("ShaderNodeCombineColor", {"Red": sep.outputs["Red"], "Green": g.math("SUBTRACT", 1.0,
                       sep.outputs["Green"]), "Blue": sep.outputs["Blue"]}).outputs["Color"]
        chans["normal"] = g.node("ShaderNodeNormalMap", {"Color": c, "Strength": 1.0}).outputs["Normal"]
    if "displacement" in maps:
        chans["height"] = image("displacement")
        chans["bump"] = float(p.get("bump", 0.3))
        chans["distance"] = 0.01
    return chans


def build_material(material: Material | None, pixel_m: float | None = None,
                   bump_lod_px: float = 0.0) -> "bpy.types.Material":
    """Create a new ``bpy.types.Material`` for ``material`` (None = flat gray).

    Procedural patterns are placed by ``material.variation`` (drawn in Python by
    ``materials.variation.sample_variation``): nothing here is random. The Blender material
    gets custom properties ``kind`` and ``substance``. Raises ValueError for an unknown kind /
    substance or a preset without its variation, FileNotFoundError for a missing map.
    ``pixel_m`` (metres per pixel where a view sees the object largest) and ``bump_lod_px``: a
    preset drops a weak bump finer than that many pixels (``materials.lod``); the material's
    custom property ``bump_dropped`` says so.
    """
    if material is None:
        material = Material("flat", "flat", {})
    p = material.params or {}
    dropped = False
    mat = _new_material(material.name)
    g = NodeGraph(mat.node_tree)
    if material.kind == "flat":
        chans = {"Base Color": list(p.get("color", (0.5, 0.5, 0.5))), "Roughness": float(p.get("roughness", 0.5))}
    elif material.kind == "textures":
        chans = _textures(g, p)
    elif material.kind == "preset":
        sub = p.get("substance")
        if sub not in _BUILDERS:
            raise ValueError(f"material {material.name}: unknown substance {sub!r}")
        obj = g.node("ShaderNodeTexCoord").outputs["Object"]
        if not material.variation:
            raise ValueError(f"material {material.name}: a preset needs its variation (materials.variation)")
        chans = _BUILDERS[sub](g, obj, p, material.variation)
        chans.setdefault("Metallic", float(p.get("metallic", 0.0)))
        chans["bump"] = float(p.get("bump", 0.0))
        if not lod.keep_bump(p, pixel_m, bump_lod_px):
            chans["bump"] = 0.0
            dropped = True
    else:
        raise ValueError(f"material {material.name}: unknown kind {material.kind!r}")
    _finish(g, mat, chans)
    mat["kind"] = material.kind
    mat["substance"] = str(p.get("substance", ""))
    mat["bump_dropped"] = dropped
    return mat
