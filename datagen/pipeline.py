"""The job function: shape -> (corruption) -> SceneSpec(s) -> render -> masks, bbox -> dataset.

``Pipeline(config, library, out, seed)`` holds what every job of a run shares (the dataset
writer, the shape ids, a cache of loaded shapes, the material library);
``Pipeline.run(job, renderer)`` does one job and returns a ``JobResult``. Rendering goes
through ``renderer.render(spec_path, out_dir) -> answer`` (the worker protocol's answer
dict: ``{"ok": true, "views": [...]}`` or ``{"ok": false, "error": ...}``), so the job function
is pure Python and any executor (thread + Blender subprocess, Ray actor, Slurm task) can call it.

Jobs (see ``datagen.plan``):
- ``ref``: the normalized shape, flat gray, Workbench, grayscale, no ground, white background,
  ``ref_views`` regular azimuths -> ``DatasetWriter.write_reference``.
- ``normal``: materials per part label, k query cameras, sampled lighting -> k samples, label 0.
- ``anomaly``: ``corrupt`` the shape (``Refused`` -> status ``refused``); cheap index-only renders
  (1 spp) of the corrupted and the original shape at k candidate cameras decide which views
  show the anomaly (>= ``config.min_visible_pixels`` pixels of ``mask_new``); only those are
  path-traced. ``mask_new`` = pixels of the anomalous part after corruption (for ``missing``:
  of the removed part in the original render); ``mask_old`` = that part before (absent for
  ``missing``). No visible view -> status ``dropped``.

Part indices: in every sample of a shape, ``parts.png`` = 1 + the part's index in the ORIGINAL
shape's part list, which ``meta["parts"]`` lists (a ``missing`` part is listed with
``"missing": true`` and never appears in ``parts.png``); 0 = background or ground.

Resume: after all its outputs a job writes ``<out>/jobs/<shape_id>/<variant>.done`` (JSON: status,
samples written, views dropped); a job with that marker is skipped.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from datagen.config import GenConfig
from datagen.dataset.writer import DatasetWriter, bbox_of
from datagen.errors import DatagenError, InputError, Refused
from datagen.io import atomic_write_json
from datagen.plan import Job, assign_splits
from datagen.seeding import rng_for
from datagen.shapes.library import list_shapes, read_shape
from datagen.shapes.model import Shape
from datagen.shapes.objio import write_obj
from datagen.spec import Camera, Lighting, Material, RenderSettings, SceneObject, SceneSpec, view_name

DONE, SKIPPED, REFUSED, DROPPED = "done", "skipped", "refused", "dropped"
JOBS_DIR = "jobs"
GRAY = Material("gray", "flat")


class RenderFailed(DatagenError):
    """The renderer answered ``ok: false`` (the worker is alive; the job may be retried)."""


@dataclass
class JobResult:
    """status : done | skipped | refused | dropped. samples : sample ids written (or the shape id
    for a ref job). dropped : view ids not kept (anomaly not visible). reason : for refused/dropped."""

    job_id: str
    status: str
    samples: list = field(default_factory=list)
    dropped: list = field(default_factory=list)
    reason: str | None = None
    seconds: float = 0.0
    anomaly: dict | None = None  # anomaly jobs: type, part, label of the corruption applied

    def to_json(self) -> dict:
        return {
            "job": self.job_id,
            "status": self.status,
            "samples": list(self.samples),
            "dropped": list(self.dropped),
            "reason": self.reason,
            "anomaly": self.anomaly,
        }


# --- sampling (pure, seeded) -----------------------------------------------------------------
def sample_view_count(rng: np.random.Generator, median: float, sd: float, max_views: int) -> int:
    """clip(round(N(median, sd)), 1, max_views)."""
    return int(np.clip(round(float(rng.normal(median, sd))), 1, max_views))


def sample_query_cameras(config: GenConfig, k: int, rng: np.random.Generator) -> list[dict]:
    """k query cameras at distinct azimuth steps: [{"camera": Camera, "azimuth_index", "azimuth",
    "elevation" (radians), "radius"}]; aimed at the origin (the normalized shape's bbox centre)."""
    steps = rng.choice(config.azimuth_steps, size=min(k, config.azimuth_steps), replace=False)
    lo, hi = (math.radians(a) for a in config.elevation_deg)
    out = []
    for ai in steps.tolist():
        el = float(rng.uniform(lo, hi))
        az = ai * config.azimuth_step
        cam = Camera.orbit(config.camera_radius, az, el, config.fx, config.resolution, config.resolution)
        out.append({"camera": cam, "azimuth_index": int(ai), "azimuth": az, "elevation": el, "radius": config.camera_radius})
    return out


def reference_cameras(config: GenConfig) -> list[Camera]:
    """``ref_views`` cameras at regular azimuths 2 pi i / V, elevation ``ref_elevation_deg``, ``ref_radius``."""
    el = math.radians(config.ref_elevation_deg)
    n, r = config.ref_views, config.ref_resolution
    return [Camera.orbit(config.ref_radius, 2 * math.pi * i / n, el, config.ref_fx, r, r) for i in range(n)]


def sample_lighting(config: GenConfig, rng: np.random.Generator) -> Lighting:
    """Environment strength and tint, key (sun) direction, strength, colour and softness."""
    env_color = tuple(round(float(1.0 - config.env_tint * u), 4) for u in rng.random(3))
    key_color = tuple(round(float(1.0 - config.env_tint * u), 4) for u in rng.random(3))
    az = float(rng.uniform(0, 2 * math.pi))
    el = math.radians(float(rng.uniform(*config.key_elevation_deg)))
    direction = (math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el))
    return Lighting(
        env_color=env_color,
        env_strength=round(float(rng.uniform(*config.env_strength)), 4),
        key_direction=tuple(round(x, 6) for x in direction),
        key_strength=round(float(rng.uniform(*config.key_strength)), 4),
        key_color=key_color,
        key_angle=round(math.radians(float(rng.uniform(*config.key_angle_deg))), 5),
    )


