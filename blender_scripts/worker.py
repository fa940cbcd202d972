"""A long-lived render worker: ``python -m blender_scripts.worker``.

Protocol (JSON lines). Each line on stdin is one request:
``{"spec": path, "out": dir, "spec_dir": optional dir, "device": optional, "threads": optional,
"id": optional}`` (device and threads: ``datagen.spec.RenderRuntime``), or
``{"cmd": "ping"}``, or ``{"cmd": "exit"}``. For each request the worker writes exactly one
line on stdout:
``{"ok": true, "id": ..., "views": [...], "seconds": t, "rss_mb": m, "jobs": n}`` or
``{"ok": false, "id": ..., "error": "one line", "traceback": "..."}``.
Everything else (Blender's ``Fra:`` lines, warnings, Python prints) goes to stderr: file
descriptor 1 is pointed at stderr before bpy is imported, and the protocol uses a
private duplicate of the original stdout. bpy is imported once per process; each job
resets the scene (``render.render`` starts from factory settings).

The client side (start, timeouts, crashes, recycling) is ``datagen.executors.worker.WorkerHandle``.
"""

from __future__ import annotations

import json
import os
import shutil
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
    from datagen.spec import RenderRuntime

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
    runtime = RenderRuntime(req.get("device", "cpu"), int(req.get("threads", 0)))
    views = render_files(req["spec"], req["out"], req.get("spec_dir"), runtime)
    return {"ok": True, "views": views, "seconds": round(time.perf_counter() - t, 4), "rss_mb": rss_mb(), "jobs": jobs_done + 1}


def _exit_now(code: int) -> None:
    """Leave without Blender's teardown (0.1-0.15 s of freeing memory after a render): every
    output is already written and renamed and every answer flushed. Removes Blender's session
    temporary folder, the one thing that teardown would have cleaned up."""
    import bpy

    tmp = bpy.app.tempdir
    if tmp and os.path.basename(os.path.normpath(tmp)).startswith("blender_"):
        shutil.rmtree(tmp, ignore_errors=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


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
    _exit_now(0)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
