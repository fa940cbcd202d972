"""Real materials in ``generate`` / ``scenes``: texture folders (every naming, packed ARM maps, substance
mapping file, broken folders), the mix of folder and procedural materials, part priors on texture
materials, configs without a folder unchanged, the CLI report; two Blender checks in subprocesses."""

import importlib.util
import json
import math
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from datagen.config import GenConfig, load_config, preset
from datagen.errors import InputError, Refused
from datagen.jobs.looking3d import Looking3DRunner
from datagen.scene_config import ScenesConfig, scenes_preset
from datagen.shapes.procedural import generate_library
from materials.assign import assign_materials, by_substance, prior_for
from materials.library import MaterialLibrary, run_library
from materials.presets import SUBSTANCES, builtin_library, substance_of
from materials.textures import read_substance_map, scan_texture_library

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("fake_worker", HERE / "fake_worker.py")
fake_worker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fake_worker)


class FakeRenderer:
    def render(self, spec_path, out_dir):
        return {"ok": True, "views": fake_worker.render(spec_path, out_dir)}


# --- texture folders made here: a few pixels each --------------------------------------------------
def _save(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr.astype(np.uint8)).save(path)


def _rgb(seed: int, n: int = 8) -> np.ndarray:
    return (np.random.default_rng(seed).random((n, n, 3)) * 255).astype(np.uint8)


def _gray(seed: int, n: int = 8) -> np.ndarray:
    return (np.random.default_rng(seed).random((n, n)) * 255).astype(np.uint8)


def make_library(root: Path) -> Path:
    """One folder per naming scheme and case:

    - ambientCG ``WoodFloor041`` (Color, Roughness, NormalGL; no metalness) and ``Metal032`` (with Metalness);
    - Poly Haven ``brown_leather`` (diff, nor_gl, a packed arm: no separate rough / metal map) and
      ``denim_fabric`` (diff, rough, nor_gl: no metalness);
    - Adobe / PhotoShape ``oak_panel`` (basecolor, roughness, normal, metallic, height);
    - ``Tiles012`` (a name that says no substance) set to plastic by ``substances.json``;
    - ``Broken001`` (no colour map): reported and skipped.
    """
    amb = root / "ambientcg"
    for name, extra in (("WoodFloor041", ()), ("Metal032", ("Metalness",))):
        _save(amb / name / f"{name}_2K-JPG_Color.jpg", _rgb(1))
        for ch in ("Roughness", "NormalGL") + extra:
            _save(amb / name / f"{name}_2K-JPG_{ch}.jpg", _gray(2))
    ph = root / "polyhaven"
    _save(ph / "brown_leather" / "brown_leather_diff_1k.jpg", _rgb(3))
    _save(ph / "brown_leather" / "brown_leather_nor_gl_1k.jpg", _rgb(4))
    _save(ph / "brown_leather" / "brown_leather_arm_1k.jpg", _rgb(5))
    _save(ph / "denim_fabric" / "denim_fabric_diff_1k.jpg", _rgb(6))
    _save(ph / "denim_fabric" / "denim_fabric_rough_1k.jpg", _gray(7))
    _save(ph / "denim_fabric" / "denim_fabric_nor_gl_1k.jpg", _rgb(8))
    for ch in ("basecolor", "roughness", "normal", "metallic", "height"):
        _save(root / "adobe" / "oak_panel" / f"oak_panel_{ch}.png", _rgb(9) if ch in ("basecolor", "normal") else _gray(9))
    for ch in ("Color", "Roughness", "NormalGL"):
        _save(root / "Tiles012" / f"Tiles012_{ch}.png", _rgb(10) if ch == "Color" else _gray(10))
    for ch in ("Roughness", "NormalGL"):
        _save(root / "Broken001" / f"Broken001_{ch}.png", _gray(11))
    (root / "substances.json").write_text(json.dumps({"Tiles012": "plastic"}))
    return root


@pytest.fixture(scope="module")
def texlib(tmp_path_factory):
    return make_library(tmp_path_factory.mktemp("textures"))


@pytest.fixture(scope="module")
def chairs(tmp_path_factory):
    root = tmp_path_factory.mktemp("chairs")
    generate_library("chair", 2, root, seed=0, progress=False)
    return root


