"""Exit codes of the batch commands (farm schedulers read them), one rule (``Summary.exit_problem``):
exit 1 with one ``error:`` line when nothing was found to do, or nothing was done and something
failed; a partial batch keeps its exit code; a rerun that skips everything (resume) exits 0."""

import json
import sys
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from datagen.batch import DONE, FAILED, REFUSED, SKIPPED, Summary
from datagen.cli import main
from datagen.dataset.writer import DatasetWriter
from datagen.shapes.library import write_shape
from datagen.shapes.procedural import generate_library
from test_partnet import make_partnet
from toy_shapes import box_chair

FAKE = f"{sys.executable} {Path(__file__).resolve().parent / 'fake_worker.py'}"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def error_line(r, *needles) -> str:
    """Exit code 1; the last line on stderr is the one ``error:`` line, holding ``needles``."""
    assert r.exit_code == 1, (r.exit_code, r.output)
    assert "Traceback" not in r.output
    line = r.stderr.rstrip("\n").splitlines()[-1]
    assert line.startswith("error: "), r.stderr
    for n in needles:
        assert str(n) in line, (n, line)
    return line


def _empty_dataset(root: Path) -> Path:
    w = DatasetWriter(root, config={"generator": "test"}, seed=0)
    w.write_splits({"train": [], "val": [], "test": []})
    w.finalize()
    return root


def test_the_rule():
    s = Summary()
    assert s.exit_problem("shapes", "lib/: no shapes found") == "lib/: no shapes found"
    assert s.exit_problem("jobs", None) is None  # an empty batch that is fine (an empty shard)
    for _ in range(3):
        s.add(FAILED, "x", error="x: bad")
    assert s.exit_problem("shapes", "e", verb="imported") == "3 of 3 shapes failed, nothing imported"
    s.failures_path = "out/failures.jsonl"
    assert s.exit_problem("shapes", "e", verb="imported") == "3 of 3 shapes failed, nothing imported (see out/failures.jsonl)"
    partial = Summary()
    partial.add(DONE, "a")
    partial.add(FAILED, "b", error="b: bad")
    assert partial.exit_problem("shapes", "e") is None
    assert partial.exit_problem("jobs", "e", strict=True) == "1 of 2 jobs failed"
    resumed = Summary()  # a rerun: what was done is skipped, what failed fails again
    resumed.add(SKIPPED, "a")
    assert resumed.exit_problem("shapes", "e", strict=True) is None
    resumed.add(FAILED, "b", error="b: bad")
    assert resumed.exit_problem("shapes", "e") is None
    refused = Summary()  # refusals are expected (listed in refusals.jsonl), not failures
    refused.add(REFUSED, "a", reason="no eligible part")
    assert refused.exit_problem("corruptions", "e") is None


def test_shapes_import_every_shape_failed_or_nothing_found(tmp_path):
    root = tmp_path / "data_v0"
    for anno in ("1", "2", "3"):
        make_partnet(root, anno)
        (root / anno / "result.json").write_text("[")
    out = tmp_path / "lib"
    r = run("shapes", "import", "partnet", root, "--out", out, "--no-progress")
    error_line(r, f"3 of 3 shapes failed, nothing imported (see {out / 'failures.jsonl'})")
    assert "done 0, skipped 0, refused 0, dropped 0, failed 3" in r.stdout
    empty = tmp_path / "empty"
    empty.mkdir()
    for cmd in ("partnet", "partnet-mobility", "abc"):
        r = run("shapes", "import", cmd, empty, "--out", tmp_path / f"o_{cmd}", "--no-progress")
        error_line(r, f"{empty}: no ", "found (expected")
    r = run("shapes", "import", "mesh", empty, "--out", tmp_path / "o_mesh", "--no-progress")
    error_line(r, "no input mesh files found")
    # one good annotation: a partial batch exits 0, and so does the rerun that skips it
    make_partnet(root, "4")
    for done in ("done 1", "done 0, skipped 1"):
        r = run("shapes", "import", "partnet", root, "--out", out, "--no-progress")
        assert r.exit_code == 0 and done in r.stdout, r.output


def test_shapes_procedural_with_nothing_to_generate(tmp_path):
    r = run("shapes", "procedural", "--category", "mug", "--count", "0", "--out", tmp_path / "lib", "--quiet")
    error_line(r, "--count 0: no shapes to generate")
    generate_library("mug", 1, tmp_path / "lib", seed=0, progress=False)
    r = run("shapes", "procedural", "--category", "mug", "--count", "1", "--out", tmp_path / "lib", "--quiet")
    assert r.exit_code == 0 and "done 0, skipped 1" in r.stdout, r.output


