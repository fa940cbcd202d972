"""Executors: run a job list through ``Pipeline.run`` with render workers.

- ``local.run_local``: N Blender worker subprocesses, one parent thread each (default).
- ``ray_executor.run_ray``: Ray actors, each owning one worker subprocess.
- ``slurm``: an sbatch array script whose tasks run ``datagen generate --shard i/N``.

Shared here: the retry rule (``run_with_retries``) and the run summary. A job that crashes or
hangs its worker kills only that worker; it is retried ``retries`` times on a fresh worker,
then listed in the failures file; the run goes on.
"""

from __future__ import annotations

import json
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from datagen.errors import DatagenError
from datagen.io import atomic_write_text

STATUSES = ("done", "skipped", "refused", "dropped", "failed")


@dataclass
class WorkerOptions:
    """cmd : worker command line (None = ``python -m blender_scripts.worker``). job_timeout : seconds per
    render request. recycle_jobs / recycle_mb : restart a worker after that many jobs or above that RSS."""

    cmd: tuple | None = None
    job_timeout: float = 900.0
    recycle_jobs: int = 100
    recycle_mb: float = 3000.0
    retries: int = 1


@dataclass
class RunSummary:
    counts: dict = field(default_factory=lambda: {s: 0 for s in STATUSES})
    samples: int = 0
    failures: list = field(default_factory=list)
    failures_path: str | None = None
    seconds: float = 0.0

    def add(self, outcome: dict) -> None:
        self.counts[outcome["status"]] += 1
        if outcome["status"] == "done" and not outcome["job"].endswith("/ref"):
            self.samples += len(outcome.get("samples") or [])
        if outcome["status"] == "failed":
            self.failures.append({"item": outcome["job"], "error": outcome["error"], "attempts": outcome.get("attempts")})

    def line(self) -> str:
        c = self.counts
        s = (
            f"jobs: done {c['done']}, skipped {c['skipped']}, refused {c['refused']}, dropped {c['dropped']}, "
            f"failed {c['failed']}; samples written {self.samples}; {self.seconds:.1f} s"
        )
        if self.failures_path:
            s += f" (failures in {self.failures_path})"
        return s

    def write_failures(self, path: str | Path) -> None:
        path = Path(path)
        if self.failures:
            atomic_write_text(path, "".join(json.dumps(f, sort_keys=True) + "\n" for f in self.failures))
            self.failures_path = str(path)
        elif path.exists():
            path.unlink()


def pending_jobs(pipeline, jobs, summary: RunSummary) -> list:
    """Jobs not yet done; the done ones are counted as skipped in ``summary`` (resume)."""
    todo = []
    for job in jobs:
        if pipeline.is_done(job):
            summary.add({"job": job.id, "status": "skipped"})
        else:
            todo.append(job)
    return todo


def run_with_retries(pipeline, job, handle, retries: int) -> dict:
    """``pipeline.run(job, handle)`` with up to ``retries`` retries after a worker crash, timeout or
    render failure. Returns ``{"job", "status", "samples", "reason"}`` or, after the last attempt,
    ``{"job", "status": "failed", "error", "attempts"}``. Bad input (other ``DatagenError``) and bugs
    are not retried."""
    from datagen.executors.worker import WorkerCrashed
    from datagen.pipeline import RenderFailed

    attempts = 0
    while True:
        attempts += 1
        try:
            r = pipeline.run(job, handle)
            return {"job": job.id, "status": r.status, "samples": r.samples, "reason": r.reason, "attempts": attempts}
        except (WorkerCrashed, RenderFailed) as e:
            if attempts <= retries:
                continue
            return {"job": job.id, "status": "failed", "error": str(e), "attempts": attempts}
        except DatagenError as e:
            return {"job": job.id, "status": "failed", "error": str(e), "attempts": attempts}
        except Exception as e:  # noqa: BLE001 - one bad job never stops the run
            return {
                "job": job.id,
                "status": "failed",
                "error": f"{type(e).__name__}: {e}",
                "traceback": traceback.format_exc(limit=6),
                "attempts": attempts,
            }


def recycle_if_needed(handle, opts: WorkerOptions) -> None:
    """Count one job on ``handle``; close its worker after ``recycle_jobs`` jobs or above ``recycle_mb``."""
    handle.jobs += 1
    if handle.jobs >= opts.recycle_jobs or handle.rss_mb > opts.recycle_mb:
        handle.close()