def test_every_naming_arm_and_report(texlib):
    lib = run_library(10, 0, texlib)
    assert isinstance(lib, MaterialLibrary) and lib.mix == 1.0 and lib.presets == [] and list(lib) == lib.textures
    by_name = {m.name: m for m in lib.textures}
    assert sorted(by_name) == ["Metal032", "Tiles012", "WoodFloor041", "brown_leather", "denim_fabric", "oak_panel"]
    subs = {n: m.params["substance"] for n, m in by_name.items()}
    assert subs == {"Metal032": "metal", "Tiles012": "plastic", "WoodFloor041": "wood", "brown_leather": "leather",
                    "denim_fabric": "fabric", "oak_panel": "wood"}
    naming = {n: m.params["naming"] for n, m in by_name.items()}
    assert naming["WoodFloor041"] == "ambientcg" and naming["brown_leather"] == "polyhaven" and naming["oak_panel"] == "adobe"
    for m in lib.textures:  # the folder is in the params (meta.json), maps are absolute files inside it
        folder = Path(m.params["folder"])
        assert folder.is_absolute() and folder.name == m.name
        assert all(Path(p).parent == folder for p in m.params["maps"].values())
    # packed ARM: roughness and metallic from its G and B channels, one file
    leather = by_name["brown_leather"].params
    assert leather["packed"] == {"roughness": "G", "metallic": "B"}
    assert leather["maps"]["roughness"] == leather["maps"]["metallic"] and leather["maps"]["roughness"].endswith("_arm_1k.jpg")
    # no metalness map: a constant 0 (1 for metal), no "packed"
    for n in ("WoodFloor041", "denim_fabric"):
        p = by_name[n].params
        assert "metallic" not in p["maps"] and p["metallic"] == 0.0 and "packed" not in p
    assert "metallic" in by_name["Metal032"].params["maps"] and by_name["Metal032"].params["metallic"] == 1.0
    assert set(by_name["oak_panel"].params["maps"]) == {"color", "roughness", "normal", "metallic", "displacement"}
    # the broken folder is listed, with the reason
    assert len(lib.bad) == 1 and lib.bad[0]["item"].endswith("Broken001") and "color" in lib.bad[0]["error"]
    assert lib.summary().startswith("6 texture folders used, 1 skipped; mix 1: folder materials only")


def test_substance_mapping_file(tmp_path, texlib):
    m = {"oak_panel": "metal", "polyhaven/*": "plastic", "Wood*": "fabric"}
    out = {x.name: x.params["substance"] for x in scan_texture_library(texlib, substance_map=m)}
    # exact name; a relative-path glob; a name glob; folders the map does not name: guessed from the name
    assert out["oak_panel"] == "metal" and out["brown_leather"] == out["denim_fabric"] == "plastic"
    assert out["WoodFloor041"] == "fabric" and out["Metal032"] == "metal"
    assert "Tiles012" not in out  # the explicit map replaces substances.json: Tiles012 says no substance
    bad = tmp_path / "substances.json"
    bad.write_text(json.dumps({"x": "stone"}))
    with pytest.raises(InputError) as e:
        read_substance_map(bad)
    assert "substances.json" in str(e.value) and "stone" in str(e.value)
    bad.write_text("[1, 2")
    with pytest.raises(InputError, match="substances.json"):
        read_substance_map(bad)


def test_missing_empty_or_unusable_folder_is_a_clear_error(tmp_path):
    with pytest.raises(InputError) as e:
        run_library(10, 0, tmp_path / "nope")
    assert str(tmp_path / "nope") in str(e.value) and "not found" in str(e.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError) as e:
        run_library(10, 0, tmp_path / "empty")
    assert "empty" in str(e.value) and "no usable texture material" in str(e.value)
    _save(tmp_path / "only_bad" / "Wood9" / "Wood9_Roughness.png", _gray(1))
    with pytest.raises(InputError, match="1 folders skipped"):
        run_library(10, 0, tmp_path / "only_bad")


