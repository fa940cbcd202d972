"""The job function and what a run shares. A job builds its specs (``datagen.scenes``), renders
them through a renderer, reads the files back, post-processes them (masks, boxes, labels) and
writes the dataset (``datagen.dataset``).

``Runner`` holds what every job of a run shares (the dataset writer, the shape library with a
cache, the material library) and does one job at a time: ``run(job, renderer) -> JobResult``.
A renderer is anything with ``render(spec_path, out_dir) -> answer`` (the worker protocol's
answer dict: ``{"ok": true, "views": [...]}`` or ``{"ok": false, "error": ...}``), so the job
code is pure Python and any executor (thread + Blender subprocess, Ray actor, Slurm task)
can call it. One subclass per kind of data: ``datagen.jobs.looking3d.Looking3DRunner``,
``datagen.jobs.oddoneout.ScenesRunner``.

Resume: after all its outputs a job writes ``<out>/jobs/<job id>.done`` (JSON: status,
samples written, views dropped, seconds); a job with that marker is skipped. Markers are
write-once (the first of two processes running the same job at once stays). A job's temporary
files go to ``<out>/.work/<job>+<host>+<pid>+XXXX/``, removed when it ends; ``clean_work`` removes
the leftovers of dead processes of this host only, so runs sharing ``<out>`` do not disturb
each other.
"""

from __future__ import annotations

import importlib
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from datagen.batch import SKIPPED
from datagen.config import GenConfig
from datagen.dataset.writer import DatasetWriter
from datagen.errors import InputError, RenderFailed
from datagen.io import dumps_json, write_once_bytes
from datagen.plan import Job
from datagen.scenes.bundle import SceneBundle
from datagen.seeding import rng_for
from datagen.shapes.library import list_shapes, read_shape
from datagen.shapes.model import Shape
from datagen.spec import Material, view_name

JOBS_DIR = "jobs"
WORK_DIR = ".work"


@dataclass
class JobResult:
    """status : done | skipped | refused | dropped (``datagen.batch.STATUSES``). samples : sample ids
    written (or the shape / scene id). dropped : view ids not kept. reason : for refused / dropped."""

    job_id: str
    status: str
    samples: list = field(default_factory=list)
    dropped: list = field(default_factory=list)
    reason: str | None = None
    seconds: float = 0.0
    anomaly: dict | None = None  # anomaly jobs: type, part, label of the corruption applied

    def to_json(self) -> dict:
        return {"job": self.job_id, "status": self.status, "samples": list(self.samples),
                "dropped": list(self.dropped), "reason": self.reason, "anomaly": self.anomaly}


def load_image(path: Path) -> np.ndarray:
    """PNG -> uint8 (H, W[, C]) or uint16 (H, W) for 16-bit images."""
    with Image.open(path) as img:
        if img.mode in ("I;16", "I;16B", "I;16L"):
            return np.asarray(img, dtype=np.uint16)
        if img.mode == "I":
            return np.asarray(img).astype(np.uint16)
        return np.asarray(img)


def read_views(out_dir: Path, n: int, passes) -> list[dict]:
    """The files a render wrote: ``[{"rgb": uint8 array, "depth": (H, W) float32 metres, "index": (H, W) uint16}]``."""
    views = []
    for c in range(n):
        stem = view_name(c)
        v = {}
        try:
            if "rgb" in passes:
                v["rgb"] = load_image(out_dir / f"{stem}.png")
            if "depth" in passes:
                v["depth"] = np.load(out_dir / f"{stem}_depth.npy", allow_pickle=False).astype(np.float32)
            if "index" in passes:
                v["index"] = load_image(out_dir / f"{stem}_index.png").astype(np.uint16)
        except (OSError, ValueError) as e:
            raise RenderFailed(f"{out_dir}: render output of view {c} missing or unreadable: {e}") from None
        views.append(v)
    return views


