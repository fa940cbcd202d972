"""Blender test of the material graphs: render every substance (two library presets each),
one texture-folder material and the flat gray on a sphere (Cycles, 64x64, 8 spp, OIDN) in a
SUBPROCESS (bpy is never imported in the pytest process), then check the pixels."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from datagen.seeding import rng_for
from datagen.spec import Material
from materials.lod import WEAK_BUMP
from materials.presets import SUBSTANCES, builtin_library
from materials.textures import load_texture_material
from materials.variation import sample_variation

pytestmark = pytest.mark.blender
ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, sys
from datagen.spec import Material
from blender_scripts.materials import build_material, needs_uv
from blender_scripts.material_preview import render_spheres
job = json.load(open(sys.argv[1]))
items = [(Material(**m), n) for m, n in job["items"]]
info = {}
for m, n in items:  # graph checks: node kinds and what reaches the BSDF
    mat = build_material(m)
    nodes = mat.node_tree.nodes
    bsdf = next(x for x in nodes if x.bl_idname == "ShaderNodeBsdfPrincipled")
    imgs = {x.image.name: x.image.colorspace_settings.name for x in nodes if x.bl_idname == "ShaderNodeTexImage"}
    info[n] = {"types": sorted({x.bl_idname for x in nodes}), "uv": needs_uv(m), "images": imgs,
               "linked": sorted(k for k in ("Base Color", "Roughness", "Normal", "Metallic") if bsdf.inputs[k].is_linked)}
    for px, key in ((1.0, "lod_coarse"), (1e-6, "lod_fine")):  # 1 m pixels: every pattern is sub-pixel
        lm = build_material(m, pixel_m=px, bump_lod_px=3.0)
        info[n][key] = [any(x.bl_idname == "ShaderNodeBump" for x in lm.node_tree.nodes), bool(lm.get("bump_dropped"))]
render_spheres(items, job["out_dir"], 64, 8, True)
zoom = [(m, "zoom_" + n) for m, n in items]
render_spheres(zoom, job["out_dir"], 64, 8, True, lens=200.0)
json.dump(info, open(sys.argv[2], "w"))
"""


def _texture_folder(root: Path) -> Path:
    d = root / "Leather099"
    d.mkdir(parents=True)
    yy, xx = np.mgrid[0:64, 0:64]
    chk = ((xx // 8 + yy // 8) % 2).astype(np.float64)
    color = np.stack([0.2 + 0.6 * chk, 0.3 * np.ones_like(chk), 0.8 - 0.6 * chk], -1)
    Image.fromarray((color * 255).astype(np.uint8)).save(d / "Leather099_2K-JPG_Color.png")
    Image.fromarray(((0.2 + 0.6 * chk) * 255).astype(np.uint8)).save(d / "Leather099_2K-JPG_Roughness.png")
    nrm = np.stack([0.5 + 0.3 * np.sin(xx / 3), 0.5 + 0.0 * xx, np.ones_like(chk) * 0.9], -1)
    Image.fromarray((nrm * 255).astype(np.uint8)).save(d / "Leather099_2K-JPG_NormalDX.png")
    Image.fromarray((np.sin(yy / 2) * 100 + 128).astype(np.uint8)).save(d / "Leather099_2K-JPG_Displacement.png")
    return d


def _highpass_std(img: np.ndarray, mask: np.ndarray) -> float:
    g = img.mean(-1)
    pad = np.pad(g, 1, mode="edge")
    blur = sum(pad[i:i + g.shape[0], j:j + g.shape[1]] for i in range(3) for j in range(3)) / 9.0
    return float((g - blur)[mask].std())


def test_render_every_substance(tmp_path):
    lib = builtin_library(10)  # two presets per substance
    tex = load_texture_material(_texture_folder(tmp_path / "tex"))
    items = [(m, k, f"{m.name}.png") for k, m in enumerate(lib)]
    items += [(tex, 0, "texture.png"), (Material("flat", "flat", {}), 0, "flat.png")]
    job = tmp_path / "job.json"
    varied = [[dataclasses.asdict(dataclasses.replace(m, variation=sample_variation(m, rng_for("sphere", s)))), n]
              for m, s, n in items]  # the pattern placement is drawn here, in Python
    job.write_text(json.dumps({"items": varied, "out_dir": str(tmp_path)}))
    r = subprocess.run([sys.executable, "-c", CHILD, str(job), str(tmp_path / "info.json")], cwd=ROOT,
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr[-3000:]
    info = json.loads((tmp_path / "info.json").read_text())

    # graphs: presets are procedural in object space, textures read UVs with the right color spaces
    for m, _, n in items[:10]:
        assert not info[n]["uv"]
        assert {"Base Color", "Roughness", "Normal"} <= set(info[n]["linked"]), n
        assert "ShaderNodeBump" in info[n]["types"]
        # material LOD: a weak bump on a sub-pixel pattern is dropped, a strong one or a visible pattern kept
        weak = m.params["bump"] < WEAK_BUMP
        assert info[n]["lod_coarse"] == [not weak, weak], (n, m.params["bump"])
        assert info[n]["lod_fine"] == [True, False], n
    assert any(m.params["bump"] < WEAK_BUMP for m, _, _ in items[:10])
    assert any(m.params["bump"] >= WEAK_BUMP for m, _, _ in items[:10])
    t = info["texture.png"]
    assert t["uv"] and {"ShaderNodeNormalMap", "ShaderNodeSeparateColor", "ShaderNodeBump"} <= set(t["types"])
    spaces = sorted(t["images"].values())
    assert spaces == ["Non-Color", "Non-Color", "Non-Color", "sRGB"], t["images"]
    assert info["flat.png"]["linked"] == []

    def load(n):
        return np.asarray(Image.open(tmp_path / n).convert("RGB"), dtype=np.float64)

    imgs = {n: load(n) for _, _, n in items}
    zoom = {n: load("zoom_" + n) for _, _, n in items}
    yy, xx = np.mgrid[0:64, 0:64]
    mask = (xx - 31.5) ** 2 + (yy - 31.5) ** 2 < 20 ** 2  # well inside the sphere's silhouette
    full = np.ones((64, 64), bool)  # the close-up (200 mm) sees only the sphere
    # spatial variation: the high-pass std of the pixels (relative to their mean: dark materials
    # vary less in absolute terms) is well above the flat gray's (shading + noise), in the close-up
    # or on the whole sphere: a sparse pattern (oxide patches) may miss the close-up's small patch,
    # depending on where the object's variation placed it
    stats = {n: _highpass_std(zoom[n], full) / max(zoom[n].mean(), 1.0) for n in zoom}
    wide = {n: _highpass_std(imgs[n], mask) / max(imgs[n][mask].mean(), 1.0) for n in imgs}
    print({n: (round(1000 * stats[n], 2), round(1000 * wide[n], 2)) for n in stats})
    assert _highpass_std(zoom["flat.png"], full) < 1.0  # the flat close-up: smooth shading only
    for _, _, n in items[:-1]:
        assert stats[n] > 2.0 * stats["flat.png"] or wide[n] > 2.0 * wide["flat.png"], (n, stats[n], wide[n])
    # substances differ from each other (mean over 2 presets vs. 2 presets)
    by_sub = {s: [imgs[m.name + ".png"] for m in lib if m.params["substance"] == s] for s in SUBSTANCES}
    for i, a in enumerate(SUBSTANCES):
        for b in SUBSTANCES[i + 1:]:
            d = min(np.abs(x[mask] - y[mask]).mean() for x in by_sub[a] for y in by_sub[b])
            assert d > 5.0, (a, b, d)
