"""A spec is all Blender reads: the same spec gives the same image whatever job, worker history or
render seed produced it; material placement comes from the spec (drawn in Python), not from Blender."""

import dataclasses
import json

import numpy as np
import pytest
from PIL import Image

from datagen.config import preset
from datagen.executors.worker import WorkerHandle
from datagen.jobs.looking3d import Looking3DRunner
from datagen.scenes.bundle import SceneBundle
from datagen.scenes.looking3d import draw_query, query_bundle
from datagen.shapes.procedural import generate_library

pytestmark = pytest.mark.blender


def _variant(bundle: SceneBundle, tag: str, **changes) -> SceneBundle:
    meta = dict(changes.pop("meta", bundle.spec.meta), tag=tag)
    spec = dataclasses.replace(bundle.spec, meta=meta, **changes)
    return SceneBundle(tag, spec, bundle.meshes)


def _img(folder):
    return np.asarray(Image.open(folder / "0000.png"), dtype=np.float64)


def test_same_spec_same_image_whatever_job_or_seed(tmp_path):
    lib = tmp_path / "lib"
    generate_library("chair", 1, lib, seed=3, progress=False)
    cfg = preset("demo", resolution=48, samples=16, normal_views=(1, 0, 1))
    runner = Looking3DRunner(cfg, lib, tmp_path / "ds", 0)
    job = next(j for j in runner.plan() if j.kind == "normal")
    draw = draw_query(job, runner.load_shape(job.shape_id), cfg, runner.material_library())
    base = query_bundle(draw, cfg)
    assert any(o.material.variation for o in base.spec.objects)
    # the same content, carried by another job (meta only)
    other_job = _variant(base, "other_job", meta=dict(base.spec.meta, job="chair_999999/normal"))
    # the same content with another Cycles noise seed
    reseeded = _variant(base, "reseeded", settings=dataclasses.replace(base.spec.settings, seed=base.spec.settings.seed + 7))
    outs = {}
    with WorkerHandle(timeout=300, log=tmp_path / "w1.log") as w:  # a fresh worker
        for b in (base, reseeded):
            outs[b.tag] = tmp_path / "r" / b.tag
            assert w.render(b.write(tmp_path / "specs"), outs[b.tag])["ok"]
    with WorkerHandle(timeout=300, log=tmp_path / "w2.log") as w:  # another worker, after other work
        assert w.render(reseeded.write(tmp_path / "specs"), tmp_path / "r" / "warmup")["ok"]
        outs["other_job"] = tmp_path / "r" / "other_job"
        assert w.render(other_job.write(tmp_path / "specs"), outs["other_job"])["ok"]
    a = _img(outs["normal"])
    np.testing.assert_array_equal(_img(outs["other_job"]), a)  # same spec -> the same pixels
    assert np.abs(_img(outs["reseeded"]) - a).mean() < 3  # another noise seed: only (denoised) noise differs

    # the material graphs Blender builds depend on the spec's variation only, not on the render seed
    child = (
        "import json, sys\n"
        "from datagen.spec import SceneSpec\n"
        "from blender_scripts import scene\n"
        "out = []\n"
        "for path in sys.argv[1:]:\n"
        "    scene.reset()\n"
        "    built = scene.build(SceneSpec.load(path), spec_dir=__import__('os').path.dirname(path))\n"
        "    locs = {}\n"
        "    for name, obj in sorted(built.objects.items()):\n"
        "        nodes = obj.data.materials[0].node_tree.nodes\n"
        "        locs[name] = sorted([round(v, 5) for v in n.inputs['Location'].default_value]\n"
        "                            for n in nodes if n.bl_idname == 'ShaderNodeMapping')\n"
        "    out.append(locs)\n"
        "print(json.dumps(out))\n"
    )
    import subprocess
    import sys

    paths = [str(b.write(tmp_path / "specs")) for b in (base, reseeded)]
    r = subprocess.run([sys.executable, "-c", child, *paths], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    first, second = json.loads(r.stdout.strip().splitlines()[-1])
    assert first == second and any(first.values())
    for o in base.spec.objects:  # each pattern offset of the spec is a Mapping location in Blender
        for off in o.material.variation.get("offset", {}).values():
            if any(np.allclose(off, loc, atol=1e-4) for loc in first[o.name]):
                break
        else:
            raise AssertionError(f"{o.name}: no Mapping node at any of the spec's offsets")


def test_render_spec_renders_a_dry_run_spec_with_blender(tmp_path):
    from click.testing import CliRunner

    from datagen.cli import main

    lib = tmp_path / "lib"
    generate_library("chair", 2, lib, seed=0, progress=False)
    r = CliRunner().invoke(main, ["generate", "--preset", "demo", "--shapes", str(lib), "--out", str(tmp_path / "ds"),
                                  "--resolution", "32", "--types", "missing", "--dry-run", "--specs",
                                  "--job", "chair_000000/*"])
    assert r.exit_code == 0, r.output
    (tmp_path / "specs.jsonl").write_text(r.output)
    specs = [json.loads(x) for x in r.output.splitlines()]
    r = CliRunner().invoke(main, ["render-spec", str(tmp_path / "specs.jsonl"), "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    for d in specs:
        folder = tmp_path / "out" / f"{d['meta']['job'].replace('/', '__')}__{d['meta']['tag']}"
        for c in range(len(d["cameras"])):
            for p in d["settings"]["passes"]:
                name = {"rgb": f"{c:04d}.png", "depth": f"{c:04d}_depth.npy", "index": f"{c:04d}_index.png"}[p]
                assert (folder / name).is_file(), folder / name
