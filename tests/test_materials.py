"""Pure-Python tests of the materials package: presets, texture-folder loader, part priors."""

import json
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from datagen.errors import InputError
from datagen.spec import Material
from materials.assign import PART_PRIORS, assign_materials, prior_for
from materials.presets import (
    PATTERNS,
    SUBSTANCES,
    builtin_library,
    make_preset,
    read_library_json,
    write_library_json,
)
from materials.textures import classify_map, guess_substance, load_texture_material, scan_texture_library

# --- presets ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lib():
    return builtin_library()


def test_builtin_library_400_distinct_balanced(lib):
    assert len(lib) == 400
    names = [m.name for m in lib]
    assert len(set(names)) == 400
    assert names[:6] == ["wood_000", "plastic_000", "leather_000", "fabric_000", "metal_000", "wood_001"]
    params = {json.dumps(m.params, sort_keys=True) for m in lib}
    assert len(params) == 400
    counts = Counter(m.params["substance"] for m in lib)
    assert counts == {s: 80 for s in SUBSTANCES}
    # distinct also in what one sees: palette, roughness, pattern scale and bump differ pairwise
    for s in SUBSTANCES:
        pal = np.array([np.r_[np.ravel(m.params["palette"][:2]), m.params["roughness"], m.params["scale"] / 100,
                              m.params["bump"]] for m in lib if m.params["substance"] == s])
        d = np.linalg.norm(pal[:, None] - pal[None], axis=-1) + np.eye(len(pal))
        assert d.min() > 1e-3, s


def test_builtin_library_deterministic_and_prefix_stable(lib):
    again = builtin_library()
    assert [m.params for m in again] == [m.params for m in lib]
    small = builtin_library(12)
    assert [m.params for m in small] == [m.params for m in lib[:12]]
    other = builtin_library(10, seed=1)
    assert [m.params for m in other] != [m.params for m in lib[:10]]
    assert Counter(m.params["substance"] for m in builtin_library(7)) == {
        "wood": 2, "plastic": 2, "leather": 1, "fabric": 1, "metal": 1}


def test_preset_params_valid(lib):
    for m in lib:
        p = m.params
        assert m.kind == "preset" and p["version"] == 1
        assert p["pattern"] in PATTERNS[p["substance"]]
        pal = np.array(p["palette"])
        assert pal.ndim == 2 and pal.shape[1] == 3 and np.all((pal >= 0) & (pal <= 1))
        lo, hi = p["roughness"]
        assert 0 <= lo <= hi <= 1
        assert 0 <= p["metallic"] <= 1 and 0 <= p["bump"] <= 1 and p["scale"] > 0
        assert (p["metallic"] == 1.0) == (p["substance"] == "metal")
    # every pattern of every substance occurs
    for s, pats in PATTERNS.items():
        assert {m.params["pattern"] for m in lib if m.params["substance"] == s} == set(pats)


def test_make_preset_rng_and_errors():
    a = make_preset("leather", np.random.default_rng(5))
    b = make_preset("leather", np.random.default_rng(5))
    c = make_preset("leather", np.random.default_rng(6))
    assert a == b and a != c
    with pytest.raises(ValueError, match="substance"):
        make_preset("stone", np.random.default_rng(0))


def test_library_json_roundtrip(tmp_path, lib):
    path = write_library_json(tmp_path / "lib.json", n=400, seed=0)
    back = read_library_json(path)
    assert back == lib
    (tmp_path / "bad.json").write_text(json.dumps({"materials": [{"kind": "preset"}]}))
    with pytest.raises(InputError, match="bad.json"):
        read_library_json(tmp_path / "bad.json")


# --- texture folders ----------------------------------------------------------------------


def _img(path, value=128, mode="RGB"):
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = (np.random.default_rng(value).random((8, 8, 3)) * 255).astype(np.uint8)
    im = Image.fromarray(arr, "RGB").convert(mode)
    im.save(path)
    return path


def _folder(root, name, files):
    d = root / name
    for f in files:
        _img(d / f, mode="L" if "Color" not in f and "diff" not in f and "basecolor" not in f else "RGB")
    return d