def test_corrupt_empty_folder_all_failed_and_resume(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    r = run("corrupt", empty, "--out", tmp_path / "o", "--no-progress")
    error_line(r, f"{empty}: no shapes found (expected one folder per shape with parts.json)")
    assert "corruptions: done 0" in r.stdout
    bad = tmp_path / "bad"
    for i in range(2):
        d = write_shape(box_chair(f"chair{i}", np.random.default_rng(i)), bad)
        (d / "objs" / "seat.obj").write_text("v 0 0 0\nf 1 2 x\n")
    out = tmp_path / "o_bad"
    r = run("corrupt", bad, "--types", "scale", "--out", out, "--no-progress")
    error_line(r, f"2 of 2 corruptions failed, nothing written (see {out / 'failures.jsonl'})")
    good = tmp_path / "good"
    write_shape(box_chair("chair9", np.random.default_rng(9)), good)
    for _ in range(2):  # the second run skips everything: success
        r = run("corrupt", good, "--types", "scale", "--out", tmp_path / "o_good", "--no-progress")
        assert r.exit_code == 0, r.output
    assert "done 0, skipped 1" in r.stdout


def test_import_looking3d_that_reads_nothing_and_its_resume(tmp_path):
    src = tmp_path / "bc"
    (src / "images" / "g").mkdir(parents=True)
    (src / "shapes").mkdir()
    (src / "split.json").write_text(json.dumps({"train": ["12"], "val": [], "test": []}))
    r = run("import", "looking3d", src, "--out", tmp_path / "o1", "--no-progress")
    error_line(r, f"{src}: no query images and no reference views found")
    for name in ("render_12_a_normal.png", "render_12_b_anomaly.png"):
        (src / "images" / "g" / name).write_bytes(b"not a png")
    r = run("import", "looking3d", src, "--out", tmp_path / "o2", "--no-progress")
    error_line(r, f"2 of 2 items failed, nothing imported (see {tmp_path / 'o2' / 'failures.jsonl'})")
    # a readable layout: the import, then a rerun that skips everything, exit 0
    from datagen.export import export_looking3d
    from synth_chairs import make_synthetic

    make_synthetic(tmp_path / "ds", np.random.default_rng(0), shapes=2, queries_per_shape=2, resolution=64, ref_views=4,
                   splits=(0.5, 0.5, 0.0))
    export_looking3d(tmp_path / "ds", tmp_path / "bc_ok", progress=False)
    for _ in range(2):
        r = run("import", "looking3d", tmp_path / "bc_ok", "--out", tmp_path / "back", "--no-progress")
        assert r.exit_code == 0, r.output
    assert "import: done 0, skipped 6" in r.stdout


def test_export_and_pack_of_an_empty_dataset(tmp_path):
    ds = _empty_dataset(tmp_path / "ds")
    error_line(run("export", "looking3d", ds, "--out", tmp_path / "bc", "--no-progress"),
               f"{ds}: no query samples and no reference views to export")
    error_line(run("export", "oddoneout", ds, "--out", tmp_path / "ooo", "--no-progress"), "no scenes to export")
    error_line(run("pack", ds, "--out", tmp_path / "pack", "--no-progress"), f"{ds}: no query samples to pack")


def test_scenes_with_an_empty_plan(tmp_path):
    from datagen.jobs.oddoneout import ScenesRunner
    from datagen.plan import shard
    from datagen.scene_config import scenes_preset

    lib = tmp_path / "lib"
    generate_library("mug", 2, lib, seed=1, progress=False)
    common = ["--shapes", lib, "--resolution", "32", "--quiet", "--worker-cmd", FAKE]
    r = run("scenes", "--scenes", "0", "--out", tmp_path / "ds0", *common)
    error_line(r, f"{tmp_path / 'ds0'}: the plan has no jobs, nothing to render")
    # a shard with no job of a plan that has some (more array tasks than jobs) is fine
    jobs = ScenesRunner(scenes_preset("toysad", resolution=32), lib, tmp_path / "x", 0, n_scenes=1).plan()
    idle = next(i for i in range(4) if not shard(jobs, i, 4))
    r = run("scenes", "--scenes", "1", "--out", tmp_path / "ds1", "--shard", f"{idle}/4", *common)
    assert r.exit_code == 0, r.output
