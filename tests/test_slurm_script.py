"""``datagen slurm-script``: the sbatch scripts for generate and scenes, checked as text, through the CLI, and
run by bash as Slurm would run them (task environment, a fake ``sbatch`` that records the finalize
submission), with the fake render worker. The same on a real Slurm: tests/test_cluster.py."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from datagen.cli import main
from datagen.executors.slurm import SlurmResources, array_script, finalize_script

HERE = Path(__file__).resolve().parent
FAKE = f"{sys.executable} {HERE / 'fake_worker.py'}"
DATAGEN = [sys.executable, "-m", "datagen.cli"]


@pytest.fixture(scope="module")
def library(chair_library):
    return chair_library(2)


def test_array_and_finalize_script_text():
    res = SlurmResources(cpus=8, mem="4G", partition="cpu", gpus=1, max_parallel=5)
    args = ["--shapes", "/data/my shapes", "--out", "/data/ds", "--preset", "brokenchairs"]
    text = array_script(["/venv/bin/python", "-m", "datagen.cli"], "generate", args, 8, res, "/logs", setup="module load x",
                        finalize_script="/jobs/run.finalize.sbatch")
    assert text.startswith("#!/bin/bash\n")
    for line in ("#SBATCH --array=0-7%5", "#SBATCH --cpus-per-task=8", "#SBATCH --mem=4G", "#SBATCH --partition=cpu",
                 "#SBATCH --gres=gpu:1", "#SBATCH --output=/logs/%x-%A_%a.out", "module load x"):
        assert line + "\n" in text
    assert "--shapes '/data/my shapes'" in text
    # the shard count is the plan's, not the submission's (a resubmitted task alone is still i/8)
    assert '--workers 4 --threads 2 --shard "${SLURM_ARRAY_TASK_ID}/8" --quiet' in text
    assert "SLURM_ARRAY_TASK_COUNT" not in text
    assert '[ "${SLURM_ARRAY_TASK_ID}" = "${SLURM_ARRAY_TASK_MIN:-0}" ]' in text
    assert "sbatch --parsable --dependency=afterany:${SLURM_ARRAY_JOB_ID} /jobs/run.finalize.sbatch" in text
    fin = finalize_script(["dg"], "generate", args, res, "/logs", setup="module load x")
    assert "#SBATCH --output=/logs/%x-%j.out\n" in fin and "#SBATCH --cpus-per-task=1\n" in fin
    assert "--gres" not in fin and "--array" not in fin and "module load x\n" in fin
    assert fin.rstrip().endswith("dg generate --shapes '/data/my shapes' --out /data/ds --preset brokenchairs --finalize-only")
    # without the finalize job the script says how to run it, setup included
    manual = array_script(["dg"], "generate", args, 2, res, "/logs", setup="source /venv/bin/activate")
    assert "afterany" not in manual and "#   source /venv/bin/activate\n" in manual and "--finalize-only" in manual
    for bad in (["--shard", "0/2"], ["--workers=2"], ["--executor", "ray"]):
        with pytest.raises(ValueError, match="the script sets it"):
            array_script(["dg"], "generate", bad, 2, res, "/logs")


def test_cli_writes_both_scripts_with_absolute_paths_and_the_log_folder(library, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rel = os.path.relpath(library, tmp_path)
    r = CliRunner().invoke(main, ["slurm-script", "--array", "4", "--cpus", "2", "--setup", "echo a", "--setup", "echo b",
                                  "--script", "jobs/run.sbatch", "generate", "--preset", "demo", "--shapes", rel, "--out", "ds",
                                  "--set", "position.min_rel=0.1", "--types", "position"])
    assert r.exit_code == 0, r.output
    run, fin = tmp_path / "jobs" / "run.sbatch", tmp_path / "jobs" / "run.finalize.sbatch"
    assert (tmp_path / "jobs" / "slurm-logs").is_dir()  # Slurm opens the log file before the script runs
    assert os.access(run, os.X_OK) and os.access(fin, os.X_OK)
    text = run.read_text()
    assert f"#SBATCH --output={tmp_path}/jobs/slurm-logs/%x-%A_%a.out" in text
    assert f"--shapes {library} --out {tmp_path / 'ds'}" in text and "--set position.min_rel=0.1" in text
    assert "echo a\necho b\n" in text and "echo a\necho b\n" in fin.read_text()
    assert f"{sys.executable} -m datagen.cli generate" in text  # runs without activating anything


def test_cli_scenes_and_bad_input(library, tmp_path):
    def invoke(*args):
        return CliRunner().invoke(main, ["slurm-script", "--array", "2", "--script", str(tmp_path / "s.sbatch"), *map(str, args)])

    r = invoke("scenes", "--preset", "partsad", "--shapes", library, "--scenes", "4", "--out", tmp_path / "ds")
    assert r.exit_code == 0, r.output
    assert f"datagen.cli scenes --preset partsad --shapes {library} --scenes 4 --out {tmp_path / 'ds'} --workers 2" \
        in (tmp_path / "s.sbatch").read_text()
    cases = [
        (("generate", "--shapes", library, "--out", "x", "--shard", "0/2"), "--shard: the script sets it"),
        (("generate", "--shapes", library, "--out", "x", "--workers", "3"), "--workers: the script sets it"),
        (("generate", "--shapes", library, "--out", "x", "--types", "position,exploded"), "exploded"),
        (("generate", "--out", "x"), "Missing option '--shapes'"),
        (("generate", "--shapes", library, "--out", "x", "--cpus", "2"), "slurm-script's own options go before generate"),
        (("scenes", "--out", "x", "--views", "1"), "--views"),
        (("render-spec", "x.json"), "'render-spec' is not one of"),
    ]
    for args, msg in cases:
        r = invoke(*args)
        assert r.exit_code == 2, (args, r.output)
        assert msg in r.output, (args, r.output)


def test_scripts_run_by_bash_as_slurm_would(library, tmp_path):
    """Each array task as Slurm starts it (its variables set), with a fake sbatch on PATH: the first task
    submits the finalize script once (afterany on the array), the tasks render their shards, the finalize
    script writes the index; resubmitting one task alone resumes it and submits its own finalize."""
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    sbatch = bin_ / "sbatch"
    sbatch.write_text(f'#!/bin/bash\necho "$@" >> {tmp_path}/sbatch.log\necho 77\n')
    sbatch.chmod(sbatch.stat().st_mode | stat.S_IXUSR)
    out = tmp_path / "ds"
    script = tmp_path / "run.sbatch"
    r = CliRunner().invoke(main, ["slurm-script", "--array", "2", "--cpus", "2", "--script", str(script), "--setup", "echo setup-ran",
                                  "generate", "--preset", "demo", "--shapes", str(library), "--out", str(out), "--resolution", "32",
                                  "--types", "rotation", "--worker-cmd", FAKE])
    assert r.exit_code == 0, r.output
    env = dict(os.environ, PATH=f"{bin_}:{os.environ['PATH']}", SLURM_ARRAY_JOB_ID="41", SLURM_ARRAY_TASK_MIN="0")

    def task(i: int, first: int = 0) -> str:
        p = subprocess.run(["bash", str(script)], env=dict(env, SLURM_ARRAY_TASK_ID=str(i), SLURM_ARRAY_TASK_MIN=str(first)),
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stdout + p.stderr
        return p.stdout

    assert "finalize job: 77" in task(0) and "finalize job" not in task(1)
    assert (tmp_path / "sbatch.log").read_text() == f"--parsable --dependency=afterany:41 {tmp_path / 'run.finalize.sbatch'}\n"
    assert not (out / "index.jsonl").exists()
    fin = subprocess.run(["bash", str(tmp_path / "run.finalize.sbatch")], env=env, capture_output=True, text=True, timeout=300)
    assert fin.returncode == 0 and "setup-ran" in fin.stdout and "dataset:" in fin.stdout, fin.stdout + fin.stderr
    status = json.loads(subprocess.run([*DATAGEN, "status", str(out), "--json"], capture_output=True, text=True).stdout)
    assert status["total"]["pending"] == 0 and status["finalized"]
    again = task(1, first=1)  # sbatch --array=1: task 1 alone, the first of its submission
    assert "skipped" in again and "finalize job: 77" in again
