"""Ray executor: ``workers`` Ray actors, each owning one render worker subprocess.

Each actor rebuilds the runner from its plain arguments (``Runner.args()``), so the
same job function runs on any node of a Ray cluster that sees the shape library and the
dataset root (a shared file system). ``ray`` is imported only here, when this executor is used.

Losing a node never hangs the run:

- A job whose actor dies (its node or raylet killed, the actor process killed) or does not answer
  within ``job_deadline(opts)`` (every attempt's ``job_timeout`` plus a worker start each) is
  *lost*: the actor is killed and the job goes back to the front of the queue, where a surviving
  actor takes it over. A job lost more than ``opts.retries`` times is failed.
- A replacement actor is asked for after each loss, but only an actor that has answered its start
  ping gets work: a replacement that waits for a CPU the cluster no longer has blocks nothing.
- An actor that has not started within ``opts.job_timeout`` seconds is given up. When no actor is
  left (all lost, none could start), the jobs still queued are failed and ``run_ray`` raises one
  ``DatagenError`` line; ``failures.jsonl`` is written in every case, so rerunning resumes.
"""

from __future__ import annotations

import collections
import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from datagen.batch import FAILED, Summary
from datagen.errors import DatagenError
from datagen.executors.base import WorkerOptions, count, pending_jobs, recycle_if_needed, run_with_retries

WORKER_START_S = 60.0  # allowance per attempt for starting a render worker (import bpy, first scene)
POLL_S = 5.0  # longest single wait of the driver (so deadlines are checked at least this often)


def _import_ray():
    try:
        import ray
    except ImportError:
        raise DatagenError("--executor ray needs Ray: pip install 'ray[default]' (or use --executor local)") from None
    return ray


def job_deadline(opts: WorkerOptions) -> float:
    """Seconds the driver waits for one job's answer before it declares the job lost: each of the
    ``retries + 1`` attempts may take ``job_timeout`` plus a worker start (``WORKER_START_S``)."""
    return (opts.retries + 1) * (opts.job_timeout + WORKER_START_S)


def one_line(e: BaseException) -> str:
    """``Type: last line of the message`` (Ray errors carry whole remote tracebacks)."""
    lines = [x.strip() for x in str(e).splitlines() if x.strip()]
    return f"{type(e).__name__}: {lines[-1] if lines else ''}".rstrip(": ")


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

    def ping(self) -> str:
        """Where this actor runs (``host:pid``); its answer tells the driver the actor has started."""
        return f"{socket.gethostname()}:{os.getpid()}"

    def run(self, job_json: dict) -> dict:
        from datagen.plan import Job

        out = run_with_retries(self.runner, Job.from_json(job_json), self.handle, self.opts.retries)
        if self.handle.alive:
            recycle_if_needed(self.handle, self.opts)
        return out

    def close(self) -> bool:
        self.handle.close()
        return True


@dataclass
class _Slot:
    """One actor of the pool. ref : its call in flight (the start ping while not ``ready``, else a job's
    run) or None when idle; job : the job of that call; deadline : monotonic time the call must answer by."""

    actor: object
    number: int
    ref: object = None
    job: object = None
    deadline: float = float("inf")
    ready: bool = False


class _Pool:
    """The actors of one run and their calls in flight (driver side)."""

    def __init__(self, ray, actor_cls, runner_args: dict, opts: WorkerOptions):
        self.ray, self.actor_cls, self.runner_args, self.opts = ray, actor_cls, runner_args, opts
        self.slots: list[_Slot] = []
        self.started = 0
        self.last_problem = ""  # why the last actor was given up, for the final error line

    def spawn(self) -> None:
        """Ask for one more actor; it gets work once its start ping answers (within ``job_timeout``)."""
        actor = self.actor_cls.remote(self.runner_args, self.opts, self.started)
        self.slots.append(_Slot(actor, self.started, actor.ping.remote(), None, time.monotonic() + self.opts.job_timeout))
        self.started += 1

    def idle(self) -> list[_Slot]:
        return [s for s in self.slots if s.ready and s.ref is None]

    def busy(self) -> bool:
        return any(s.job is not None for s in self.slots)

    def submit(self, slot: _Slot, job) -> None:
        slot.ref, slot.job = slot.actor.run.remote(job.to_json()), job
        slot.deadline = time.monotonic() + job_deadline(self.opts)

    def drop(self, slot: _Slot, problem: str) -> None:
        """Kill ``slot``'s actor (dead or unresponsive) and forget it."""
        self.last_problem = problem
        self.slots.remove(slot)
        try:
            self.ray.kill(slot.actor, no_restart=True)
        except Exception:  # noqa: BLE001 - an actor that is already gone
            pass

    def wait(self) -> tuple[list[_Slot], list[_Slot]]:
        """Block until a call answers or a deadline passes (at most ``POLL_S``). Returns
        ``(answered, overdue)`` slots."""
        calls = {s.ref: s for s in self.slots if s.ref is not None}
        if not calls:
            return [], []
        now = time.monotonic()
        timeout = max(0.0, min(POLL_S, min(s.deadline for s in calls.values()) - now))
        ready, _ = self.ray.wait(list(calls), num_returns=1, timeout=timeout)
        if ready:  # and whatever else has answered meanwhile
            ready, _ = self.ray.wait(list(calls), num_returns=len(calls), timeout=0)
        answered = [calls[r] for r in ready]
        now = time.monotonic()
        overdue = [s for s in calls.values() if s not in answered and s.deadline <= now]
        return answered, overdue

    def close(self) -> None:
        """Let every started actor stop its render worker (30 s), then kill all actors."""
        closing = [s.actor.close.remote() for s in self.slots if s.ready and s.ref is None]
        if closing:
            try:
                self.ray.wait(closing, num_returns=len(closing), timeout=30)
            except Exception:  # noqa: BLE001 - the cluster may be gone
                pass
        for s in list(self.slots):
            self.drop(s, self.last_problem)


