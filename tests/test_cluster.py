"""The render farm on real engines (marker ``cluster``; also ``slow``, so the default suite leaves it out):

- Slurm: a one-node Slurm (munged, slurmctld, slurmd; Debian's slurm-wlm and munge, as root) runs the
  scripts of ``datagen slurm-script`` for ``generate`` and for ``scenes``, submitted from a folder
  without any log folder; one array task is scancelled mid-run; its finalize job still runs
  (afterany); resubmitting only that task resumes it; the dataset is byte-identical to a local run.
- Ray: a two-node Ray (head + a second ``ray start``) runs ``generate --executor ray``; the second
  node's raylet is SIGKILLed mid-run; the run ends (no hang: the surviving actor takes the lost jobs
  over); a rerun resumes; the dataset is byte-identical to a local run.

Run: ``python -m pytest -m cluster tests/test_cluster.py`` (about 3 minutes on 2 cores). Skipped
where the engines are missing (``cluster_utils.slurm_missing`` / ``ray_missing``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cluster_utils import local_ray_cluster, local_slurm, ray_missing, slurm_missing, wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.slow, pytest.mark.blender, pytest.mark.timeout(1200)]

DATAGEN = [sys.executable, "-m", "datagen.cli"]
VOLATILE = ("jobs", "logs")  # job markers (they hold timings) and worker logs differ from run to run


def datagen(*args, env=None, check=True, timeout=900) -> subprocess.CompletedProcess:
    r = subprocess.run([*DATAGEN, *map(str, args)], capture_output=True, text=True, env=env, timeout=timeout)
    if check and r.returncode:
        raise AssertionError(f"datagen {' '.join(map(str, args))}: exit {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r


def tree(root: Path) -> dict[str, bytes]:
    """Relative path -> bytes of every file of a dataset but the volatile ones."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.relative_to(root).parts[0] not in VOLATILE and not p.name.startswith("failures")}


def assert_same_dataset(got: Path, want: Path, own_library: bool = False) -> None:
    """``own_library``: each run made its shape library inside its own root (scenes without --shapes), so
    dataset.json names it under its root and manifest.json (which checksums dataset.json) differs."""
    a, b = tree(got), tree(want)
    if own_library:
        assert a.pop("dataset.json").replace(str(got).encode(), str(want).encode()) == b.pop("dataset.json")
        a.pop("manifest.json"), b.pop("manifest.json")
    assert sorted(a) == sorted(b), f"files differ: only in {got}: {sorted(set(a) - set(b))[:5]}, only in {want}: {sorted(set(b) - set(a))[:5]}"
    diff = [k for k in a if a[k] != b[k]]
    assert not diff, f"{len(diff)} files differ, e.g. {diff[:5]}"
    assert any(k.startswith(("samples/", "scenes/")) for k in a)


def leftovers(out: Path) -> list[str]:
    """Temporary files and folders (``.<name>.<random>.tmp``, ``.work/``) left in a dataset."""
    return [str(p) for p in out.rglob(".*") if p.name.endswith(".tmp") or p.name == ".work"]


def markers(out: Path) -> int:
    return sum(1 for _ in (out / "jobs").rglob("*.done")) if (out / "jobs").is_dir() else 0


@pytest.fixture(scope="module")
def farm(tmp_path_factory):
    """A shape library of 3 procedural chairs and its dataset rendered locally (the bytes to match)."""
    root = tmp_path_factory.mktemp("farm")
    datagen("shapes", "procedural", "--category", "chair", "--count", 3, "--seed", 0, "--out", root / "lib", "--quiet")
    gen = ["--preset", "demo", "--shapes", root / "lib", "--resolution", 32, "--seed", 0]
    datagen("generate", *gen, "--out", root / "local", "--workers", 2, "--quiet")
    return root, gen


# --- Slurm ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    why = slurm_missing()
    if why:
        pytest.skip(why)
    with local_slurm(tmp_path_factory.mktemp("slurm")) as cluster:
        yield cluster


