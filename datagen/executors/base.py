"""What every executor shares: the worker options (``WorkerOptions``), the retry rule
(``run_with_retries``), resume (``pending_jobs``), worker recycling (``recycle_if_needed``) and how
an outcome is counted in the run's ``datagen.batch.Summary`` (``count``).

A job that crashes or hangs its worker kills only that worker; it is retried ``retries`` times on
a fresh worker, then listed in the failures file; the run goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from datagen.batch import FAILED, Summary, failure_fields
from datagen.errors import DatagenError, RenderFailed
from datagen.spec import RenderRuntime


@dataclass
class WorkerOptions:
    """cmd : worker command line (None = ``python -m blender_scripts.worker``). job_timeout : seconds per
    render request. recycle_jobs / recycle_mb : restart a worker after that many jobs or above that RSS.
    runtime : device and Cycles threads of every worker (threads 0 = the cores shared among the workers)."""

    cmd: tuple | None = None
    job_timeout: float = 900.0
    recycle_jobs: int = 100
    recycle_mb: float = 3000.0
    retries: int = 1
    runtime: RenderRuntime = field(default_factory=RenderRuntime)


def count(summary: Summary, outcome: dict) -> None:
    """Count one job outcome (``run_with_retries``) in ``summary``; reference jobs write no samples."""
    status = outcome["status"]
    samples = 0 if outcome["job"].endswith("/ref") else len(outcome.get("samples") or [])
    extra = {k: outcome[k] for k in ("attempts", "traceback") if outcome.get(k) is not None}
    summary.add(status, outcome["job"], error=outcome.get("error"), reason=outcome.get("reason"),
                outputs=samples if status == "done" else 0, **(extra if status == FAILED else {}))


def pending_jobs(runner, jobs, summary: Summary) -> list:
    """Jobs not yet done; the done ones are counted as skipped in ``summary`` (resume)."""
    todo = []
    for job in jobs:
        if runner.is_done(job):
            summary.add("skipped", job.id)
        else:
            todo.append(job)
    return todo


def run_with_retries(runner, job, handle, retries: int) -> dict:
    """``runner.run(job, handle)`` with up to ``retries`` retries after a worker crash, timeout or
    render failure. Returns ``{"job", "status", "samples", "reason", "attempts"}`` or, after the last
    attempt, ``{"job", "status": "failed", "error", "attempts"}``. Bad input (other ``DatagenError``)
    and bugs are not retried."""
    from datagen.executors.worker import WorkerCrashed

    attempts = 0
    while True:
        attempts += 1
        try:
            r = runner.run(job, handle)
            return {"job": job.id, "status": r.status, "samples": r.samples, "reason": r.reason, "attempts": attempts}
        except (WorkerCrashed, RenderFailed) as e:
            if attempts <= retries:
                continue
            return {"job": job.id, "status": FAILED, "error": str(e), "attempts": attempts}
        except Exception as e:  # noqa: BLE001 - one bad job never stops the run
            fields = failure_fields(e)
            if isinstance(e, DatagenError):
                fields.pop("traceback", None)
            return {"job": job.id, "status": FAILED, **fields, "attempts": attempts}


def recycle_if_needed(handle, opts: WorkerOptions) -> None:
    """Count one job on ``handle``; close its worker after ``recycle_jobs`` jobs or above ``recycle_mb``."""
    handle.jobs += 1
    if handle.jobs >= opts.recycle_jobs or handle.rss_mb > opts.recycle_mb:
        handle.close()
