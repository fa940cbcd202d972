"""Executors with the fake worker subprocess: crashes, hangs, recycling, Ray, shards, the CLI (Slurm scripts:
tests/test_slurm_script.py; Ray with lost actors: tests/test_ray_executor.py)."""

import json
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from datagen.config import preset
from datagen.executors import WorkerOptions
from datagen.executors.local import run_local
from datagen.executors.worker import WorkerCrashed, WorkerHandle
from datagen.jobs.looking3d import Looking3DRunner
from datagen.plan import plan

HERE = Path(__file__).resolve().parent
FAKE = (sys.executable, str(HERE / "fake_worker.py"))


@pytest.fixture(scope="module")
def library(chair_library):
    return chair_library(2)


def small(**kw):
    base = dict(resolution=32, ref_resolution=32, ref_views=2, normal_views=(2, 0, 2), anomaly_views=(2, 0, 2),
                types=("position",), min_visible_px=1)
    base.update(kw)
    return preset("demo", **base)


def test_worker_handle_crash_and_timeout(tmp_path, monkeypatch):
    from datagen.spec import Camera, SceneSpec

    spec = SceneSpec((), (Camera.orbit(2, 0, 0.3, 30, 16, 16),), meta={"fake_crash": True})
    crash = spec.save(tmp_path / "crash.json")
    hang = SceneSpec((), spec.cameras, meta={"fake_hang": True}).save(tmp_path / "hang.json")
    ok = SceneSpec((), spec.cameras).save(tmp_path / "ok.json")
    h = WorkerHandle(FAKE, timeout=3, log=tmp_path / "w.log")
    assert h.render(ok, tmp_path / "o1")["ok"]  # noise on stdout is skipped
    pid = h.proc.pid
    with pytest.raises(WorkerCrashed, match="died"):
        h.render(crash, tmp_path / "o2")
    assert h.proc is None
    t = time.perf_counter()
    with pytest.raises(WorkerCrashed, match="timed out"):
        h.render(hang, tmp_path / "o3")
    assert time.perf_counter() - t < 10 and h.proc is None
    r = h.render(ok, tmp_path / "o4")  # a fresh worker
    assert r["ok"] and h.proc.pid != pid and h.starts == 3
    h.close()
    assert h.proc is None


def test_crash_is_retried_then_listed_and_hang_is_killed(library, tmp_path, monkeypatch):
    cfg = small()
    runner = Looking3DRunner(cfg, library, tmp_path, seed=0)
    jobs = plan(cfg, runner.shape_ids, 0)
    log = tmp_path / "requests.log"
    monkeypatch.setenv("FAKE_WORKER_LOG", str(log))
    monkeypatch.setenv("FAKE_CRASH_JOBS", "chair_000000/normal")
    monkeypatch.setenv("FAKE_HANG_JOBS", "chair_000001/ref")
    opts = WorkerOptions(cmd=FAKE, job_timeout=4, retries=1)
    s = run_local(runner, jobs, workers=2, opts=opts, progress=False)
    assert s.counts["failed"] == 2
    fails = [json.loads(line) for line in (tmp_path / "failures.jsonl").read_text().splitlines()]
    assert {f["item"] for f in fails} == {"chair_000000/normal", "chair_000001/ref"}
    assert all(f["attempts"] == 2 for f in fails)
    assert any("died" in f["error"] for f in fails) and any("timed out" in f["error"] for f in fails)
    assert s.counts["done"] + s.counts["dropped"] + s.counts["refused"] == len(jobs) - 2
    # the crashing job was sent twice (one retry), each time to a fresh worker
    sent = [x.split()[0] for x in log.read_text().splitlines() if "chair_000000__normal" in x]
    assert len(sent) == 2 and sent[0] != sent[1]
    assert not runner.marker_path(jobs[1]).exists()  # chair_000000/normal
    # rerun without the faults: only the failed jobs run
    monkeypatch.delenv("FAKE_CRASH_JOBS")
    monkeypatch.delenv("FAKE_HANG_JOBS")
    s2 = run_local(runner, jobs, workers=2, opts=opts, progress=False)
    assert s2.counts["failed"] == 0 and s2.counts["skipped"] == len(jobs) - 2
    assert not (tmp_path / "failures.jsonl").exists()


