"""Local executor: ``workers`` render worker subprocesses, each driven by one thread of this process.

The threads run the job function (``datagen.jobs``: spec building, masks, writing)
and send the renders to their own worker. Jobs already done (marker file) are counted as
skipped without starting any worker, so a resumed run that has nothing left is instant.
"""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path

from tqdm import tqdm

from datagen.batch import Summary
from datagen.executors.base import WorkerOptions, count, pending_jobs, recycle_if_needed, run_with_retries
from datagen.executors.worker import DEFAULT_WORKER_CMD, WorkerHandle


def run_local(runner, jobs, workers: int = 1, opts: WorkerOptions | None = None, progress: bool = True,
              failures_path=None) -> Summary:
    """Run ``jobs`` (``datagen.plan.Job``) through ``runner.run`` on ``workers`` worker subprocesses.

    Returns the ``datagen.batch.Summary``; failed jobs go to ``failures_path`` (default ``<out>/failures.jsonl``).
    """
    opts = opts or WorkerOptions()
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    t0 = time.perf_counter()
    summary = Summary()
    todo = pending_jobs(runner, jobs, summary)
    bar = tqdm(total=len(jobs), initial=summary.counts["skipped"], desc="jobs", unit="job", disable=not progress)
    q: queue.Queue = queue.Queue()
    for job in todo:
        q.put(job)
    results: queue.Queue = queue.Queue()
    cmd = tuple(opts.cmd) if opts.cmd else DEFAULT_WORKER_CMD
    log_dir = Path(runner.out) / "logs"

    def slot(k: int) -> None:
        handle = WorkerHandle(cmd, timeout=opts.job_timeout, log=log_dir / f"worker-{k}.log", runtime=opts.runtime)
        try:
            while True:
                try:
                    job = q.get_nowait()
                except queue.Empty:
                    return
                out = run_with_retries(runner, job, handle, opts.retries)
                if handle.alive:
                    recycle_if_needed(handle, opts)
                results.put(out)
        finally:
            handle.close()

    threads = [threading.Thread(target=slot, args=(k,), daemon=True) for k in range(min(workers, max(1, len(todo))))]
    for t in threads:
        t.start()
    try:
        for _ in range(len(todo)):
            out = results.get()
            count(summary, out)
            bar.update(1)
            c = summary.counts
            bar.set_postfix(done=c["done"], refused=c["refused"], dropped=c["dropped"], failed=c["failed"], refresh=False)
    finally:
        bar.close()
    for t in threads:
        t.join()
    summary.write_lists(failures_path or Path(runner.out) / "failures.jsonl")
    summary.seconds = time.perf_counter() - t0
    return summary
