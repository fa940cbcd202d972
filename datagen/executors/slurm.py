"""Slurm arrays: an sbatch script whose task i runs ``datagen generate ... --shard i/N``.

Every task runs the same plan and takes its deterministic slice; done jobs are skipped, so
resubmitting the script resumes. After all tasks, one ``datagen generate ... --finalize-only``
writes index.jsonl and the counts (the script's last comment shows the command, and how to
chain it with ``--dependency=afterany``).
"""

from __future__ import annotations

import shlex


def slurm_script(
    generate_args: list[str],
    array: int,
    *,
    cpus: int = 4,
    mem: str = "8G",
    time: str = "24:00:00",
    partition: str | None = None,
    gpus: int = 0,
    job_name: str = "datagen",
    log_dir: str = "slurm-logs",
    setup: str | None = None,
    workers: int | None = None,
    max_parallel: int | None = None,
) -> str:
    """sbatch text for an array of ``array`` tasks running ``datagen generate <generate_args>``.

    generate_args : the arguments of ``datagen generate`` without ``--shard``/``--workers``.
    setup : shell lines run before (e.g. ``source .venv/bin/activate``).
    workers : render workers per task (default: ``cpus // 2``; Cycles threads = cpus // workers).
    """
    if array < 1:
        raise ValueError(f"--array must be >= 1, got {array}")
    if any(a == "--shard" or a.startswith("--shard=") for a in generate_args):
        raise ValueError("do not pass --shard: each array task gets its own")
    workers = workers or max(1, cpus // 2)
    args = " ".join(shlex.quote(a) for a in generate_args)
    rng = f"0-{array - 1}" + (f"%{max_parallel}" if max_parallel else "")
    lines = [
        "#!/bin/bash",
        f"#SBATCH --job-name={job_name}",
        f"#SBATCH --array={rng}",
        f"#SBATCH --cpus-per-task={cpus}",
        f"#SBATCH --mem={mem}",
        f"#SBATCH --time={time}",
        f"#SBATCH --output={log_dir}/%A_%a.out",
    ]
    if partition:
        lines.append(f"#SBATCH --partition={partition}")
    if gpus:
        lines.append(f"#SBATCH --gres=gpu:{gpus}")
    lines += ["set -euo pipefail", f"mkdir -p {shlex.quote(log_dir)}"]
    if setup:
        lines.append(setup)
    lines += [
        "# task i of N renders the i-th slice of the deterministic plan; rerun = resume",
        f'datagen generate {args} --workers {workers} --shard "${{SLURM_ARRAY_TASK_ID}}/${{SLURM_ARRAY_TASK_COUNT:-{array}}}"',
        "",
        "# when every task has finished (e.g. sbatch --dependency=afterany:<array job id> --wrap ...):",
        f"#   datagen generate {args} --finalize-only",
        "",
    ]
    return "\n".join(lines)