def lighting_json(light: Lighting) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in light.__dict__.items()}


def sample_id(shape_id: str, variant: str, view: dict) -> str:
    """``<shape>__<variant>__aAAeEE``: azimuth step and elevation in whole degrees (distinct azimuths per job)."""
    return f"{shape_id}__{variant}__a{view['azimuth_index']:02d}e{int(round(math.degrees(view['elevation']))):02d}"


def camera_meta(view: dict) -> dict:
    return dict(
        view["camera"].to_json(),
        azimuth=view["azimuth"],
        elevation=view["elevation"],
        radius=view["radius"],
        azimuth_index=view["azimuth_index"],
    )


# --- rendering helpers ------------------------------------------------------------------------
def load_image(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        if img.mode in ("I;16", "I;16B", "I;16L"):
            return np.asarray(img, dtype=np.uint16)
        if img.mode == "I":
            return np.asarray(img).astype(np.uint16)
        return np.asarray(img)


def read_views(out_dir: Path, n: int, passes) -> list[dict]:
    """The files a render wrote: [{"rgb": uint8 array, "depth": (H,W) float32, "index": (H,W) uint16}]."""
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


class Pipeline:
    """Shared state of a run and the job function (``run``).

    config : GenConfig. library : shape library folder. out : dataset root. seed : run seed.
    shape_ids : the run's shapes (default: all of the library, sorted; ``limit`` keeps the first N).
    device / threads : render runtime (not part of the dataset config).
    """

    def __init__(
        self,
        config: GenConfig,
        library: str | os.PathLike,
        out: str | os.PathLike,
        seed: int,
        shape_ids: list[str] | None = None,
        limit: int | None = None,
        device: str = "cpu",
        threads: int = 0,
        shape_cache: int = 64,
    ):
        self.config = config
        self.library = Path(library)
        self.out = Path(out)
        self.seed = int(seed)
        self.device = device
        self.threads = int(threads)
        if shape_ids is None:
            shape_ids = [p.name for p in list_shapes(self.library)]
        shape_ids = sorted(shape_ids)
        if limit is not None:
            shape_ids = shape_ids[:limit]
        if not shape_ids:
            raise InputError(self.library, "no shapes found (a shape folder holds parts.json)")
        self.shape_ids = shape_ids
        self.writer = DatasetWriter(self.out, config.to_json(), self.seed)
        self._cache: OrderedDict[str, Shape] = OrderedDict()
        self._cache_size = shape_cache
        self._lock = threading.Lock()
        self._materials = None

    def args(self) -> dict:
        """Plain, picklable arguments that rebuild this pipeline in another process (``from_args``)."""
        return {
            "config": self.config.to_json(),
            "library": str(self.library.resolve()),
            "out": str(self.out.resolve()),
            "seed": self.seed,
            "shape_ids": list(self.shape_ids),
            "device": self.device,
            "threads": self.threads,
        }

    @classmethod
    def from_args(cls, d: dict) -> "Pipeline":
        return cls(GenConfig.from_json(d["config"]), d["library"], d["out"], d["seed"], shape_ids=d["shape_ids"],
                   device=d["device"], threads=d["threads"])

    # --- shared resources -------------------------------------------------------------
    def splits(self) -> dict[str, list[str]]:
        return assign_splits(self.shape_ids, self.config.splits, self.seed)

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
        """``label -> [(shape_id, Part)]`` over a seeded subset (``donor_pool``) of the other shapes, loaded lazily."""
        others = [s for s in self.shape_ids if s != shape_id]
        pick = rng_for(self.seed, "donors", shape_id).permutation(len(others))[: self.config.donor_pool]
        pool = sorted(others[i] for i in pick)

        def by_label(label: str):
            return [(sid, p) for sid in pool for p in self.load_shape(sid).parts if p.label == label]

        return by_label

    def material_library(self) -> list[Material]:
        if self._materials is None:
            try:
                from materials.presets import builtin_library
            except ImportError:
                self._materials = [GRAY]
            else:
                self._materials = builtin_library(self.config.n_materials, self.config.material_seed)
        return self._materials

    def assign(self, shape: Shape, rng: np.random.Generator) -> dict[str, Material]:
        labels = shape.labels
        try:
            from materials.assign import assign_materials
        except ImportError:
            return {lab: GRAY for lab in labels}
        return assign_materials(labels, self.material_library(), rng)

    # --- resume ----------------------------------------------------------------------------
    def marker_path(self, job: Job) -> Path:
        return self.out / JOBS_DIR / job.shape_id / f"{job.variant}.done"

    def is_done(self, job: Job) -> bool:
        return self.marker_path(job).is_file()

    def _finish(self, job: Job, result: JobResult) -> JobResult:
        atomic_write_json(self.marker_path(job), dict(result.to_json(), seed=job.seed, split=job.split))
        return result

    # --- the job function ------------------------------------------------------------------
    def run(self, job: Job, renderer) -> JobResult:
        """Do ``job`` with ``renderer`` (``.render(spec_path, out_dir) -> answer dict``); skip it if done."""
        t0 = time.perf_counter()
        if self.is_done(job):
            return JobResult(job.id, SKIPPED, seconds=0.0)
        work = self.out / ".work"
        work.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=job.id.replace("/", "__") + ".", dir=work))
        try:
            if job.kind == "ref":
                result = self._ref(job, renderer, tmp)
            elif job.kind == "normal":
                result = self._normal(job, renderer, tmp)
            elif job.kind == "anomaly":
                result = self._anomaly(job, renderer, tmp)
            else:
                raise ValueError(f"job {job.id}: unknown kind {job.kind!r}")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        result.seconds = round(time.perf_counter() - t0, 3)
        return self._finish(job, result)

    def _settings(self, job: Job, **kw) -> RenderSettings:
        c = self.config
        base = dict(
            engine=c.engine,
            samples=c.samples,
            denoise=c.denoise,
            denoise_quality=c.denoise_quality,
            max_bounces=c.max_bounces,
            clamp_indirect=c.clamp_indirect,
            caustics=c.caustics,
            adaptive_threshold=c.adaptive_threshold,
            adaptive_min_samples=c.adaptive_min_samples,
            device=self.device,
            seed=job.seed % (2**31),
            background=c.background,
            ground=c.ground,
            grayscale=False,
            passes=("rgb", "depth", "index"),
            threads=self.threads,
        )
        base.update(kw)
        base["adaptive_min_samples"] = min(base["adaptive_min_samples"], base["samples"])
        return RenderSettings(**base)

    def _render(self, renderer, tmp: Path, tag: str, shape: Shape, cameras, settings, materials=None,
                lighting: Lighting = Lighting(), pass_index=None, meta=None) -> list[dict]:
        """Write the parts as OBJs + a spec into ``tmp``, render, read the views back."""
        mesh_dir = tmp / "meshes" / tag
        objects = []
        extra = len(shape.parts) + (0 if pass_index is None else len(pass_index))
        for i, p in enumerate(shape.parts):
            write_obj(mesh_dir / f"{p.name}.obj", p.vertices, p.faces)
            mat = None if materials is None else materials.get(p.label, GRAY)
            if pass_index is None:
                idx = i + 1
            elif p.name in pass_index:
                idx = pass_index[p.name]
            else:  # a part a corruption added: an index no original part has
                extra += 1
                idx = extra
            objects.append(SceneObject(p.name, f"meshes/{tag}/{p.name}.obj", idx, material=mat))
        spec = SceneSpec(objects, tuple(cameras), lighting, settings, meta=dict(meta or {}, tag=tag))
        spec_path = spec.save(tmp / f"{tag}.json")
        out_dir = tmp / f"{tag}_out"
        answer = renderer.render(str(spec_path), str(out_dir))
        if not isinstance(answer, dict) or not answer.get("ok"):
            err = answer.get("error") if isinstance(answer, dict) else answer
            raise RenderFailed(f"render of {tag} failed: {err}")
        return read_views(out_dir, len(cameras), settings.passes)

    def _ref(self, job: Job, renderer, tmp: Path) -> JobResult:
        shape = self.load_shape(job.shape_id)
        cams = reference_cameras(self.config)
        settings = self._settings(
            job, engine=self.config.ref_engine, denoise="none", ground=False, background="white",
            grayscale=True, passes=("rgb", "depth"),
            samples=min(self.config.samples, 16),
        )
        views = self._render(renderer, tmp, "ref", shape, cams, settings, meta={"job": job.id})
        out = []
        for v, cam in zip(views, cams):
            img = v["rgb"]
            if img.ndim == 3:
                img = img[..., :3].mean(-1).round().astype(np.uint8)
            out.append({"image": img, "depth": v["depth"], "camera": cam})
        self.writer.write_reference(shape, out)
        return JobResult(job.id, DONE, samples=[shape.id])

    def _common(self, job: Job, shape: Shape):
        materials = self.assign(shape, rng_for(job.seed, "materials"))
        lighting = sample_lighting(self.config, rng_for(job.seed, "lighting"))
        return materials, lighting

    def _base_meta(self, job, shape, view, materials, lighting, parts) -> dict:
        return {
            "shape_id": shape.id,
            "job": job.id,
            "split": job.split,
            "camera": camera_meta(view),
            "materials": {lab: {"name": m.name, "kind": m.kind, "params": m.params} for lab, m in sorted(materials.items())},
            "lighting": lighting_json(lighting),
            "parts": parts,
        }

    def _normal(self, job: Job, renderer, tmp: Path) -> JobResult:
        shape = self.load_shape(job.shape_id)
        materials, lighting = self._common(job, shape)
        rng = rng_for(job.seed, "cameras")
        views = sample_query_cameras(self.config, sample_view_count(rng, *self.config.normal_views), rng)
        settings = self._settings(job, ground_z=float(shape.bounds[0, 2]))
        rendered = self._render(renderer, tmp, "normal", shape, [v["camera"] for v in views], settings,
                                materials, lighting, meta={"job": job.id})
        parts = [{"name": p.name, "label": p.label} for p in shape.parts]
        written = []
        for view, r in zip(views, rendered):
            sid = sample_id(shape.id, job.variant, view)
            meta = dict(self._base_meta(job, shape, view, materials, lighting, parts), label=0, anomaly=None, bbox=None)
            self.writer.write_sample(sid, meta, r["rgb"], r["depth"], r["index"])
            written.append(sid)
        return JobResult(job.id, DONE, samples=written)

    def _anomaly(self, job: Job, renderer, tmp: Path) -> JobResult:
        from datagen.corrupt import corrupt

        shape = self.load_shape(job.shape_id)
        kind = job.anomaly
        try:
            bad, record = corrupt(
                shape, kind, rng_for(job.seed, "corrupt"),
                donors=self.donors(shape.id) if kind == "swapped" else None, seed=job.seed,
            )
        except Refused as e:
            return JobResult(job.id, REFUSED, reason=str(e))
        materials, lighting = self._common(job, shape)
        rng = rng_for(job.seed, "cameras")
        views = sample_query_cameras(self.config, sample_view_count(rng, *self.config.anomaly_views), rng)
        cams = [v["camera"] for v in views]
        pass_index = {p.name: i + 1 for i, p in enumerate(shape.parts)}
        target = pass_index[record.part]
        ground_z = float(shape.bounds[0, 2])
        cheap = self._settings(job, samples=1, denoise="none", passes=("index",), ground_z=ground_z)
        meta = {"job": job.id}
        old_idx = self._render(renderer, tmp, "original_index", shape, cams, cheap, pass_index=pass_index, meta=meta)
        if kind == "missing":
            new_masks = [v["index"] == target for v in old_idx]
            old_masks = [None] * len(views)
        else:
            new_idx = self._render(renderer, tmp, "corrupted_index", bad, cams, cheap, pass_index=pass_index, meta=meta)
            new_masks = [v["index"] == target for v in new_idx]
            old_masks = [v["index"] == target for v in old_idx]
        need = max(1, self.config.min_visible_pixels)
        keep = [i for i, m in enumerate(new_masks) if int(m.sum()) >= need]
        dropped = [sample_id(shape.id, job.variant, views[i]) for i in range(len(views)) if i not in keep]
        brief = {"type": kind, "part": record.part, "label": record.label,
                 "visible_px": [int(m.sum()) for m in new_masks], "min_px": need}
        if not keep:
            return JobResult(job.id, DROPPED, dropped=dropped, reason="anomaly not visible", anomaly=brief)
        settings = self._settings(job, ground_z=ground_z)
        rendered = self._render(renderer, tmp, "corrupted", bad, [cams[i] for i in keep], settings, materials,
                                lighting, pass_index=pass_index, meta=meta)
        parts = [{"name": p.name, "label": p.label} for p in shape.parts]
        if kind == "missing":
            parts = [dict(p, missing=True) if p["name"] == record.part else p for p in parts]
        anomaly = {
            "type": kind,
            "part": record.part,
            "label": record.label,
            "part_index": target - 1,
            "params": record.params,
            "seed": job.seed,
            "record": record.to_dict(),
        }
        written = []
        for i, r in zip(keep, rendered):
            if kind == "missing":
                mask_new, mask_old = new_masks[i], None
            else:  # the full render's index pass is exact: recompute mask_new from it
                mask_new, mask_old = r["index"] == target, old_masks[i]
            union = mask_new if mask_old is None else (mask_new | mask_old)
            sid = sample_id(shape.id, job.variant, views[i])
            meta = dict(
                self._base_meta(job, shape, views[i], materials, lighting, parts),
                label=1, anomaly=anomaly, bbox=bbox_of(union), visible_px=int(new_masks[i].sum()),
            )
            self.writer.write_sample(sid, meta, r["rgb"], r["depth"], r["index"], mask_new=mask_new, mask_old=mask_old)
            written.append(sid)
        return JobResult(job.id, DONE, samples=written, dropped=dropped, anomaly=brief)

    def finalize(self) -> dict:
        """Write splits.json, rebuild index.jsonl and the counts in dataset.json."""
        self.write_splits()
        return self.writer.finalize()