def test_workers_are_recycled(library, tmp_path, monkeypatch):
    cfg = small()
    runner = Looking3DRunner(cfg, library, tmp_path, seed=0)
    jobs = plan(cfg, runner.shape_ids, 0)
    log = tmp_path / "requests.log"
    monkeypatch.setenv("FAKE_WORKER_LOG", str(log))
    s = run_local(runner, jobs, workers=1, opts=WorkerOptions(cmd=FAKE, recycle_jobs=2), progress=False)
    assert s.counts["failed"] == 0
    pids = []
    for line in log.read_text().splitlines():
        pid = line.split()[0]
        if not pids or pids[-1] != pid:
            pids.append(pid)
    assert len(set(pids)) == len(pids) == -(-len(jobs) // 2)  # a new process every 2 jobs


def test_ray_executor(library, tmp_path):
    ray = pytest.importorskip("ray")
    from datagen.executors.ray_executor import run_ray

    cfg = small()
    runner = Looking3DRunner(cfg, library, tmp_path / "ray", seed=0)
    jobs = plan(cfg, runner.shape_ids, 0)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        s = run_ray(runner, jobs, workers=2, opts=WorkerOptions(cmd=FAKE), progress=False)
    finally:
        ray.shutdown()
    assert s.counts["failed"] == 0 and s.counts["done"] >= 4
    # same samples as the local executor
    pipe2 = Looking3DRunner(cfg, library, tmp_path / "local", seed=0)
    run_local(pipe2, jobs, workers=1, opts=WorkerOptions(cmd=FAKE), progress=False)
    a = sorted(p.name for p in (tmp_path / "ray" / "samples").iterdir())
    b = sorted(p.name for p in (tmp_path / "local" / "samples").iterdir())
    assert a == b
    for sid in a:
        assert (tmp_path / "ray" / "samples" / sid / "rgb.png").read_bytes() == (tmp_path / "local" / "samples" / sid / "rgb.png").read_bytes()


def test_cli_generate_shards_from_env_then_finalize(library, tmp_path):
    from datagen.commands.generate import generate
    from datagen.dataset.reader import Dataset

    runner = CliRunner()
    out = tmp_path / "ds"
    base = ["--preset", "demo", "--shapes", str(library), "--out", str(out), "--resolution", "32", "--types", "rotation",
            "--quiet", "--worker-cmd", " ".join(FAKE)]
    # dry run: the plan, and shards of it from SLURM variables
    full = json.loads(runner.invoke(generate, base + ["--dry-run"], catch_exceptions=False).output)
    parts = []
    for i in range(3):
        env = {"SLURM_ARRAY_TASK_ID": str(i), "SLURM_ARRAY_TASK_COUNT": "3"}
        r = runner.invoke(generate, base + ["--dry-run", "--shard", "auto"], env=env, catch_exceptions=False)
        parts += json.loads(r.output)
    assert sorted(j["id"] for j in parts) == sorted(j["id"] for j in full)
    for i in range(2):
        env = {"SLURM_ARRAY_TASK_ID": str(i), "SLURM_ARRAY_TASK_COUNT": "2"}
        r = runner.invoke(generate, base, env=env, catch_exceptions=False)
        assert r.exit_code == 0, r.output
        assert "--finalize-only" in r.output
    assert not (out / "index.jsonl").exists()
    r = runner.invoke(generate, base + ["--finalize-only"], catch_exceptions=False)
    assert r.exit_code == 0 and "samples" in r.output
    ds = Dataset(out)
    assert len(ds) > 0 and len(ds.shape_ids()) == 2
    # a different config in the same folder is refused with a clear error
    r = runner.invoke(generate, base + ["--samples", "3"])
    assert r.exit_code != 0 and "another config" in r.output
    # bad options
    r = runner.invoke(generate, base + ["--shard", "3/2"])
    assert r.exit_code != 0 and "shard" in r.output
    r = runner.invoke(generate, base + ["--types", "position,exploded"])
    assert r.exit_code != 0 and "types" in r.output


def test_cli_demo_with_fake_worker(tmp_path):
    from datagen.commands.generate import demo
    from datagen.dataset.reader import Dataset

    r = CliRunner().invoke(demo, ["--out", str(tmp_path / "demo"), "--shapes", "2", "--resolution", "32", "--quiet",
                                  "--worker-cmd", " ".join(FAKE)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "demo dataset in" in r.output
    assert len(Dataset(tmp_path / "demo")) > 0
