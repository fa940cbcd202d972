"""Running jobs: build a job's specs (``datagen.scenes``), render them through a renderer, read the
files back, post-process (masks, boxes, labels) and write the dataset (``datagen.dataset``).

``runner``: ``Runner`` (what every job of a run shares, and the job function ``run(job, renderer)``),
resume markers and work folders, ``runner_from_args`` (a runner rebuilt in another process).
One subclass per kind of data: ``looking3d.Looking3DRunner``, ``oddoneout.ScenesRunner``.
"""

from datagen.jobs.runner import (
    JOBS_DIR,
    RUNNERS,
    WORK_DIR,
    JobResult,
    Runner,
    clean_work,
    make_work_dir,
    read_views,
    runner_class,
    runner_from_args,
)

__all__ = [
    "JOBS_DIR",
    "RUNNERS",
    "WORK_DIR",
    "JobResult",
    "Runner",
    "clean_work",
    "make_work_dir",
    "read_views",
    "runner_class",
    "runner_from_args",
]
