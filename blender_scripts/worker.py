"""A long-lived render worker: ``python -m blender_scripts.worker``.

Protocol (JSON lines). Each line on stdin is one request:
``{"spec": path, "out": dir, "spec_dir": optional dir, "id": optional}``, or
``{"cmd": "ping"}``, or ``{"cmd": "exit"}``. For each request the worker writes exactly one
line on stdout:
``{"ok": true, "id": ..., "views": [...], "seconds": t, "rss_mb": m, "jobs": n}`` or
``{"ok": false, "id": ..., "error": "one line", "traceback": "..."}``.
Everything else (Blender's ``Fra:`` lines, warnings, Python prints) goes to stderr: file
descriptor 1 is pointed at stderr before bpy is imported, and the protocol uses a
private duplicate of the original stdout. bpy is imported once per process; each job
resets the scene (``render.render`` starts from factory settings).

``WorkerClient`` (no bpy import) starts and drives one worker from another process,
with a per-job timeout and recycling after ``max_jobs`` jobs or ``max_rss_mb``.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
import traceback


def rss_mb() -> float:
    """Resident set size of this process in MB (from /proc; 0 when unavailable)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024.0, 1)
    except OSError:
        pass
    return 0.0


def _one_line(e: BaseException) -> str:
    from datagen.errors import DatagenError

    msg = str(e) if isinstance(e, DatagenError) else f"{type(e).__name__}: {e}"
    return " ".join(msg.split())


def _handle(req, jobs_done: int) -> dict:
    from blender_scripts.render import render_files

    if not isinstance(req, dict):
        raise ValueError("request must be a JSON object")
    if req.get("cmd") == "ping":
        return {"ok": True, "pong": True, "pid": os.getpid(), "rss_mb": rss_mb(), "jobs": jobs_done}
    if "cmd" in req:
        raise ValueError(f"unknown cmd {req['cmd']!r} (ping, exit)")
    for k in ("spec", "out"):
        if k not in req:
            raise ValueError(f"request lacks {k!r}")
    t = time.perf_counter()
    views = render_files(req["spec"], req["out"], req.get("spec_dir"))
    return {"ok": True, "views": views, "seconds": round(time.perf_counter() - t, 4), "rss_mb": rss_mb(), "jobs": jobs_done + 1}


def main() -> int:
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    sys.stdout.flush()
    os.dup2(2, 1)  # Blender (C) and Python prints now go to stderr
    sys.stdout = sys.stderr
    import bpy  # noqa: F401  (once per process)

    jobs = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        rid = None
        try:
            req = json.loads(line)
            rid = req.get("id") if isinstance(req, dict) else None
            if isinstance(req, dict) and req.get("cmd") == "exit":
                proto.write(json.dumps({"ok": True, "id": rid, "bye": True, "jobs": jobs}) + "\n")
                break
            reply = _handle(req, jobs)
            if "views" in reply:
                jobs += 1
        except Exception as e:  # report and go on: one bad job must not kill the worker
            reply = {"ok": False, "error": _one_line(e), "traceback": traceback.format_exc()}
        reply["id"] = rid
        sys.stderr.flush()
        proto.write(json.dumps(reply) + "\n")
    proto.flush()
    return 0


class WorkerError(RuntimeError):
    """The worker process died or timed out (the job may be retried in a fresh worker)."""


class WorkerClient:
    """Drive one ``blender_scripts.worker`` subprocess; restart it when it dies or grows.

    ``submit(job)`` sends one request dict and returns the reply dict; raises
    ``WorkerError`` if the worker dies or exceeds ``timeout`` seconds (it is then killed
    and a fresh one starts on the next call). The worker is recycled after ``max_jobs``
    jobs or when its reported RSS exceeds ``max_rss_mb``.
    """

    def __init__(self, timeout: float = 600.0, max_jobs: int = 200, max_rss_mb: float = 4000.0, stderr=None, env=None):
        self.timeout = timeout
        self.max_jobs = max_jobs
        self.max_rss_mb = max_rss_mb
        self.stderr = stderr
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.jobs = 0
        self.starts = 0

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "blender_scripts.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr if self.stderr is not None else subprocess.DEVNULL,
            text=True,
            bufsize=1,
            env=self.env,
        )
        self.jobs = 0
        self.starts += 1

    def _read_line(self, timeout: float) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            self.kill()
            raise WorkerError(f"worker timed out after {timeout:.0f} s")
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            self.proc = None
            raise WorkerError(f"worker died (exit code {code})")
        return line

    def submit(self, job: dict, timeout: float | None = None) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        try:
            self.proc.stdin.write(json.dumps(job) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            self.proc = None
            raise WorkerError("worker died (broken pipe)") from None
        reply = json.loads(self._read_line(self.timeout if timeout is None else timeout))
        if reply.get("views") is not None:
            self.jobs += 1
            if self.jobs >= self.max_jobs or reply.get("rss_mb", 0) > self.max_rss_mb:
                self.close()
        return reply

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def close(self, timeout: float = 30.0) -> None:
        """Ask the worker to exit; kill it if it does not within ``timeout`` seconds."""
        if self.proc is None:
            return
        try:
            if self.proc.poll() is None:
                self.proc.stdin.write(json.dumps({"cmd": "exit"}) + "\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=timeout)
        except (BrokenPipeError, subprocess.TimeoutExpired, OSError):
            self.kill()
        self.proc = None

    def __enter__(self) -> "WorkerClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


if __name__ == "__main__":
    sys.exit(main())