def test_slurm_array_cancelled_task_resumes_to_the_local_bytes(farm, slurm, tmp_path):
    root, gen = farm
    out = tmp_path / "ds"
    script = tmp_path / "scripts" / "run.sbatch"
    datagen("slurm-script", "--array", 3, "--cpus", 1, "--mem", "1G", "--script", script, "--setup", "echo setup-ran",
            "generate", *gen, "--out", out, env=slurm.env)
    assert (tmp_path / "scripts" / "slurm-logs").is_dir()  # created before any sbatch
    elsewhere = tmp_path / "elsewhere"  # submitted from a folder with no slurm-logs/ in it
    elsewhere.mkdir()
    job = slurm.sbatch(str(script), cwd=elsewhere)
    shard1 = {j["id"] for j in json.loads(datagen("generate", *gen, "--out", tmp_path / "plan", "--dry-run", "--shard", "1/3").stdout)}

    def task1_mid_run():
        running = slurm.jobs().get(f"{job}_1") == "RUNNING"
        return running and any((out / "jobs" / f"{j}.done").exists() for j in shard1)

    wait_for("array task 1 to have finished a job", task1_mid_run, 300, every=0.1)
    slurm.run("scancel", f"{job}_1")
    slurm.wait_idle(600)  # the other tasks, then the finalize job (afterany: it runs after a cancelled task too)
    logs = {p.name: p.read_text() for p in (tmp_path / "scripts" / "slurm-logs").iterdir()}
    fin = [t for n, t in logs.items() if n.startswith("datagen-finalize-")]
    assert len(fin) == 1 and "setup-ran" in fin[0] and "dataset:" in fin[0], logs
    assert "CANCELLED" in logs[f"datagen-{job}_1.out"]
    st = json.loads(datagen("status", out, "--json").stdout)
    assert st["total"]["pending"] > 0, st  # the cancelled task left jobs undone
    assert not leftovers(out)  # the killed task left no half-written folder (atomic writes; .work cleaned)

    job2 = slurm.sbatch("--array=1", str(script), cwd=elsewhere)  # resume the cancelled task only
    slurm.wait_idle(600)
    fin2 = [p for p in (tmp_path / "scripts" / "slurm-logs").glob("datagen-finalize-*.out") if p.name not in logs]
    assert len(fin2) == 1, "the resumed task's submission ran its own finalize job"
    assert "skipped" in (tmp_path / "scripts" / "slurm-logs" / f"datagen-{job2}_1.out").read_text()
    st = json.loads(datagen("status", out, "--json").stdout)
    assert st["total"]["pending"] == 0 and st["total"]["failed"] == 0 and st["finalized"], st
    assert_same_dataset(out, root / "local")
    assert datagen("verify", out, check=False).returncode == 0 and not leftovers(out)


def test_slurm_script_for_scenes(slurm, tmp_path):
    """``slurm-script scenes``: a 2-task array renders Odd-One-Out scenes like a local run."""
    scn = ["--preset", "partsad", "--scenes", 2, "--views", 2, "--resolution", 32, "--samples", 4, "--seed", 3]
    datagen("scenes", *scn, "--out", tmp_path / "local", "--workers", 2, "--quiet")
    script = tmp_path / "scenes.sbatch"
    datagen("slurm-script", "--array", 2, "--cpus", 1, "--mem", "1G", "--script", script, "scenes", *scn,
            "--out", tmp_path / "ds", env=slurm.env)
    slurm.sbatch(str(script), cwd=tmp_path)
    slurm.wait_idle(600)
    assert (tmp_path / "ds" / "index.jsonl").is_file()
    assert_same_dataset(tmp_path / "ds", tmp_path / "local", own_library=True)  # _shapes/ included


# --- Ray ------------------------------------------------------------------------------------------------
@pytest.fixture
def ray_cluster():
    why = ray_missing()
    if why:
        pytest.skip(why)
    with local_ray_cluster(cpus_per_node=1) as cluster:
        yield cluster


def test_ray_node_killed_mid_run_never_hangs_and_resumes_to_the_local_bytes(farm, ray_cluster, tmp_path):
    root, gen = farm
    out = tmp_path / "ds"
    cmd = [*DATAGEN, "generate", *map(str, gen), "--out", str(out), "--executor", "ray", "--address", ray_cluster.address,
           "--workers", "2", "--job-timeout", "60", "--quiet"]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, env=ray_cluster.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for("6 finished jobs", lambda: markers(out) >= 6 or proc.poll() is not None, 300, every=0.1)
        assert proc.poll() is None, "the run ended before the node could be killed"
        ray_cluster.kill_node2()
        killed_at = markers(out)
        # the bound: every lost job is given up at its deadline (2 attempts x (60 s + 60 s start)) at the latest
        stdout, stderr = proc.communicate(timeout=400)
    finally:
        if proc.poll() is None:
            proc.kill()
    took = time.monotonic() - t0
    assert killed_at < 39, "the node was killed after the run had finished its jobs"
    lines = [x for x in stderr.splitlines() if x.startswith("error:")]
    requeued = [x for x in stderr.splitlines() if "queued again for another actor" in x]
    summary = [x for x in stdout.splitlines() if x.startswith("jobs:")]
    if proc.returncode == 0:  # the surviving actor took the lost job over
        assert requeued and "failed 0" in summary[0], stdout + stderr[-3000:]
    else:  # or one line, every job not done listed
        assert len(lines) == 1 and "ray:" in lines[0], stderr[-3000:]
    print(f"\nray: node 2 killed after {killed_at} jobs; exit {proc.returncode} after {took:.0f} s; {summary}; "
          f"{requeued}; {lines}")
    r = subprocess.run(cmd, env=ray_cluster.env, capture_output=True, text=True, timeout=600)  # resume, one node left
    assert r.returncode == 0, r.stdout + r.stderr
    assert_same_dataset(out, root / "local")