def test_config_fields_validation_and_json(tmp_path, texlib):
    base = GenConfig()
    assert "materials_dir" not in base.to_json() and "materials_mix" not in base.to_json()  # dataset.json as before
    c = base.replace(materials_dir=str(texlib))
    assert c.materials_mix == 1.0  # a folder alone: only its materials
    d = c.to_json()
    assert d["materials_dir"] == str(texlib) and d["materials_mix"] == 1.0
    assert GenConfig.from_json(d) == c
    assert base.replace(materials_dir="x", materials_mix=0).materials_mix == 0.0
    with pytest.raises(ValueError, match="materials_mix"):
        base.replace(materials_dir="x", materials_mix=1.5)
    with pytest.raises(ValueError, match="needs materials_dir"):
        base.replace(materials_mix=0.5)
    with pytest.raises(ValueError, match="materials_dir"):
        base.replace(materials_dir="")
    s = scenes_preset("partsad", materials_dir=str(texlib), materials_mix=0.25)
    assert s.materials_mix == 0.25 and ScenesConfig.from_json(s.to_json()) == s
    assert "materials_dir" not in scenes_preset("toysad").to_json()
    # a config file's mix with the folder given as an override (the CLI's --materials)
    f = tmp_path / "cfg.json"
    f.write_text(json.dumps({"preset": "demo", "materials_mix": 0.4}))
    assert load_config(f, materials_dir=str(texlib)).materials_mix == 0.4
    with pytest.raises(InputError, match="needs materials_dir"):
        load_config(f)


def _lib_all_substances(mix: float) -> MaterialLibrary:
    """A library with every substance both as presets and as (stand-in) texture materials."""
    from datagen.spec import Material

    tex = [Material(f"tex_{s}_{k}", "textures", {"substance": s, "maps": {}}) for s in SUBSTANCES for k in range(2)]
    return MaterialLibrary(builtin_library(20) if mix < 1 else [], tex, mix)


