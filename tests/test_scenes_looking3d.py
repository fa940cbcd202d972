"""Spec builders of the Looking 3D kind: pure, deterministic, every random choice in the spec."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from datagen.config import preset
from datagen.jobs.looking3d import Looking3DRunner
from datagen.scenes.looking3d import draw_query, index_bundles, job_bundles, query_bundle

HERE = Path(__file__).resolve().parent
FAKE = (sys.executable, str(HERE / "fake_worker.py"))


@pytest.fixture(scope="module")
def library(chair_library):
    return chair_library(3)


def _cfg(**kw):
    return preset("demo", resolution=48, ref_resolution=32, ref_views=3, **kw)


def _all_specs(library, out, cfg, seed=0):
    runner = Looking3DRunner(cfg, library, out, seed)
    specs = {}
    for job in runner.plan():
        try:
            for b in runner.bundles(job):
                specs[(job.id, b.tag)] = (b.spec.dumps(), sorted(b.meshes))
        except Exception as e:  # refusals are part of the plan's outcome too
            specs[(job.id, "refused")] = (str(e), [])
    return specs


def test_spec_bytes_are_stable_across_two_plans(library, tmp_path):
    cfg = _cfg()
    a = _all_specs(library, tmp_path / "a", cfg)
    b = _all_specs(library, tmp_path / "b", cfg)
    assert a == b
    tags = {t for _, t in a}
    assert {"ref", "normal", "original_index", "anomaly"} <= tags
    assert not (tmp_path / "a").exists()  # building specs writes nothing
    # another run seed gives other specs
    c = _all_specs(library, tmp_path / "c", cfg, seed=1)
    assert c != a


def test_every_random_choice_is_in_the_spec(library, tmp_path):
    runner = Looking3DRunner(_cfg(types=("position",)), library, tmp_path, 0)
    job = next(j for j in runner.plan() if j.kind == "anomaly")
    draw = draw_query(job, runner.load_shape(job.shape_id), runner.config, runner.material_library())
    spec = query_bundle(draw, runner.config).spec
    presets = [o.material for o in spec.objects if o.material is not None and o.material.kind == "preset"]
    assert presets and all(m.variation["offset"] for m in presets)
    # parts sharing a library material still get their own placement
    by_name = {}
    for o in spec.objects:
        by_name.setdefault(o.material.name, []).append(json.dumps(o.material.variation, sort_keys=True))
    assert any(len(v) > 1 and len(set(v)) == len(v) for v in by_name.values())
    # the visibility stage: cheap index-only specs over the same candidate cameras
    idx = index_bundles(draw, runner.config)
    assert [b.tag for b in idx] == ["original_index", "corrupted_index"]
    for b in idx:
        assert b.spec.settings.samples == 1 and b.spec.settings.passes == ("index",)
        assert [c.world_to_camera.tolist() for c in b.spec.cameras] == [c.world_to_camera.tolist() for c in spec.cameras]
    kept = query_bundle(draw, runner.config, keep=[0])
    assert len(kept.spec.cameras) == 1


def test_missing_has_no_corrupted_index_stage(library, tmp_path):
    runner = Looking3DRunner(_cfg(types=("missing",)), library, tmp_path, 0)
    job = next(j for j in runner.plan() if j.kind == "anomaly")
    bundles = job_bundles(job, runner.load_shape(job.shape_id), runner.config, runner.material_library())
    assert [b.tag for b in bundles] == ["original_index", "anomaly"]
    part = draw_query(job, runner.load_shape(job.shape_id), runner.config, runner.material_library()).record.part
    assert part not in [o.name for o in bundles[-1].spec.objects]


def test_cli_dry_run_specs(library, tmp_path):
    from datagen.cli import main
    from datagen.spec import SceneSpec

    out = tmp_path / "ds"
    args = ["generate", "--preset", "demo", "--shapes", str(library), "--out", str(out), "--resolution", "32",
            "--types", "broken", "--dry-run", "--specs"]
    r = CliRunner().invoke(main, args + ["--job", "chair_000001/*"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    lines = [json.loads(x) for x in r.output.splitlines()]
    assert {d["meta"]["tag"] for d in lines} >= {"ref", "normal", "original_index", "anomaly"}
    assert all(d["meta"]["job"].startswith("chair_000001/") for d in lines)
    for d in lines:
        spec = SceneSpec.from_json(d)
        assert all(Path(o.mesh).is_file() for o in spec.objects)  # absolute paths into OUT/.specs/meshes
    assert not (out / "samples").exists() and not (out / "dataset.json").exists()
    r2 = CliRunner().invoke(main, args + ["--job", "chair_000001/*"], catch_exceptions=False)
    assert r2.output == r.output


def test_render_spec_cli_with_fake_worker(library, tmp_path):
    from datagen.cli import main

    out = tmp_path / "ds"
    r = CliRunner().invoke(main, ["generate", "--preset", "demo", "--shapes", str(library), "--out", str(out),
                                  "--resolution", "32", "--dry-run", "--specs", "--job", "chair_000000/normal"])
    spec_file = tmp_path / "normal.json"
    spec_file.write_text(r.output)
    r = CliRunner().invoke(main, ["render-spec", str(spec_file), "--out", str(tmp_path / "render"),
                                  "--worker-cmd", " ".join(FAKE)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    n = len(json.loads(spec_file.read_text())["cameras"])
    for c in range(n):
        for f in (f"{c:04d}.png", f"{c:04d}_depth.npy", f"{c:04d}_index.png"):
            assert (tmp_path / "render" / f).is_file()
    d = np.load(tmp_path / "render" / "0000_depth.npy")
    assert (d > 0).any()
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": 2, "objects": []}')
    r = CliRunner().invoke(main, ["render-spec", str(bad), "--out", str(tmp_path / "x"), "--worker-cmd", " ".join(FAKE)])
    assert r.exit_code == 1 and "bad.json" in r.output and "bad scene spec" in r.output


def test_scale_anomalies_reach_the_dataset(library, tmp_path):
    """The sixth type, added as one module + one registry line, flows through generate, stats, verify, preview."""
    from datagen.dataset.preview import make_preview
    from datagen.dataset.reader import Dataset
    from datagen.dataset.stats import compute_stats
    from datagen.dataset.verify import verify
    from datagen.executors import WorkerOptions
    from datagen.generate import generate_dataset

    cfg = _cfg(types=("scale",), min_visible_px=20)
    summary, counts = generate_dataset(Looking3DRunner(cfg, library, tmp_path / "ds", 0), workers=1,
                                       opts=WorkerOptions(cmd=FAKE, job_timeout=60), progress=False)
    assert summary.failed == 0 and counts["by_type"].get("scale", 0) > 0
    ds = Dataset(tmp_path / "ds")
    scaled = [ds.sample(r["id"]) for r in ds.rows() if r["anomaly_type"] == "scale"]
    for s in scaled:
        assert s.mask_new.any() and s.mask_old.any() and s.bbox is not None
        assert s.meta["anomaly"]["record"]["measured"]["extent_change"] >= 0.15
    assert verify(tmp_path / "ds") == []
    assert compute_stats(tmp_path / "ds")["by_type"]["scale"]["images"] == len(scaled)
    make_preview(tmp_path / "ds", tmp_path / "p.png")
    assert (tmp_path / "p.png").stat().st_size > 1000