def run_ray(runner, jobs, workers: int = 2, opts: WorkerOptions | None = None, address: str | None = None,
            progress: bool = True, failures_path=None, init_kwargs: dict | None = None) -> Summary:
    """Run ``jobs`` on ``workers`` Ray actors (``ray.init(address)`` unless Ray is already initialized).

    ``init_kwargs`` go to ``ray.init`` (e.g. ``num_cpus`` for a local test). Each actor reserves 1 CPU;
    actors are spread over the nodes. Lost actors and jobs: see the module docstring. Raises
    ``DatagenError`` (one line) when jobs were left without any actor to run them, after writing
    ``failures_path`` (default ``<out>/failures.jsonl``).
    """
    ray = _import_ray()
    opts = opts or WorkerOptions()
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    t0 = time.perf_counter()
    if not ray.is_initialized():
        ray.init(address=address, **(init_kwargs or {"include_dashboard": False, "log_to_driver": False}))
    summary = Summary()
    todo = pending_jobs(runner, jobs, summary)
    bar = tqdm(total=len(jobs), initial=summary.counts["skipped"], desc="jobs", unit="job", disable=not progress)
    actor_cls = ray.remote(num_cpus=1, max_restarts=0, scheduling_strategy="SPREAD")(_Actor)
    pool = _Pool(ray, actor_cls, runner.args(), opts)
    queue = collections.deque(todo)
    losses: collections.Counter = collections.Counter()
    stopped = None  # why jobs were left without an actor

    def finish(outcome: dict) -> None:
        count(summary, outcome)
        bar.update(1)

    def lost(slot: _Slot, problem: str) -> None:
        job = slot.job
        pool.drop(slot, problem)
        losses[job.id] += 1
        if losses[job.id] <= opts.retries:
            queue.appendleft(job)  # a surviving actor takes it over
            tqdm.write(f"ray: {job.id}: {problem}; queued again for another actor", file=sys.stderr)
        else:
            finish({"job": job.id, "status": FAILED, "error": f"ray: {problem}", "attempts": losses[job.id]})
        pool.spawn()  # a replacement, used only once it has started

    try:
        for _ in range(min(workers, len(todo))):
            pool.spawn()
        while queue or pool.busy():
            for slot in pool.idle():
                if queue:
                    pool.submit(slot, queue.popleft())
            if not pool.slots:
                stopped = f"no Ray actor left to run the last {len(queue)} jobs ({pool.last_problem})"
                break
            answered, overdue = pool.wait()
            for slot in answered:
                try:
                    value = ray.get(slot.ref)
                except ray.exceptions.RayTaskError as e:  # our code raised in the actor: the job fails, the actor lives
                    if slot.job is None:
                        pool.drop(slot, f"actor could not start: {one_line(e)}")
                        continue
                    value = {"job": slot.job.id, "status": FAILED, "error": f"ray: {one_line(e)}"}
                except ray.exceptions.RayError as e:  # the actor (or its node) died
                    if slot.job is None:
                        pool.drop(slot, f"actor could not start: {one_line(e)}")
                    else:
                        lost(slot, f"actor lost while running it: {one_line(e)}")
                    continue
                if slot.job is None:
                    slot.ready = True
                else:
                    finish(value)
                slot.ref = slot.job = None
                slot.deadline = float("inf")
            for slot in overdue:
                if slot.job is None:
                    pool.drop(slot, f"an actor did not start within {opts.job_timeout:.0f} s (no free CPU in the cluster?)")
                else:
                    lost(slot, f"no answer within {job_deadline(opts):.0f} s (actor or node unresponsive)")
    except ray.exceptions.RayError as e:  # the cluster itself is gone (head node, connection)
        stopped = f"Ray cluster lost: {one_line(e)}"
    finally:
        in_flight = [s.job for s in pool.slots if s.job is not None]
        pool.close()
        if stopped:
            for job in in_flight + list(queue):
                finish({"job": job.id, "status": FAILED, "error": f"ray: {stopped}"})
        bar.close()
        summary.write_lists(failures_path or Path(runner.out) / "failures.jsonl")
        summary.seconds = time.perf_counter() - t0
    if stopped:
        raise DatagenError(f"ray: {stopped}; {summary.counts[FAILED]} jobs failed, listed in {summary.failures_path}; "
                           "rerun the same command to resume")
    return summary
