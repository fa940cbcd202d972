"""A whole run: plan, execute (local pool or Ray, whole plan or one shard), finalize; its progress.

``generate_dataset(runner, ...)`` is the same for every kind of data; the runner
(``datagen.jobs``) knows the kind's plan, splits and job function. ``run_status(root)``
rebuilds the plan from dataset.json and counts the job markers (``datagen status``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path

from datagen.batch import DONE, DROPPED, FAILED, REFUSED, Summary
from datagen.dataset import format as F
from datagen.errors import InputError
from datagen.executors import WorkerOptions
from datagen.io import read_json
from datagen.jobs import JOBS_DIR, Runner, clean_work, runner_from_args
from datagen.plan import shard as take_shard
from datagen.spec import RenderRuntime


def default_threads(workers: int) -> int:
    """Cycles threads per worker: the machine's cores shared among the workers (at least 1)."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def generate_dataset(
    runner: Runner,
    *,
    workers: int = 1,
    executor: str = "local",
    address: str | None = None,
    shard: tuple[int, int] | None = None,
    opts: WorkerOptions | None = None,
    progress: bool = True,
    finalize: bool | None = None,
    finalize_only: bool = False,
) -> tuple[Summary | None, dict | None]:
    """Run the runner's plan (or one shard of it) and finalize. Returns ``(Summary | None, counts | None)``.

    shard : (index, count) runs that slice of the plan; it does not finalize (run again with
    ``finalize_only`` after all shards) unless ``finalize=True``. Jobs already done are skipped.
    opts : worker options; ``opts.runtime.threads == 0`` becomes ``default_threads(workers)``.
    """
    if executor not in ("local", "ray"):
        raise ValueError(f"executor must be local or ray, got {executor!r}")
    opts = opts or WorkerOptions()
    if opts.runtime.threads == 0:
        opts = dataclasses.replace(opts, runtime=RenderRuntime(opts.runtime.device, default_threads(workers)))
    runner.write_splits()
    if finalize_only:
        return None, runner.writer.finalize()
    jobs = runner.plan()
    failures = runner.out / "failures.jsonl"
    if shard is not None:
        jobs = take_shard(jobs, *shard)
        failures = runner.out / f"failures.shard-{shard[0]}-of-{shard[1]}.jsonl"
    if executor == "ray":
        from datagen.executors.ray_executor import run_ray

        summary = run_ray(runner, jobs, workers, opts, address=address, progress=progress, failures_path=failures)
    else:
        from datagen.executors.local import run_local

        summary = run_local(runner, jobs, workers, opts, progress=progress, failures_path=failures)
    clean_work(runner.out)  # safe while other processes (shards, twin runs) still work in it
    if finalize is None:
        finalize = shard is None
    counts = runner.writer.finalize() if finalize else None
    return summary, counts


# --- progress of a run --------------------------------------------------------------------------------
PENDING = "pending"
STATUS_COLUMNS = ("planned", DONE, REFUSED, DROPPED, FAILED, PENDING)
KIND_ORDER = ("ref", "normal", "anomaly", "scene")


def _failed_ids(root: Path) -> set:
    """Job ids listed in ``failures.jsonl`` and ``failures.shard-*.jsonl`` (unreadable lines skipped)."""
    ids = set()
    for p in sorted(root.glob("failures*.jsonl")):
        try:
            lines = p.read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        for line in lines:
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict) and row.get("item"):
                ids.add(row["item"])
    return ids


def status_runner(root: str | os.PathLike, library: str | os.PathLike | None = None) -> Runner:
    """The runner that wrote ``root``, rebuilt from dataset.json (config, seed, ``run`` record);
    ``library`` overrides the recorded shape library path."""
    root = Path(root)
    info_path = root / F.DATASET_JSON
    info = read_json(info_path)
    if not isinstance(info, dict) or "config" not in info or "seed" not in info:
        raise InputError(info_path, "not a dataset.json with config and seed")
    run = info.get("run")
    if not isinstance(run, dict) or "kind" not in run:
        raise InputError(info_path, "no run record (written by an older datagen, or imported): run the same "
                                    "`datagen generate` / `datagen scenes` command once to record it")
    args = dict(run, config=info["config"], seed=info["seed"], out=str(root))
    if library is not None:
        args["library"] = str(Path(library).resolve())
    try:
        return runner_from_args(args)
    except (ValueError, TypeError) as e:
        raise InputError(info_path, f"cannot rebuild the run from its record: {e}") from None