def test_mix_share_is_honoured():
    n = 4000
    for mix in (0.0, 0.3, 0.7, 1.0):
        lib = _lib_all_substances(mix)
        rng = np.random.default_rng(7)
        kinds = Counter()
        for i in range(n // 4):
            out = assign_materials(["leg", "seat_surface", "wheel", "back_cushion"], lib, rng)
            kinds.update(m.kind for m in out.values())
        share = kinds["textures"] / n
        sd = math.sqrt(mix * (1 - mix) / n)
        assert abs(share - mix) <= 4 * sd + 1e-12, (mix, share)


def test_priors_apply_to_texture_materials(texlib):
    lib = run_library(10, 0, texlib)  # folder only: wood, metal, leather, fabric, plastic
    rng = np.random.default_rng(0)
    got = {lab: Counter() for lab in ("leg", "seat_cushion", "caster_stem", "wheel")}
    for _ in range(600):
        for lab, m in assign_materials(list(got), lib, rng).items():
            assert m.kind == "textures"
            got[lab][m.params["substance"]] += 1
    assert set(got["leg"]) == {"wood", "metal", "plastic"}  # legs: the frame prior
    assert got["leg"]["wood"] > got["leg"]["metal"] > got["leg"]["plastic"]
    assert set(got["seat_cushion"]) <= {"fabric", "leather", "plastic"}
    assert got["seat_cushion"]["fabric"] > got["seat_cushion"]["leather"] > got["seat_cushion"]["plastic"]
    assert set(got["caster_stem"]) == {"metal"} and set(got["wheel"]) == {"plastic"}
    # two wood materials (WoodFloor041, oak_panel): a substance's folder materials are drawn uniformly
    woods = Counter(assign_materials(["leg"], lib, np.random.default_rng(s))["leg"].name for s in range(400))
    assert woods["WoodFloor041"] > 40 and woods["oak_panel"] > 40


def test_fallbacks_say_which(tmp_path):
    for ch in ("Color", "Roughness", "NormalGL"):
        _save(tmp_path / "WoodOnly" / f"WoodOnly_{ch}.png", _rgb(1) if ch == "Color" else _gray(1))
    only = run_library(10, 0, tmp_path)
    # folder only: a label whose prior has no folder substance gets any folder material
    assert assign_materials(["wheel"], only, np.random.default_rng(0))["wheel"].name == "WoodOnly"
    # mixed: the prior wins; a substance the folder lacks comes from the presets
    mixed = run_library(10, 0, tmp_path, mix=0.9)
    rng = np.random.default_rng(1)
    seen = Counter()
    for _ in range(300):
        out = assign_materials(["wheel", "seat_cushion", "leg"], mixed, rng)
        assert out["wheel"].kind == "preset" and substance_of(out["wheel"]) == "plastic"
        assert out["seat_cushion"].kind == "preset"  # fabric / leather / plastic: none in the folder
        seen[(out["leg"].kind, substance_of(out["leg"]))] += 1
    assert seen[("textures", "wood")] > 0 and not any(k == "textures" and s != "wood" for k, s in seen)
    assert seen[("preset", "wood")] > 0 and seen[("preset", "metal")] > 0


# --- configs without a folder: exactly the draws they always took ---------------------------------------
def _old_assign_materials(labels, library, rng):
    """``materials.assign.assign_materials`` as it was before texture folders (the reference)."""
    groups = by_substance(library)
    out = {}
    for label in sorted(set(labels)):
        prior = prior_for(label)
        names = [s for s in SUBSTANCES if prior.get(s, 0.0) > 0 and s in groups]
        if not names:
            out[label] = library[int(rng.integers(len(library)))]
            continue
        w = np.array([prior[s] for s in names], dtype=np.float64)
        substance = names[int(rng.choice(len(names), p=w / w.sum()))]
        pool = groups[substance]
        out[label] = pool[int(rng.integers(len(pool)))]
    return out


def _spec_bytes(runner, jobs) -> list[bytes]:
    out = []
    for job in jobs:
        try:
            bundles = runner.bundles(job)
        except Refused:
            continue
        out += [json.dumps(b.spec_json(mesh_root=Path("/m")), sort_keys=True).encode() for b in bundles]
    return out


def test_no_folder_gives_the_same_specs_as_before(chairs, tmp_path, monkeypatch):
    cfg = preset("demo", resolution=48, ref_views=2)
    new = Looking3DRunner(cfg, chairs, tmp_path / "a", 3)
    jobs = [j for j in new.plan() if j.kind == "normal" or j.anomaly in ("position", "swapped")]
    now = _spec_bytes(new, jobs)
    assert type(new.material_library()) is list and new.materials_report() is None
    import materials.assign

    monkeypatch.setattr(materials.assign, "assign_materials", _old_assign_materials)
    old = Looking3DRunner(cfg, chairs, tmp_path / "b", 3)
    old._materials = builtin_library(cfg.n_materials, cfg.material_seed)  # the old Runner.material_library
    assert len(now) >= 3 and _spec_bytes(old, jobs) == now


# --- datasets with texture materials (fake renderer) ---------------------------------------------------
def test_dataset_meta_lists_texture_materials(chairs, texlib, tmp_path):
    from datagen.dataset.reader import Dataset

    cfg = preset("demo", resolution=48, ref_resolution=32, ref_views=2, normal_views=(2, 0, 2), anomaly_views=(2, 0, 2),
                 types=("position",), min_visible_px=20, materials_dir=str(texlib))
    runner = Looking3DRunner(cfg, chairs, tmp_path / "ds", 0)
    line = runner.materials_report()
    log = tmp_path / "ds" / "logs" / "materials_skipped.jsonl"
    assert line == f"materials: 6 texture folders used, 1 skipped (listed in {log}); mix 1: folder materials only"
    assert [json.loads(x)["item"].endswith("Broken001") for x in log.read_text().splitlines()] == [True]
    for job in runner.plan():
        runner.run(job, FakeRenderer())
    runner.finalize()
    ds = Dataset(tmp_path / "ds")
    assert json.loads((tmp_path / "ds" / "dataset.json").read_text())["config"]["materials_dir"] == str(texlib)
    rows = ds.rows()
    assert rows and {r["label"] for r in rows} == {0, 1}
    for r in rows:
        meta = ds.sample(r["id"]).meta
        assert meta["materials"] and all(m["kind"] == "textures" for m in meta["materials"].values())
        for m in meta["materials"].values():
            assert Path(m["params"]["folder"]).is_relative_to(texlib.resolve()) and m["params"]["maps"]["color"]
        assert set(meta["material_variation"]) == {p["name"] for p in meta["parts"]}
        assert all(v == {} for v in meta["material_variation"].values())
    # half from the folder: both kinds appear over the shapes' labels, presets keep their variation
    cfg2 = cfg.replace(materials_mix=0.5)
    r2 = Looking3DRunner(cfg2, chairs, tmp_path / "ds2", 0)
    kinds = Counter()
    for job in [j for j in r2.plan() if j.kind == "normal"]:
        for b in r2.bundles(job):
            for o in b.spec.objects:
                kinds[o.material.kind] += 1
                assert (o.material.variation != {}) == (o.material.kind == "preset")
    assert kinds["textures"] > 0 and kinds["preset"] > 0


def test_scenes_wear_texture_materials(chairs, texlib, tmp_path):
    from datagen.jobs.oddoneout import ScenesRunner

    cfg = scenes_preset("toysad", resolution=32, views=2, types=("material", "position"), anomaly_ratio=1.0,
                        unseen_categories=(), materials_dir=str(texlib))
    runner = ScenesRunner(cfg, chairs, tmp_path / "sc", 0, n_scenes=6)
    assert runner.materials_report().startswith("materials: 6 texture folders used, 1 skipped")
    n = 0
    for job in runner.plan():
        try:
            draw = runner._draw(job, runner.load_shape(job.shape_id))
        except Refused:
            continue
        n += 1
        for inst in draw.instances:
            assert all(m.kind == "textures" and m.variation == {} for m in inst.materials.values())
        assert draw.floor.kind == "textures" and draw.floor.params["substance"] in cfg.floor_substances
        if job.anomaly == "material":
            assert draw.anomaly["new_substance"] != draw.anomaly["old_substance"]
    assert n >= 3


def test_cli_generate_materials(chairs, texlib, tmp_path, monkeypatch):
    from datagen.cli import main

    monkeypatch.chdir(texlib.parent)
    out = tmp_path / "out"
    args = ["generate", "--preset", "demo", "--shapes", str(chairs), "--out", str(out), "--dry-run", "--resolution", "32"]
    r = CliRunner().invoke(main, args + ["--materials", texlib.name, "--materials-mix", "0.5"])
    assert r.exit_code == 0, r.output
    log = out / "logs" / "materials_skipped.jsonl"
    assert f"materials: 6 texture folders used, 1 skipped (listed in {log}); mix 0.5" in r.output
    assert json.loads(r.stdout)  # the plan on stdout stays JSON (the report goes to stderr in a dry run)
    # a relative folder is stored absolute
    from datagen.commands.generate import _config, _overrides

    assert _config("demo", None, **_overrides(materials_dir=texlib.name)).materials_dir == str(texlib)
    # a missing folder: one clear line naming it, before anything is rendered
    r = CliRunner().invoke(main, args + ["--materials", str(tmp_path / "nope")])
    assert r.exit_code != 0 and str(tmp_path / "nope") in r.output and "not found" in r.output
    r = CliRunner().invoke(main, args + ["--materials-mix", "0.5"])
    assert r.exit_code != 0 and "needs materials_dir" in r.output


# --- Blender, in subprocesses -------------------------------------------------------------------------
GRAPH_CHILD = """
import json, sys
from datagen.spec import Material
from blender_scripts.materials import build_material
info = {}
for d in json.load(open(sys.argv[1])):
    m = Material(**d)
    nodes = build_material(m).node_tree.nodes
    bsdf = next(x for x in nodes if x.bl_idname == "ShaderNodeBsdfPrincipled")
    def src(k):
        s = bsdf.inputs[k]
        return [s.links[0].from_node.bl_idname, s.links[0].from_socket.name] if s.is_linked else s.default_value
    info[m.name] = {"types": sorted(x.bl_idname for x in nodes), "roughness": src("Roughness"),
                    "metallic": src("Metallic"),
                    "images": sorted([x.image.name, x.image.colorspace_settings.name] for x in nodes
                                     if x.bl_idname == "ShaderNodeTexImage")}
json.dump(info, open(sys.argv[2], "w"))
"""


def _need_bpy():
    if importlib.util.find_spec("bpy") is None:
        pytest.skip("bpy not installed")


@pytest.mark.blender
def test_arm_graph_blender(texlib, tmp_path):
    _need_bpy()
    import dataclasses

    mats = {m.name: m for m in run_library(10, 0, texlib).textures}
    job = tmp_path / "mats.json"
    job.write_text(json.dumps([dataclasses.asdict(mats[n]) for n in ("brown_leather", "denim_fabric", "Metal032")]))
    r = subprocess.run([sys.executable, "-c", GRAPH_CHILD, str(job), str(tmp_path / "info.json")], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    info = json.loads((tmp_path / "info.json").read_text())
    leather = info["brown_leather"]
    assert "ShaderNodeSeparateColor" in leather["types"]
    assert leather["roughness"] == ["ShaderNodeSeparateColor", "Green"]
    assert leather["metallic"] == ["ShaderNodeSeparateColor", "Blue"]
    arm = [im for im in leather["images"] if "_arm_" in im[0]]
    assert arm == [["brown_leather_arm_1k.jpg", "Non-Color"]]  # one image node for both channels
    assert info["denim_fabric"]["metallic"] == 0.0 and "ShaderNodeSeparateColor" not in info["denim_fabric"]["types"]
    assert info["denim_fabric"]["roughness"] == ["ShaderNodeTexImage", "Color"]
    assert info["Metal032"]["metallic"] == ["ShaderNodeTexImage", "Color"]


def _checker_library(root: Path, checker: bool) -> Path:
    """One wood texture material: a black / white checkerboard colour map (4 px cells, 32 per UV unit) or flat grey."""
    yy, xx = np.mgrid[0:128, 0:128]
    c = ((xx // 4 + yy // 4) % 2) * 230.0 + 15.0 if checker else np.full((128, 128), 122.0)
    _save(root / "WoodChecker" / "WoodChecker_Color.png", np.stack([c, c, c], -1))
    _save(root / "WoodChecker" / "WoodChecker_Roughness.png", np.full((8, 8), 200))
    _save(root / "WoodChecker" / "WoodChecker_NormalGL.png", np.tile(np.array([128, 128, 255]), (8, 8, 1)))
    return root


def _part_std(rgb: np.ndarray, parts: np.ndarray, min_px: int = 20) -> list[float]:
    """Std of the grey level inside each part (its pixels whose 4 neighbours are the same part: no edges)."""
    g = rgb.astype(np.float64).mean(-1)
    out = []
    for k in np.unique(parts[parts > 0]):
        m = parts == k
        inner = m & np.roll(m, 1, 0) & np.roll(m, -1, 0) & np.roll(m, 1, 1) & np.roll(m, -1, 1)
        if inner.sum() >= min_px:
            out.append(float(g[inner].std()))
    return out


@pytest.mark.blender
def test_render_texture_material_blender(chairs, tmp_path):
    """A normal job rendered by the real worker (96 px, 8 spp): a checkerboard colour map shows on the parts
    (Smart UV Project UVs): the grey level varies inside each part, much more than with a flat grey map."""
    _need_bpy()
    import time

    from datagen.dataset.reader import Dataset
    from datagen.executors.worker import WorkerHandle
    from datagen.spec import RenderRuntime

    t0 = time.perf_counter()
    stats = {}
    with WorkerHandle(timeout=300, log=tmp_path / "worker.log", runtime=RenderRuntime("cpu", 2)) as handle:
        for checker in (True, False):
            lib = _checker_library(tmp_path / f"tex{int(checker)}", checker)
            cfg = preset("demo", resolution=96, samples=8, normal_views=(1, 0, 1), materials_dir=str(lib))
            runner = Looking3DRunner(cfg, chairs, tmp_path / f"ds{int(checker)}", 0, shape_ids=["chair_000000"])
            job = next(j for j in runner.plan() if j.kind == "normal")
            res = runner.run(job, handle)
            assert res.status == "done", res
            s = Dataset(runner.out).sample(res.samples[0])
            assert {m["name"] for m in s.meta["materials"].values()} == {"WoodChecker"}
            stds = _part_std(s.rgb, s.parts)
            assert stds, "no part large enough in the view"
            stats[checker] = float(np.mean(stds))
    print(f"texture render: grey std inside parts, checker {stats[True]:.1f} vs flat {stats[False]:.1f}; "
          f"{time.perf_counter() - t0:.1f} s")
    assert stats[True] > 2.0 * stats[False] and stats[True] > 10.0