def test_ambientcg_naming(tmp_path):
    d = _folder(tmp_path, "WoodFloor041", [
        "WoodFloor041_2K-JPG_Color.jpg", "WoodFloor041_2K-JPG_Roughness.jpg", "WoodFloor041_2K-JPG_NormalGL.jpg",
        "WoodFloor041_2K-JPG_NormalDX.jpg", "WoodFloor041_2K-JPG_Displacement.jpg",
        "WoodFloor041_2K-JPG_AmbientOcclusion.jpg", "WoodFloor041.png"])
    m = load_texture_material(d)
    assert m.kind == "textures" and m.name == "WoodFloor041"
    p = m.params
    assert p["substance"] == "wood" and p["naming"] == "ambientcg"
    assert set(p["maps"]) == {"color", "roughness", "normal", "displacement"}
    assert p["maps"]["normal"].endswith("_NormalGL.jpg") and p["normal_convention"] == "GL"
    assert all(v.startswith("/") for v in p["maps"].values())
    assert p["metallic"] == 0.0
    # older naming, DX only, with metalness
    d2 = _folder(tmp_path, "Metal032", ["Metal032_2K_Color.jpg", "Metal032_2K_Roughness.jpg",
                                        "Metal032_2K_NormalDX.jpg", "Metal032_2K_Metalness.jpg"])
    p2 = load_texture_material(d2).params
    assert p2["substance"] == "metal" and p2["normal_convention"] == "DX" and "metallic" in p2["maps"]
    d3 = _folder(tmp_path, "Plastic007", ["Plastic007_Color.png", "Plastic007_Roughness.png",
                                          "Plastic007_NormalGL.png"])
    assert load_texture_material(d3).params["substance"] == "plastic"


def test_polyhaven_naming(tmp_path):
    d = _folder(tmp_path, "brown_leather", ["brown_leather_diff_2k.jpg", "brown_leather_rough_2k.jpg",
                                            "brown_leather_nor_gl_2k.jpg", "brown_leather_disp_2k.png",
                                            "brown_leather_arm_2k.jpg", "brown_leather_ao_2k.jpg"])
    p = load_texture_material(d).params
    assert p["substance"] == "leather" and p["naming"] == "polyhaven" and p["normal_convention"] == "GL"
    # no separate metallic map: the packed ARM map's B channel gives it (its own roughness map stays)
    assert set(p["maps"]) == {"color", "roughness", "normal", "displacement", "metallic"}
    assert p["maps"]["metallic"].endswith("_arm_2k.jpg") and p["packed"] == {"metallic": "B"}
    d2 = _folder(tmp_path, "denim_fabric", ["denim_fabric_albedo_1k.jpg", "denim_fabric_rough_1k.jpg",
                                            "denim_fabric_nor_dx_1k.jpg", "denim_fabric_metal_1k.jpg"])
    p2 = load_texture_material(d2).params
    assert p2["substance"] == "fabric" and p2["normal_convention"] == "DX" and "metallic" in p2["maps"]


def test_adobe_photoshape_naming(tmp_path):
    d = _folder(tmp_path, "chair_cloth", [f"chair_cloth_{c}.png" for c in
                                          ("basecolor", "height", "metallic", "normal", "roughness")])
    p = load_texture_material(d).params
    assert p["naming"] == "adobe" and p["substance"] == "fabric" and p["normal_convention"] == "GL"
    assert set(p["maps"]) == {"color", "roughness", "normal", "displacement", "metallic"}
    assert p["maps"]["displacement"].endswith("_height.png")


def test_incomplete_folder_names_folder_and_channel(tmp_path):
    d = _folder(tmp_path, "Wood001", ["Wood001_Color.jpg", "Wood001_NormalGL.jpg"])
    with pytest.raises(InputError) as e:
        load_texture_material(d)
    assert "Wood001" in str(e.value) and "roughness" in str(e.value)
    d = _folder(tmp_path, "Wood002", ["Wood002_Roughness.jpg", "Wood002_NormalGL.jpg"])
    with pytest.raises(InputError, match="missing color"):
        load_texture_material(d)
    # relaxing the required channels accepts it
    d = _folder(tmp_path, "Wood003", ["Wood003_Color.jpg"])
    assert set(load_texture_material(d, required=("color",)).params["maps"]) == {"color"}


def test_ambiguous_unreadable_unknown(tmp_path):
    d = _folder(tmp_path, "Fabric010", ["Fabric010_2K_Color.jpg", "Fabric010_4K_Color.jpg",
                                        "Fabric010_2K_Roughness.jpg", "Fabric010_2K_NormalGL.jpg"])
    with pytest.raises(InputError, match="two candidate maps for channel 'color'"):
        load_texture_material(d)
    d = _folder(tmp_path, "Leather02", ["Leather02_Color.jpg", "Leather02_Roughness.jpg", "Leather02_NormalGL.jpg"])
    (d / "Leather02_Roughness.jpg").write_bytes(b"not a jpeg at all")
    with pytest.raises(InputError) as e:
        load_texture_material(d)
    assert "Leather02_Roughness.jpg" in str(e.value) and "unreadable" in str(e.value)
    d = _folder(tmp_path, "Tiles012", ["Tiles012_Color.jpg", "Tiles012_Roughness.jpg", "Tiles012_NormalGL.jpg"])
    with pytest.raises(InputError, match="substance"):
        load_texture_material(d)
    assert load_texture_material(d, substance="plastic").params["substance"] == "plastic"
    with pytest.raises(InputError, match="unknown substance"):
        load_texture_material(d, substance="stone")


