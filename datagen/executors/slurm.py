"""Slurm arrays: an sbatch script whose task i runs ``datagen <generate|scenes> ... --shard i/N``, and
the finalize job that writes index.jsonl and the counts once every task has ended.

Every task runs the same plan and takes its deterministic slice; done jobs are skipped, so
submitting the script again resumes (all tasks, or ``sbatch --array=<ids>`` for some). The task
with the smallest id of a submission submits the finalize script with ``--dependency=afterany``
on the whole array: it runs once every task has ended, whatever their exit codes, with the same
setup lines. Logs go to an absolute folder that ``write_scripts`` creates, since Slurm opens a
task's ``--output`` file before the script runs.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path

from datagen.io import atomic_write_text

SCRIPT_SET = ("--shard", "--workers", "--threads", "--executor", "--address", "--quiet", "--finalize-only",
              "--dry-run", "--specs", "--job")  # options the script sets per task (or that do not render)


@dataclass(frozen=True)
class SlurmResources:
    """What each array task asks for. cpus : CPUs per task (Cycles threads = cpus // workers); mem, time :
    sbatch's --mem, --time; gpus : GPUs per task (--gres=gpu:N); workers : render workers per task
    (default cpus // 2, at least 1); max_parallel : at most this many tasks at once (--array=...%M)."""

    cpus: int = 4
    mem: str = "8G"
    time: str = "24:00:00"
    partition: str | None = None
    gpus: int = 0
    workers: int | None = None
    max_parallel: int | None = None
    job_name: str = "datagen"
    finalize_time: str = "1:00:00"

    def __post_init__(self):
        if self.cpus < 1 or self.gpus < 0 or (self.workers is not None and self.workers < 1):
            raise ValueError(f"cpus >= 1, gpus >= 0, workers >= 1 expected, got {self.cpus}, {self.gpus}, {self.workers}")
        if self.max_parallel is not None and self.max_parallel < 1:
            raise ValueError(f"max_parallel must be >= 1, got {self.max_parallel}")

    @property
    def task_workers(self) -> int:
        return self.workers or max(1, self.cpus // 2)

    @property
    def task_threads(self) -> int:
        return max(1, self.cpus // self.task_workers)


def _check_args(args: list[str]) -> None:
    for a in args:
        opt = a.split("=", 1)[0]
        if opt in SCRIPT_SET:
            raise ValueError(f"do not pass {opt}: the script sets it for each task")


def finalize_command(datagen: list[str], command: str, args: list[str]) -> str:
    """The shell line that writes index.jsonl and the counts once every task has ended."""
    return shlex.join([*datagen, command, *args, "--finalize-only"])


def _head(name: str, output: str, res: SlurmResources, *, cpus: int, time: str, gpus: int, array: str | None) -> list[str]:
    lines = ["#!/bin/bash", f"#SBATCH --job-name={name}"]
    if array is not None:
        lines.append(f"#SBATCH --array={array}")
    lines += [f"#SBATCH --cpus-per-task={cpus}", f"#SBATCH --mem={res.mem}", f"#SBATCH --time={time}",
              f"#SBATCH --output={output}"]
    if res.partition:
        lines.append(f"#SBATCH --partition={res.partition}")
    if gpus:
        lines.append(f"#SBATCH --gres=gpu:{gpus}")
    return lines + ["set -euo pipefail"]


def array_script(datagen: list[str], command: str, args: list[str], array: int, res: SlurmResources, log_dir: str,
                 setup: str | None = None, finalize_script: str | None = None) -> str:
    """sbatch text of ``array`` tasks; task i runs ``<datagen> <command> <args> --shard i/<array>``.

    datagen : how to call datagen (e.g. ``[python, "-m", "datagen.cli"]``); args : the command's options
    without the ones in ``SCRIPT_SET``, paths absolute; log_dir : an absolute, existing folder; setup :
    shell lines run first; finalize_script : the finalize script the first task submits (None: none).
    """
    if array < 1:
        raise ValueError(f"--array must be >= 1, got {array}")
    _check_args(args)
    rng = f"0-{array - 1}" + (f"%{res.max_parallel}" if res.max_parallel else "")
    output = str(Path(log_dir) / "%x-%A_%a.out")
    lines = _head(res.job_name, output, res, cpus=res.cpus, time=res.time, gpus=res.gpus, array=rng)
    if setup:
        lines.append(setup)
    if finalize_script:
        lines += [
            "# the first task of each submission submits the finalize job: it runs once every task of this",
            "# array has ended, whatever their exit codes (afterany), and writes index.jsonl and the counts",
            'if [ "${SLURM_ARRAY_TASK_ID}" = "${SLURM_ARRAY_TASK_MIN:-0}" ]; then',
            f'    echo "finalize job: $(sbatch --parsable --dependency=afterany:${{SLURM_ARRAY_JOB_ID}} {shlex.quote(finalize_script)})"',
            "fi",
        ]
    else:
        lines += ["# after every task has ended, write index.jsonl and the counts with:",
                  *(f"#   {line}" for line in (setup or "").splitlines()),
                  f"#   {finalize_command(datagen, command, args)}"]
    run = shlex.join([*datagen, command, *args, "--workers", str(res.task_workers), "--threads", str(res.task_threads)])
    lines += [
        f"# task i of {array} renders the i-th slice of the deterministic plan; done jobs are skipped, so",
        "# submitting this script again resumes (all tasks, or sbatch --array=<ids> for some)",
        f'{run} --shard "${{SLURM_ARRAY_TASK_ID}}/{array}" --quiet',
        "",
    ]
    return "\n".join(lines)


def finalize_script(datagen: list[str], command: str, args: list[str], res: SlurmResources, log_dir: str,
                    setup: str | None = None) -> str:
    """sbatch text of the job that runs ``<datagen> <command> <args> --finalize-only`` (1 CPU, no GPU)."""
    _check_args(args)
    output = str(Path(log_dir) / "%x-%j.out")
    lines = _head(f"{res.job_name}-finalize", output, res, cpus=1, time=res.finalize_time, gpus=0, array=None)
    if setup:
        lines.append(setup)
    lines += [finalize_command(datagen, command, args), ""]
    return "\n".join(lines)


def write_scripts(script: str | os.PathLike, datagen: list[str], command: str, args: list[str], array: int,
                  res: SlurmResources, *, log_dir: str | os.PathLike | None = None, setup: str | None = None,
                  finalize: bool = True) -> tuple[list[Path], Path]:
    """Write the array script at ``script`` and (``finalize``) its finalize script beside it
    (``<stem>.finalize.sbatch``), both executable; create the log folder (default: ``slurm-logs/``
    beside the script), absolute in the scripts. Returns (the scripts written, the log folder)."""
    script = Path(script).absolute()
    logs = Path(log_dir).absolute() if log_dir is not None else script.parent / "slurm-logs"
    logs.mkdir(parents=True, exist_ok=True)
    fin = script.with_name(f"{script.stem}.finalize.sbatch") if finalize else None
    texts = {script: array_script(datagen, command, args, array, res, str(logs), setup, str(fin) if fin else None)}
    if fin is not None:
        texts[fin] = finalize_script(datagen, command, args, res, str(logs), setup)
    for path, text in texts.items():
        atomic_write_text(path, text)
        os.chmod(path, 0o755)
    return list(texts), logs