# --- a whole run ------------------------------------------------------------------------------
def generate_dataset(
    config: GenConfig,
    library,
    out,
    seed: int = 0,
    *,
    workers: int = 1,
    executor: str = "local",
    address: str | None = None,
    shard: tuple[int, int] | None = None,
    limit: int | None = None,
    device: str = "cpu",
    opts=None,
    progress: bool = True,
    finalize: bool | None = None,
    finalize_only: bool = False,
    threads: int | None = None,
):
    """Plan, run (or one shard of it) and finalize a dataset. Returns ``(RunSummary | None, counts | None)``.

    shard : (index, count) runs that slice of the plan; it does not finalize (run again with
    ``finalize_only`` after all shards) unless ``finalize=True``. Jobs already done are skipped.
    threads : Cycles threads per worker (default: CPU cores // workers).
    """
    from datagen.executors import WorkerOptions
    from datagen.plan import plan, shard as take_shard

    if executor not in ("local", "ray"):
        raise ValueError(f"executor must be local or ray, got {executor!r}")
    if threads is None:
        threads = max(1, (os.cpu_count() or 1) // max(1, workers))
    pipe = Pipeline(config, library, out, seed, limit=limit, device=device, threads=threads)
    pipe.write_splits()
    if finalize_only:
        return None, pipe.writer.finalize()
    jobs = plan(config, pipe.shape_ids, seed)
    failures = pipe.out / "failures.jsonl"
    if shard is not None:
        jobs = take_shard(jobs, *shard)
        failures = pipe.out / f"failures.shard-{shard[0]}-of-{shard[1]}.jsonl"
    opts = opts or WorkerOptions()
    if executor == "ray":
        from datagen.executors.ray_executor import run_ray

        summary = run_ray(pipe, jobs, workers, opts, address=address, progress=progress, failures_path=failures)
    else:
        from datagen.executors.local import run_local

        summary = run_local(pipe, jobs, workers, opts, progress=progress, failures_path=failures)
    if shard is None:  # shards share .work; each job removes its own folder anyway
        shutil.rmtree(pipe.out / ".work", ignore_errors=True)
    if finalize is None:
        finalize = shard is None
    counts = pipe.writer.finalize() if finalize else None
    return summary, counts
