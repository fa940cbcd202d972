"""The Ray executor when actors die, hang or cannot start (a local Ray, the fake worker): it never
hangs; surviving actors take over lost jobs; with no actor left it fails with one line, failures listed.
The same on a real two-node cluster with a raylet killed: tests/test_cluster.py (marker ``cluster``)."""

import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from datagen.errors import DatagenError
from datagen.executors import WorkerOptions
from datagen.executors.local import run_local
from datagen.jobs.looking3d import Looking3DRunner
from datagen.plan import plan

ray = pytest.importorskip("ray")
from datagen.executors import ray_executor  # noqa: E402
from datagen.executors.ray_executor import job_deadline, run_ray  # noqa: E402

HERE = Path(__file__).resolve().parent
FAKE = (sys.executable, str(HERE / "fake_worker.py"))


@pytest.fixture(scope="module")
def library(chair_library):
    return chair_library(2)


@pytest.fixture
def local_ray():
    """``start(**init_kwargs)`` a local Ray; shut down after the test."""
    def start(**kw):
        ray.init(include_dashboard=False, log_to_driver=False, **kw)

    yield start
    ray.shutdown()


def small():
    from datagen.config import preset

    return preset("demo", resolution=32, ref_resolution=32, ref_views=2, normal_views=(2, 0, 2),
                  anomaly_views=(2, 0, 2), types=("position", "rotation"), min_visible_px=1)


def files_of(root: Path) -> dict:
    """Relative path -> bytes of every sample and reference file (what must not depend on the executor)."""
    out = {}
    for sub in ("samples", "shapes"):
        for p in sorted((root / sub).rglob("*")):
            if p.is_file():
                out[str(p.relative_to(root))] = p.read_bytes()
    return out


def local_copy(library, tmp_path, cfg, jobs) -> dict:
    runner = Looking3DRunner(cfg, library, tmp_path / "local", seed=0)
    run_local(runner, jobs, workers=1, opts=WorkerOptions(cmd=FAKE), progress=False)
    return files_of(tmp_path / "local")


def test_job_deadline_covers_every_attempt():
    opts = WorkerOptions(job_timeout=100, retries=2)
    assert job_deadline(opts) == 3 * (100 + ray_executor.WORKER_START_S)


def test_surviving_actors_take_over_the_jobs_of_dead_actors(library, tmp_path, monkeypatch, local_ray):
    cfg = small()
    runner = Looking3DRunner(cfg, library, tmp_path / "ray", seed=0)
    jobs = plan(cfg, runner.shape_ids, 0)
    killers = "chair_000000/normal,chair_000001/position"
    monkeypatch.setenv("FAKE_KILL_PARENT_JOBS", killers)  # their actor process dies, once each
    monkeypatch.setenv("FAKE_KILL_PARENT_DIR", str(tmp_path / "killed"))
    # 3 actors asked for, 2 CPUs: one actor can never start, and must not block anything
    local_ray(num_cpus=2)
    s = run_ray(runner, jobs, workers=3, opts=WorkerOptions(cmd=FAKE, job_timeout=60), progress=False)
    assert len(list((tmp_path / "killed").iterdir())) == 2  # the two actors did die
    assert s.counts["failed"] == 0 and sum(s.counts.values()) == len(jobs)
    assert not (tmp_path / "ray" / "failures.jsonl").exists()
    got = files_of(tmp_path / "ray")
    assert got == local_copy(library, tmp_path, cfg, jobs)


def test_a_job_that_kills_every_actor_fails_after_its_retries(library, tmp_path, monkeypatch, local_ray):
    cfg = small()
    runner = Looking3DRunner(cfg, library, tmp_path / "ray", seed=0)
    jobs = plan(cfg, runner.shape_ids, 0)
    monkeypatch.setenv("FAKE_KILL_PARENT_JOBS", "chair_000001/ref")  # kills its actor every time
    local_ray(num_cpus=2)
    s = run_ray(runner, jobs, workers=2, opts=WorkerOptions(cmd=FAKE, job_timeout=60, retries=1), progress=False)
    assert s.counts["failed"] == 1
    (row,) = [json.loads(x) for x in (tmp_path / "ray" / "failures.jsonl").read_text().splitlines()]
    assert row["item"] == "chair_000001/ref" and row["attempts"] == 2 and "actor lost" in row["error"]
    assert s.counts["done"] + s.counts["dropped"] + s.counts["refused"] == len(jobs) - 1


def test_no_actor_can_start_fails_with_one_line_within_the_job_timeout(library, tmp_path, local_ray):
    cfg = small()
    runner = Looking3DRunner(cfg, library, tmp_path / "ray", seed=0)
    jobs = plan(cfg, runner.shape_ids, 0)
    local_ray(num_cpus=0)  # a cluster without a free CPU: no actor ever starts
    t = time.monotonic()
    with pytest.raises(DatagenError) as e:
        run_ray(runner, jobs, workers=2, opts=WorkerOptions(cmd=FAKE, job_timeout=4), progress=False)
    assert time.monotonic() - t < 4 + 15
    msg = str(e.value)
    assert "\n" not in msg and "no Ray actor left" in msg and "did not start within 4 s" in msg
    rows = [json.loads(x) for x in (tmp_path / "ray" / "failures.jsonl").read_text().splitlines()]
    assert sorted(r["item"] for r in rows) == sorted(j.id for j in jobs)


def test_an_unresponsive_actor_is_killed_at_the_deadline_and_its_job_rerun(library, tmp_path, monkeypatch, local_ray):
    """An actor that stops answering (its node frozen, the network cut) is given up at the job's
    deadline; the job is rerun by another actor."""
    cfg = small()
    runner = Looking3DRunner(cfg, library, tmp_path / "ray", seed=0)
    jobs = plan(cfg, runner.shape_ids, 0)
    monkeypatch.setattr(ray_executor, "WORKER_START_S", 0.0)  # deadline: 2 attempts x job_timeout = 12 s

    class Freezing(ray_executor._Actor):
        def run(self, job_json):
            if job_json["id"] == "chair_000000/normal" and not (tmp_path / "froze").exists():
                (tmp_path / "froze").touch()
                os.kill(os.getpid(), signal.SIGSTOP)  # this actor never answers again
            return super().run(job_json)

    monkeypatch.setattr(ray_executor, "_Actor", Freezing)
    local_ray(num_cpus=2)
    s = run_ray(runner, jobs, workers=2, opts=WorkerOptions(cmd=FAKE, job_timeout=6, retries=1), progress=False)
    assert (tmp_path / "froze").exists()
    assert s.counts["failed"] == 0 and sum(s.counts.values()) == len(jobs)
    assert files_of(tmp_path / "ray") == local_copy(library, tmp_path, cfg, jobs)
