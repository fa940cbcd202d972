"""Executors: run a job list through ``Runner.run`` (``datagen.jobs``) with render workers.

- ``local.run_local``: N Blender worker subprocesses, one parent thread each (default).
- ``ray_executor.run_ray``: Ray actors, each owning one worker subprocess.
- ``slurm``: an sbatch array script whose tasks run ``datagen generate --shard i/N``.

``base`` holds what they share: ``WorkerOptions``, the retry rule (``run_with_retries``), resume
(``pending_jobs``), worker recycling and how an outcome is counted in the run's summary.
"""

from datagen.executors.base import WorkerOptions, count, pending_jobs, recycle_if_needed, run_with_retries

__all__ = ["WorkerOptions", "count", "pending_jobs", "recycle_if_needed", "run_with_retries"]