def test_classify_and_guess():
    assert classify_map("Wood049_2K-JPG_NormalDX.jpg") == ("normal", "DX", "ambientcg")
    assert classify_map("oak_veneer_01_nor_gl_4k.exr")[:2] == ("normal", "GL")
    assert classify_map("x_col_2k.jpg")[0] == "color"
    assert classify_map("Wood049.png") is None
    assert classify_map("notes.txt") is None
    assert classify_map("x_AmbientOcclusion.jpg")[0] == "ignored"
    assert guess_substance("WoodFloor041") == "wood"
    assert guess_substance("PaintedMetal009") == "metal"
    assert guess_substance("fabric_pattern_07") == "fabric"
    assert guess_substance("Planks012") == "wood"
    assert guess_substance("Concrete034") is None


def test_scan_texture_library(tmp_path):
    good = ["{n}_Color.jpg", "{n}_Roughness.jpg", "{n}_NormalGL.jpg"]
    _folder(tmp_path / "lib", "Wood051", [f.format(n="Wood051") for f in good])
    _folder(tmp_path / "lib" / "nested", "Leather011", [f.format(n="Leather011") for f in good])
    _folder(tmp_path / "lib", "Metal001", ["Metal001_Color.jpg"])  # incomplete
    _folder(tmp_path / "lib", "Rock002", [f.format(n="Rock002") for f in good])  # unknown substance
    (tmp_path / "lib" / "readme.txt").write_text("not a material")
    out = scan_texture_library(tmp_path / "lib")
    assert sorted(m.name for m in out) == ["Leather011", "Wood051"]
    assert len(out.bad) == 2
    errs = " | ".join(b["error"] for b in out.bad)
    assert "Metal001" in errs and "roughness" in errs and "Rock002" in errs
    with pytest.raises(InputError):
        scan_texture_library(tmp_path / "nope")


# --- assignment ---------------------------------------------------------------------------

CHAIR = ["leg", "leg", "leg", "leg", "bar_stretcher", "seat_surface", "back_surface", "back_frame", "wheel",
         "caster_stem", "star_leg", "mystery_label"]


def test_assign_one_per_label_deterministic(lib):
    a = assign_materials(CHAIR, lib, np.random.default_rng(3))
    b = assign_materials(CHAIR, lib, np.random.default_rng(3))
    c = assign_materials(list(reversed(CHAIR)), lib, np.random.default_rng(3))
    assert set(a) == set(CHAIR) and a == b == c
    assert all(isinstance(m, Material) and m in lib for m in a.values())
    others = [assign_materials(CHAIR, lib, np.random.default_rng(s)) for s in range(5)]
    assert len({tuple(sorted((k, v.name) for k, v in o.items())) for o in others}) > 1


def test_assign_priors_respected_statistically(lib):
    rng = np.random.default_rng(0)
    n = 1500
    counts = {lab: Counter() for lab in ("leg", "seat_surface", "wheel", "caster_stem", "mystery_label")}
    for _ in range(n):
        a = assign_materials(list(counts), lib, rng)
        for lab, m in a.items():
            counts[lab][m.params["substance"]] += 1
    assert counts["wheel"] == {"plastic": n}
    assert counts["caster_stem"] == {"metal": n}
    assert set(counts["leg"]) <= {"wood", "metal", "plastic"}
    for lab in ("leg", "seat_surface", "mystery_label"):
        prior = prior_for(lab)
        tot = sum(prior.values())
        for s in SUBSTANCES:
            expect = prior.get(s, 0.0) / tot
            assert abs(counts[lab][s] / n - expect) < 0.05, (lab, s)
    assert set(counts["mystery_label"]) == set(SUBSTANCES)


def test_assign_fallbacks(lib):
    only_fabric = [m for m in lib if m.params["substance"] == "fabric"][:3]
    a = assign_materials(["wheel", "seat_surface"], only_fabric, np.random.default_rng(0))
    assert a["wheel"] in only_fabric and a["seat_surface"] in only_fabric
    assert prior_for("left_front_leg") == PART_PRIORS["leg"]
    assert prior_for("gear_body") == PART_PRIORS["gear_body"]
    with pytest.raises(ValueError):
        assign_materials(["leg"], [], np.random.default_rng(0))
