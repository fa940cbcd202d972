"""Render SceneSpec files with one Blender worker subprocess (what ``datagen render-spec`` does)."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

from datagen.errors import InputError, RenderFailed
from datagen.executors.worker import DEFAULT_WORKER_CMD, WorkerHandle
from datagen.spec import RenderRuntime, SceneSpec


def read_specs(path: str | os.PathLike) -> list[dict]:
    """The spec JSON objects in ``path``: one JSON object, or one per line. Errors name the file and line."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        return [json.loads(text)]
    except json.JSONDecodeError:
        pass
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise InputError(path, f"line {n}: bad JSON: {e.msg}") from None
    if not out:
        raise InputError(path, "no spec found")
    return out


def _folder_name(spec: dict, i: int) -> str:
    meta = spec.get("meta") or {}
    name = "__".join(str(x) for x in (meta.get("job"), meta.get("tag")) if x) or f"spec{i:04d}"
    return re.sub(r"[^A-Za-z0-9_.\-]+", "__", name)


def render_spec_file(path, out, runtime: RenderRuntime = RenderRuntime(), timeout: float = 900.0,
                     cmd=DEFAULT_WORKER_CMD):
    """Render every spec of ``path`` into ``out`` (one spec) or ``out/<job>__<tag>/`` (several).

    Yields ``(folder, views)`` per spec (views: the worker's per-camera file list). Relative mesh
    paths resolve against the spec file's folder. Raises ``InputError`` for a bad spec and
    ``RenderFailed`` when Blender refuses one.
    """
    path = Path(path).resolve()
    specs = read_specs(path)
    out = Path(out)
    with WorkerHandle(cmd, timeout=timeout, log=out / "render-spec.log", runtime=runtime) as w:
        for i, d in enumerate(specs):
            SceneSpec.from_json(d, where=f"{path} (spec {i + 1})")  # validate before Blender sees it
            folder = out if len(specs) == 1 else out / _folder_name(d, i)
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", suffix=".json", dir=out, delete=False) as f:
                json.dump(d, f)
            try:
                answer = w.request({"spec": f.name, "out": str(folder), "spec_dir": str(path.parent),
                                    "device": runtime.device, "threads": runtime.threads})
            finally:
                os.unlink(f.name)
            if not answer.get("ok"):
                raise RenderFailed(f"{path} (spec {i + 1}): {answer.get('error')}")
            yield folder, answer["views"]