class Runner:
    """Shared state of a run and the job function (``run``); subclasses implement ``handle`` and ``plan``.

    config : GenConfig. library : shape library folder. out : dataset root. seed : run seed.
    shape_ids : the run's shapes (default: all of the library, sorted; ``limit`` keeps the first N).
    """

    kind = "base"
    config_class = GenConfig

    def __init__(self, config: GenConfig, library: str | os.PathLike, out: str | os.PathLike, seed: int,
                 shape_ids: list[str] | None = None, limit: int | None = None, shape_cache: int = 64):
        self.config = config
        self.library = Path(library)
        self.out = Path(out)
        self.seed = int(seed)
        if shape_ids is None:
            shape_ids = [p.name for p in list_shapes(self.library)]
        shape_ids = sorted(shape_ids)[:limit]
        if not shape_ids:
            raise InputError(self.library, "no shapes found (a shape folder holds parts.json)")
        self.shape_ids = shape_ids
        self._writer: DatasetWriter | None = None
        self._cache: OrderedDict[str, Shape] = OrderedDict()
        self._cache_size = shape_cache
        self._lock = threading.Lock()
        self._materials = None
        self.bad_donors: dict[str, str] = {}
        self._timing = threading.local()  # .seconds: where the current job's time went (per thread)

    @property
    def writer(self) -> DatasetWriter:
        """The dataset writer, opened on first use (a dry run that only builds specs writes nothing)."""
        if self._writer is None:
            self._writer = DatasetWriter(self.out, self.config.to_json(), self.seed, run=self.run_record())
        return self._writer

    # --- rebuilding in another process (Ray actors) -----------------------------------------
    def args(self) -> dict:
        """Plain, picklable arguments that rebuild this runner in another process (``runner_from_args``)."""
        return {"kind": self.kind, "config": self.config.to_json(), "library": str(self.library.resolve()),
                "out": str(self.out.resolve()), "seed": self.seed, "shape_ids": list(self.shape_ids)}

    def run_record(self) -> dict:
        """What rebuilds the plan besides config and seed (dataset.json ``run``; ``datagen status``):
        kind, library (absolute), shape_ids and the subclass's extra arguments (e.g. n_scenes)."""
        return {k: v for k, v in self.args().items() if k not in ("config", "out", "seed")}

    # --- what a subclass provides --------------------------------------------------------------
    def plan(self) -> list[Job]:
        raise NotImplementedError

    def splits(self) -> dict[str, list]:
        raise NotImplementedError

    def handle(self, job: Job, renderer, tmp: Path) -> JobResult:
        raise NotImplementedError

    def bundles(self, job: Job) -> list[SceneBundle]:
        """Every spec ``job`` may render, built without rendering (``--dry-run --specs``); may raise ``Refused``."""
        raise NotImplementedError

    # --- shared resources -------------------------------------------------------------------
    def write_splits(self) -> None:
        self.writer.write_splits(self.splits())

    def load_shape(self, shape_id: str) -> Shape:
        with self._lock:
            if shape_id in self._cache:
                self._cache.move_to_end(shape_id)
                return self._cache[shape_id]
        shape = read_shape(self.library / shape_id)
        with self._lock:
            self._cache[shape_id] = shape
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return shape

    def donors(self, shape_id: str):
        """``label -> [(shape_id, Part)]`` over a seeded subset (``donor_pool``) of the other shapes,
        loaded lazily. A donor that fails to load is skipped (and reported once on stderr)."""
        others = [s for s in self.shape_ids if s != shape_id]
        pick = rng_for(self.seed, "donors", shape_id).permutation(len(others))[: self.config.donor_pool]
        pool = sorted(others[i] for i in pick)

        def loaded():
            for sid in pool:
                try:
                    yield self.load_shape(sid)
                except InputError as e:
                    with self._lock:
                        new = sid not in self.bad_donors
                        self.bad_donors[sid] = str(e)
                    if new:
                        print(f"warning: donor shape {sid} skipped: {e}", file=sys.stderr)

        return lambda label: [(s.id, p) for s in loaded() for p in s.parts if p.label == label]

    def material_library(self) -> list[Material]:
        """The run's materials (``materials.library.run_library``): the presets, or with ``config.materials_dir``
        a ``MaterialLibrary`` of presets and the folder's texture materials. Raises ``InputError`` for a
        missing folder or one without a usable material."""
        with self._lock:
            if self._materials is None:
                try:
                    from materials.library import run_library
                except ImportError:
                    self._materials = [Material("gray", "flat")]
                else:
                    self._materials = run_library(self.config.n_materials, self.config.material_seed,
                                                  getattr(self.config, "materials_dir", None),
                                                  getattr(self.config, "materials_mix", None))
            return self._materials

    def materials_report(self) -> str | None:
        """With a texture folder: load the library now (so a bad folder stops the run before any
        rendering), list the unusable sub-folders in ``OUT/logs/materials_skipped.jsonl`` (JSON lines
        ``{"item": folder, "error": problem}``) and return one line for the user; None without a folder."""
        lib = self.material_library()
        textures, bad = getattr(lib, "textures", None), getattr(lib, "bad", [])
        if textures is None:
            return None
        line = f"materials: {lib.summary()}"
        if bad:
            import json

            from datagen.io import atomic_write_text

            path = self.out / "logs" / "materials_skipped.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, "".join(json.dumps(b, sort_keys=True) + "\n" for b in bad))
            line = line.replace(" skipped;", f" skipped (listed in {path});", 1)
        return line

    # --- resume ----------------------------------------------------------------------------
    def marker_path(self, job: Job) -> Path:
        return self.out / JOBS_DIR / f"{job.id}.done"

    def is_done(self, job: Job) -> bool:
        return self.marker_path(job).is_file()

    # --- the job function ------------------------------------------------------------------
    def run(self, job: Job, renderer) -> JobResult:
        """Do ``job`` with ``renderer`` (``.render(spec_path, out_dir) -> answer dict``); skip it if done."""
        t0 = time.perf_counter()
        if self.is_done(job):
            return JobResult(job.id, SKIPPED)
        tmp = make_work_dir(self.out / WORK_DIR, job.id)
        self._timing.seconds = {}
        try:
            result = self.handle(job, renderer, tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        result.seconds = round(time.perf_counter() - t0, 3)
        marker = dict(result.to_json(), seed=job.seed, split=job.split, seconds=result.seconds,
                      timings={k: round(v, 4) for k, v in sorted(self._timing.seconds.items())})
        write_once_bytes(self.marker_path(job), dumps_json(marker).encode())  # a racing twin's marker stays
        return result

    def render(self, bundle: SceneBundle, renderer, tmp: Path) -> list[dict]:
        """Write ``bundle`` into ``tmp``, render it, read the views back (``read_views``)."""
        spec_path = bundle.write(tmp)
        out_dir = tmp / f"{bundle.tag}_out"
        t = time.perf_counter()
        answer = renderer.render(str(spec_path), str(out_dir))
        if not isinstance(answer, dict) or not answer.get("ok"):
            err = answer.get("error") if isinstance(answer, dict) else answer
            raise RenderFailed(f"render of {bundle.tag} failed: {err}")
        self._add_timings(answer.get("views", []), time.perf_counter() - t)
        return read_views(out_dir, len(bundle.spec.cameras), bundle.spec.settings.passes)

    def _add_timings(self, views: list[dict], round_trip: float) -> None:
        """Add one render request's seconds to the current job's timings (written in its marker):
        ``blender`` = the request's round trip, ``build`` = scene build, ``render`` = Blender's render
        calls and their phases, ``exr_read``/``write`` = read-back and file writing in the worker."""
        acc = getattr(self._timing, "seconds", None)
        if acc is None:
            acc = self._timing.seconds = {}
        acc["blender"] = acc.get("blender", 0.0) + round_trip
        if views:
            acc["build"] = acc.get("build", 0.0) + float(views[0].get("build_seconds", 0.0))
        for v in views:
            for k, sec in (v.get("phases") or {}).items():
                acc[k] = acc.get(k, 0.0) + float(sec)

    def finalize(self) -> dict:
        """Write splits.json, rebuild index.jsonl and the counts in dataset.json."""
        self.write_splits()
        return self.writer.finalize()


def _work_prefix(job_id: str) -> str:
    return f"{job_id.replace('/', '__')}+{socket.gethostname()}+{os.getpid()}+"


def make_work_dir(work: Path, job_id: str) -> Path:
    """A fresh temporary folder for one job in ``work`` (named after the job, host and process)."""
    for _ in range(5):
        work.mkdir(parents=True, exist_ok=True)
        try:
            return Path(tempfile.mkdtemp(prefix=_work_prefix(job_id), dir=work))
        except FileNotFoundError:  # another process's clean_work removed the empty folder just now
            continue
    raise InputError(work, "cannot create a work folder (removed again and again)")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process
        return True
    return True


def clean_work(out: str | os.PathLike) -> None:
    """Remove from ``<out>/.work`` the folders of dead processes of this host, then ``.work`` if it is
    empty. Folders of live processes and of other hosts (a shared file system) are left alone."""
    work = Path(out) / WORK_DIR
    if not work.is_dir():
        return
    host = socket.gethostname()
    for p in work.iterdir():
        parts = p.name.rsplit("+", 3)
        if len(parts) == 4 and parts[1] == host and parts[2].isdigit() and not _alive(int(parts[2])):
            shutil.rmtree(p, ignore_errors=True)
    try:
        work.rmdir()
    except OSError:  # not empty: another process is working
        pass


#: kind -> "module:class" of its runner (imported when used).
RUNNERS = {"looking3d": "datagen.jobs.looking3d:Looking3DRunner", "oddoneout": "datagen.jobs.oddoneout:ScenesRunner"}


def runner_class(kind: str):
    if kind not in RUNNERS:
        raise ValueError(f"unknown kind of data {kind!r}; expected one of {', '.join(RUNNERS)}")
    module, name = RUNNERS[kind].split(":")
    return getattr(importlib.import_module(module), name)


def runner_from_args(d: dict) -> Runner:
    """Rebuild a runner from ``Runner.args()`` (in a Ray actor, for example)."""
    cls = runner_class(d["kind"])
    base = ("kind", "config", "library", "out", "seed")
    return cls(cls.config_class.from_json(d["config"]), d["library"], d["out"], d["seed"],
               **{k: v for k, v in d.items() if k not in base})
