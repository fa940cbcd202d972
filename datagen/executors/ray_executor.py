"""Ray executor: ``workers`` Ray actors, each owning one render worker subprocess.

Each actor rebuilds the runner from its plain arguments (``Runner.args()``), so the
same job function runs on any node of a Ray cluster that sees the shape library and the
dataset root (a shared file system). ``ray`` is imported only here, when this executor is used.
"""

from __future__ import annotations

import time
from pathlib import Path

from tqdm import tqdm

from datagen.errors import DatagenError
from datagen.batch import Summary
from datagen.executors import WorkerOptions, count, pending_jobs, recycle_if_needed, run_with_retries


def _import_ray():
    try:
        import ray
    except ImportError:
        raise DatagenError("--executor ray needs Ray: pip install 'ray[default]' (or use --executor local)") from None
    return ray


class _Actor:
    """Body of the Ray actor (kept a plain class so it is testable without Ray)."""

    def __init__(self, runner_args: dict, opts: WorkerOptions, slot: int):
        from datagen.executors.worker import DEFAULT_WORKER_CMD, WorkerHandle
        from datagen.jobs import runner_from_args

        self.runner = runner_from_args(runner_args)
        self.opts = opts
        cmd = tuple(opts.cmd) if opts.cmd else DEFAULT_WORKER_CMD
        log = Path(self.runner.out) / "logs" / f"ray-worker-{slot}.log"
        self.handle = WorkerHandle(cmd, timeout=opts.job_timeout, log=log, runtime=opts.runtime)

    def run(self, job_json: dict) -> dict:
        from datagen.plan import Job

        out = run_with_retries(self.runner, Job.from_json(job_json), self.handle, self.opts.retries)
        if self.handle.alive:
            recycle_if_needed(self.handle, self.opts)
        return out

    def close(self) -> bool:
        self.handle.close()
        return True


def run_ray(runner, jobs, workers: int = 2, opts: WorkerOptions | None = None, address: str | None = None,
            progress: bool = True, failures_path=None, init_kwargs: dict | None = None) -> Summary:
    """Run ``jobs`` on ``workers`` Ray actors (``ray.init(address)`` unless Ray is already initialized).

    ``init_kwargs`` go to ``ray.init`` (e.g. ``num_cpus`` for a local test). Each actor reserves 1 CPU.
    """
    ray = _import_ray()
    opts = opts or WorkerOptions()
    t0 = time.perf_counter()
    if not ray.is_initialized():
        ray.init(address=address, **(init_kwargs or {"include_dashboard": False, "log_to_driver": False}))
    summary = Summary()
    todo = pending_jobs(runner, jobs, summary)
    bar = tqdm(total=len(jobs), initial=summary.counts["skipped"], desc="jobs", unit="job", disable=not progress)
    if todo:
        Actor = ray.remote(num_cpus=1)(_Actor)
        actors = [Actor.remote(runner.args(), opts, k) for k in range(min(workers, len(todo)))]
        pending = {}
        queue = list(todo)
        for a in actors:
            if queue:
                job = queue.pop(0)
                pending[a.run.remote(job.to_json())] = (a, job)
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            ref = ready[0]
            actor, job = pending.pop(ref)
            try:
                out = ray.get(ref)
            except Exception as e:  # noqa: BLE001 - an actor died: the job fails, the run goes on
                out = {"job": job.id, "status": "failed", "error": f"ray: {type(e).__name__}: {e}"}
                actor = Actor.remote(runner.args(), opts, len(actors))
                actors.append(actor)
            count(summary, out)
            bar.update(1)
            if queue:
                nxt = queue.pop(0)
                pending[actor.run.remote(nxt.to_json())] = (actor, nxt)
        for a in actors:
            try:
                ray.get(a.close.remote(), timeout=60)
            except Exception:  # noqa: BLE001 - a dead actor has nothing to close
                pass
            ray.kill(a)
    bar.close()
    summary.write_lists(failures_path or Path(runner.out) / "failures.jsonl")
    summary.seconds = time.perf_counter() - t0
    return summary
