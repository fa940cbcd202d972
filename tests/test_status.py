"""``datagen status``: the plan rebuilt from dataset.json, job markers and failures counted per kind,
rates and ETA; for a run half done (one shard of two), a finished run, a scenes run and a moved library."""

import json
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from datagen.cli import main
from datagen.config import preset
from datagen.executors import WorkerOptions
from datagen.generate import format_status, generate_dataset, run_status
from datagen.jobs.looking3d import Looking3DRunner
from datagen.shapes.procedural import generate_library

HERE = Path(__file__).resolve().parent
FAKE = (sys.executable, str(HERE / "fake_worker.py"))


@pytest.fixture(scope="module")
def library(chair_library):
    return chair_library(3)


def _cfg():
    return preset("demo", resolution=32, ref_resolution=32, ref_views=2, types=("position", "missing"), min_visible_px=1)


def test_status_of_a_half_done_then_finished_run(library, tmp_path):
    out = tmp_path / "ds"
    runner = Looking3DRunner(_cfg(), library, out, seed=2)
    jobs = runner.plan()
    opts = WorkerOptions(cmd=FAKE, job_timeout=60)
    summary, _ = generate_dataset(runner, shard=(0, 2), opts=opts, progress=False)
    assert summary.failed == 0
    info = json.loads((out / "dataset.json").read_text())
    assert info["run"]["kind"] == "looking3d" and info["run"]["shape_ids"] == runner.shape_ids
    assert info["run"]["library"] == str(Path(library).resolve())

    st = run_status(out)
    assert st["kind"] == "looking3d" and list(st["jobs"]) == ["ref", "normal", "anomaly"]
    assert st["total"]["planned"] == len(jobs)
    for kind in ("ref", "normal", "anomaly"):
        assert st["jobs"][kind]["planned"] == sum(j.kind == kind for j in jobs)
    finished = summary.done + summary.refused + summary.dropped
    assert st["finished"] == finished and st["total"]["pending"] == len(jobs) - finished > 0
    assert st["images"] == summary.outputs == len(list((out / "samples").iterdir()))
    assert st["images_per_hour"] > 0 and st["eta_s"] > 0 and st["elapsed_s"] > 0 and not st["finalized"]

    # a job listed in a failures file (and without marker) is failed, not pending
    todo = next(j for j in jobs if not runner.is_done(j))
    (out / "failures.shard-1-of-2.jsonl").write_text(json.dumps({"item": todo.id, "error": "boom"}) + "\n")
    st2 = run_status(out)
    assert st2["total"]["failed"] == 1 and st2["total"]["pending"] == st["total"]["pending"] - 1
    (out / "failures.shard-1-of-2.jsonl").unlink()

    # the command: one summary line, a table, --json
    r = CliRunner().invoke(main, ["status", str(out)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert f"{finished} of {len(jobs)} jobs finished" in lines[0] and "ETA" in lines[0] and "samples/h" in lines[0]
    assert lines[1].split() == ["kind", "planned", "done", "refused", "dropped", "failed", "pending"]
    assert [ln.split()[0] for ln in lines[2:6]] == ["ref", "normal", "anomaly", "total"]
    assert lines[5].split()[1:] == [str(st["total"][c]) for c in ("planned", "done", "refused", "dropped", "failed", "pending")]
    r = CliRunner().invoke(main, ["status", str(out), "--json"], catch_exceptions=False)
    assert json.loads(r.stdout)["total"] == st["total"]

    # the rest, then finalize: complete
    generate_dataset(Looking3DRunner(_cfg(), library, out, seed=2), shard=(1, 2), opts=opts, progress=False)
    generate_dataset(Looking3DRunner(_cfg(), library, out, seed=2), finalize_only=True, progress=False)
    st = run_status(out)
    assert st["total"]["pending"] == 0 and st["eta_s"] == 0 and st["finalized"]
    assert st["images"] == json.loads((out / "dataset.json").read_text())["counts"]["samples"]
    assert "complete" in format_status(st).splitlines()[0]

    # a looking3d plan needs only the recorded shape ids: the library may be gone
    moved = tmp_path / "moved"
    shutil.copytree(library, moved)
    assert run_status(out, library=moved)["total"] == st["total"]


def test_status_of_a_scenes_run_needs_the_library(tmp_path):
    from datagen.jobs.oddoneout import ScenesRunner
    from datagen.scene_config import scenes_preset

    lib = tmp_path / "toys"
    for cat in ("mug", "car"):
        generate_library(cat, 2, lib, seed=1, progress=False)
    out = tmp_path / "scenes"
    runner = ScenesRunner(scenes_preset("toysad", resolution=32, views=2), lib, out, seed=0, n_scenes=5)
    runner.write_splits()  # opens the dataset (records the run), renders nothing
    st = run_status(out)
    assert st["kind"] == "oddoneout" and st["unit"] == "scenes" and list(st["jobs"]) == ["scene"]
    assert st["total"]["planned"] == st["total"]["pending"] == 5 and st["eta_s"] is None and st["images"] == 0
    assert "0 scenes written" in format_status(st)
    lib.rename(tmp_path / "toys2")
    r = CliRunner().invoke(main, ["status", str(out)], catch_exceptions=False)
    assert r.exit_code == 1 and r.stdout == ""
    assert r.stderr == f"error: {Path(lib).resolve()}: shape library not found (the plan needs it): pass --shapes\n"
    r = CliRunner().invoke(main, ["status", str(out), "--shapes", str(tmp_path / "toys2")], catch_exceptions=False)
    assert r.exit_code == 0 and "0 of 5 jobs finished" in r.stdout


def test_status_without_run_record(tmp_path):
    from synth_dataset import build_dataset

    build_dataset(tmp_path / "ds", scenes=False)
    r = CliRunner().invoke(main, ["status", str(tmp_path / "ds")], catch_exceptions=False)
    assert r.exit_code == 1 and r.stderr.startswith(f"error: {tmp_path / 'ds' / 'dataset.json'}: no run record")
    assert len(r.stderr.splitlines()) == 1