def run_status(root: str | os.PathLike, library: str | os.PathLike | None = None, runner: Runner | None = None) -> dict:
    """Progress of the run writing ``root``, from its plan and the job markers; safe while it runs.

    Per job kind (ref / normal / anomaly for looking3d, scene for scenes): planned, done, refused,
    dropped (markers), failed (no marker, listed in ``failures*.jsonl``) and pending (neither).
    images : samples (or scenes) the done jobs wrote. Rates use the markers' times: from the first
    job's start (its marker's mtime less the seconds it records) to the last marker, so a pause
    between two runs lowers them. eta_s : pending jobs at that rate (None before any job is done).
    """
    root = Path(root)
    runner = runner or status_runner(root, library)
    try:
        jobs = runner.plan()
    except InputError as e:
        if not runner.library.is_dir():
            raise InputError(runner.library, "shape library not found (the plan needs it): pass --shapes") from None
        raise e
    failed = _failed_ids(root)
    table: dict[str, dict] = {}
    images = references = 0
    first = last = None
    for job in jobs:
        row = table.setdefault(job.kind, dict.fromkeys(STATUS_COLUMNS, 0))
        row["planned"] += 1
        path = runner.marker_path(job)
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            row[FAILED if job.id in failed else PENDING] += 1
            continue
        try:
            marker = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            marker = {}
        status = marker.get("status") if marker.get("status") in (DONE, REFUSED, DROPPED) else DONE
        row[status] += 1
        if status == DONE:
            n = len(marker.get("samples") or [])
            if job.kind == "ref":
                references += n
            else:
                images += n
        seconds = marker.get("seconds")
        start = mtime - (float(seconds) if isinstance(seconds, (int, float)) else 0.0)
        first = start if first is None else min(first, start)
        last = mtime if last is None else max(last, mtime)
    kinds = sorted(table, key=lambda k: (KIND_ORDER.index(k) if k in KIND_ORDER else len(KIND_ORDER), k))
    by_kind = {k: table[k] for k in kinds}
    total = {c: sum(r[c] for r in by_kind.values()) for c in STATUS_COLUMNS}
    finished = total[DONE] + total[REFUSED] + total[DROPPED]
    markers = sum(1 for _, _, names in os.walk(root / JOBS_DIR) for n in names if n.endswith(".done"))
    elapsed = (last - first) if first is not None else None
    rate = finished / elapsed if elapsed and elapsed > 0 else None  # jobs per second
    return {
        "root": str(root),
        "kind": runner.kind,
        "unit": "scenes" if runner.kind == "oddoneout" else "samples",
        "jobs": by_kind,
        "total": total,
        "finished": finished,
        "images": images,
        "references": references,
        "elapsed_s": None if elapsed is None else round(elapsed, 1),
        "images_per_hour": None if not elapsed or elapsed <= 0 else round(images / elapsed * 3600, 1),
        "jobs_per_hour": None if rate is None else round(rate * 3600, 1),
        "eta_s": (0.0 if total[PENDING] == 0 else None) if rate is None else round(total[PENDING] / rate, 1),
        "last_job_s_ago": None if last is None else round(max(0.0, time.time() - last), 1),
        "unplanned_markers": max(0, markers - finished),
        "finalized": (root / F.INDEX_JSONL).is_file() and (last is None or (root / F.INDEX_JSONL).stat().st_mtime >= last),
    }


def _duration(s: float | None) -> str:
    if s is None:
        return "?"
    s = int(round(s))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def format_status(st: dict) -> str:
    """One summary line and a table of ``run_status`` (per kind: planned, done, ... pending)."""
    t, unit = st["total"], st["unit"]
    line = (f"{st['root']}: {st['finished']} of {t['planned']} jobs finished "
            f"({100 * st['finished'] / max(1, t['planned']):.0f} %), {t[FAILED]} failed, {t[PENDING]} pending; "
            f"{st['images']} {unit} written")
    if st["images_per_hour"] is not None:
        line += f", {st['images_per_hour']:.0f} {unit}/h"
    if t[PENDING]:
        line += f"; ETA {_duration(st['eta_s'])}"
    if st["last_job_s_ago"] is not None:
        line += f" (last job {_duration(st['last_job_s_ago'])} ago)"
    if not t[PENDING] and not t[FAILED]:
        line += "; complete" + ("" if st["finalized"] else ": not finalized yet")
    rows = [("kind",) + STATUS_COLUMNS] + [(k,) + tuple(str(r[c]) for c in STATUS_COLUMNS) for k, r in st["jobs"].items()]
    rows.append(("total",) + tuple(str(t[c]) for c in STATUS_COLUMNS))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    table = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
    extra = []
    if st["unplanned_markers"]:
        extra.append(f"{st['unplanned_markers']} job markers are not in this plan (another config or shape library?)")
    return "\n".join([line] + table + extra)
