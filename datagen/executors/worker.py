"""A handle on one render worker subprocess (``python -m blender_scripts.worker`` by default).

Protocol: one JSON request per line on the worker's stdin, one JSON answer per line on its
stdout (lines that are not a JSON object with ``"ok"`` are ignored as noise). The handle is
the ``renderer`` the job function calls: ``render(spec_path, out_dir) -> answer``. A worker
that dies or exceeds ``timeout`` seconds on one request is killed and ``WorkerCrashed`` is
raised; the next request starts a fresh worker. ``jobs``/``rss_mb`` drive recycling.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

from datagen.errors import DatagenError
from datagen.spec import RenderRuntime

DEFAULT_WORKER_CMD = (sys.executable, "-m", "blender_scripts.worker")


class WorkerCrashed(DatagenError):
    """The worker process died or timed out (it has been killed; retry on a fresh one)."""


class WorkerHandle:
    """cmd : worker command line. timeout : seconds per render request. log : file for the worker's stderr.
    runtime : device and threads sent with every render request."""

    def __init__(self, cmd=DEFAULT_WORKER_CMD, timeout: float = 900.0, log: str | os.PathLike | None = None, env=None,
                 runtime: RenderRuntime = RenderRuntime()):
        self.cmd = list(cmd)
        self.runtime = runtime
        self.timeout = float(timeout)
        self.log = None if log is None else Path(log)
        self.env = env
        self.proc: subprocess.Popen | None = None
        self._buf = b""
        self.jobs = 0  # jobs run on the current process (the executor counts them)
        self.rss_mb = 0.0
        self.starts = 0

    # --- process lifecycle --------------------------------------------------------------
    def start(self) -> None:
        err = subprocess.DEVNULL
        if self.log is not None:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            err = open(self.log, "ab")
        try:
            self.proc = subprocess.Popen(
                self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, env=self.env, bufsize=0
            )
        finally:
            if err is not subprocess.DEVNULL:
                err.close()
        self._buf = b""
        self.jobs = 0
        self.rss_mb = 0.0
        self.starts += 1

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.proc is not None:
            try:
                self.proc.kill()
            except OSError:
                pass
            self.proc.wait()
            for f in (self.proc.stdin, self.proc.stdout):
                try:
                    f.close()
                except OSError:
                    pass
            self.proc = None

    def close(self, timeout: float = 20.0) -> None:
        """Ask the worker to exit; kill it if it does not within ``timeout`` seconds."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b'{"cmd": "exit"}\n')
                self.proc.stdin.flush()
                self.proc.wait(timeout=timeout)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()

    # --- requests ---------------------------------------------------------------------------
    def _read_answer(self, deadline: float) -> dict:
        fd = self.proc.stdout.fileno()
        while True:
            while b"\n" in self._buf:
                line, self._buf = self._buf.split(b"\n", 1)
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue  # noise on stdout
                if isinstance(msg, dict) and "ok" in msg:
                    return msg
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise WorkerCrashed(f"worker timed out after {self.timeout:.0f} s (killed)")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                code = self.proc.wait()
                self.kill()
                raise WorkerCrashed(f"worker died (exit code {code})")
            self._buf += chunk

    def request(self, req: dict) -> dict:
        if not self.alive:
            if self.proc is not None:
                self.kill()
            self.start()
        try:
            self.proc.stdin.write((json.dumps(req) + "\n").encode())
            self.proc.stdin.flush()
        except OSError:
            code = self.proc.poll()
            self.kill()
            raise WorkerCrashed(f"worker died (exit code {code}, broken pipe)") from None
        answer = self._read_answer(time.monotonic() + self.timeout)
        if "rss_mb" in answer:
            self.rss_mb = float(answer["rss_mb"])
        return answer

    def render(self, spec_path: str, out_dir: str) -> dict:
        """Render one spec: the worker's answer dict (``ok`` true or false); raises ``WorkerCrashed``."""
        return self.request({"spec": str(spec_path), "out": str(out_dir), "device": self.runtime.device,
                             "threads": self.runtime.threads})

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
