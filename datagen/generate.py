"""A whole run: plan, execute (local pool or Ray, whole plan or one shard), finalize.

``generate_dataset(runner, ...)`` is the same for every kind of data; the runner
(``datagen.jobs``) knows the kind's plan, splits and job function.
"""

from __future__ import annotations

import dataclasses
import os
import shutil

from datagen.batch import Summary
from datagen.executors import WorkerOptions
from datagen.jobs import Runner
from datagen.plan import shard as take_shard
from datagen.spec import RenderRuntime


def default_threads(workers: int) -> int:
    """Cycles threads per worker: the machine's cores shared among the workers (at least 1)."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def generate_dataset(
    runner: Runner,
    *,
    workers: int = 1,
    executor: str = "local",
    address: str | None = None,
    shard: tuple[int, int] | None = None,
    opts: WorkerOptions | None = None,
    progress: bool = True,
    finalize: bool | None = None,
    finalize_only: bool = False,
) -> tuple[Summary | None, dict | None]:
    """Run the runner's plan (or one shard of it) and finalize. Returns ``(Summary | None, counts | None)``.

    shard : (index, count) runs that slice of the plan; it does not finalize (run again with
    ``finalize_only`` after all shards) unless ``finalize=True``. Jobs already done are skipped.
    opts : worker options; ``opts.runtime.threads == 0`` becomes ``default_threads(workers)``.
    """
    if executor not in ("local", "ray"):
        raise ValueError(f"executor must be local or ray, got {executor!r}")
    opts = opts or WorkerOptions()
    if opts.runtime.threads == 0:
        opts = dataclasses.replace(opts, runtime=RenderRuntime(opts.runtime.device, default_threads(workers)))
    runner.write_splits()
    if finalize_only:
        return None, runner.writer.finalize()
    jobs = runner.plan()
    failures = runner.out / "failures.jsonl"
    if shard is not None:
        jobs = take_shard(jobs, *shard)
        failures = runner.out / f"failures.shard-{shard[0]}-of-{shard[1]}.jsonl"
    if executor == "ray":
        from datagen.executors.ray_executor import run_ray

        summary = run_ray(runner, jobs, workers, opts, address=address, progress=progress, failures_path=failures)
    else:
        from datagen.executors.local import run_local

        summary = run_local(runner, jobs, workers, opts, progress=progress, failures_path=failures)
    if shard is None:  # shards share .work; each job removes its own folder anyway
        shutil.rmtree(runner.out / ".work", ignore_errors=True)
    if finalize is None:
        finalize = shard is None
    counts = runner.writer.finalize() if finalize else None
    return summary, counts
