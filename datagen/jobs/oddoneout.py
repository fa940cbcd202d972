"""Jobs of the Odd-One-Out kind of data: one scene of copies of a shape per job.

A scene job draws the scene (``scenes.oddoneout.draw_scene``); if it holds an anomalous copy,
the visibility stage renders index + depth of the scene and of the same scene with a normal
copy (1 sample each) and keeps the draw only if the anomaly covers at least
``config.min_visible_pixels`` pixels in some view; else it redraws (up to ``config.attempts``),
then the job is ``dropped``. A kept draw is rendered in full and written as
``scenes/<scene_id>/`` (format v1): ``rgb/NNNN.png``, ``depth/NNNN.npy``, ``instances/NNNN.png``
(uint16: 0 = floor/background, i = objects[i-1]), ``anomaly/NNNN.png`` (anomalous scenes: the
anomaly's pixels) and ``scene.json`` (objects with pose, 3D box, label, anomaly record, parts and
materials; cameras; per-view 2D boxes; lighting, floor).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from datagen.batch import DONE, DROPPED, REFUSED
from datagen.dataset.writer import bbox_of
from datagen.errors import InputError, Refused
from datagen.jobs.runner import JobResult, Runner
from datagen.plan import Job, assign_scene_splits, plan_scenes
from datagen.scene_config import ScenesConfig
from datagen.scenes.oddoneout import (
    PART_SLOTS,
    SceneDraw,
    anomaly_pixels,
    draw_scene,
    pass_index,
    scene_bundle,
    visibility_bundles,
)
from datagen.scenes.sampling import lighting_json
from datagen.shapes.library import read_category


def _material_json(m) -> dict:
    return {"name": m.name, "kind": m.kind, "params": m.params, "variation": m.variation}


class ScenesRunner(Runner):
    """n_scenes : how many scenes the plan holds (scene i is the same whatever this is)."""

    kind = "oddoneout"
    config_class = ScenesConfig

    def __init__(self, config: ScenesConfig, library, out, seed: int, shape_ids=None, limit=None,
                 n_scenes: int = 100, shape_cache: int = 64):
        super().__init__(config, library, out, seed, shape_ids=shape_ids, limit=limit, shape_cache=shape_cache)
        if n_scenes < 0:
            raise ValueError(f"--scenes must be >= 0, got {n_scenes}")
        self.n_scenes = int(n_scenes)
        self._categories: dict[str, str] | None = None
        self._floors = self._env_maps = None

    def args(self) -> dict:
        return dict(super().args(), n_scenes=self.n_scenes)

    @property
    def categories(self) -> dict[str, str]:
        """Shape id -> category (from parts.json only)."""
        if self._categories is None:
            self._categories = {sid: read_category(self.library / sid) for sid in self.shape_ids}
        return self._categories

    def floors(self) -> list | None:
        """Floor materials from ``config.floor_textures`` (None: procedural floors from the library)."""
        if self._floors is None and self.config.floor_textures:
            from materials.textures import scan_texture_library

            scan = scan_texture_library(self.config.floor_textures)
            if not scan:
                raise InputError(self.config.floor_textures, "no usable texture material for floors"
                                 + (f" ({len(scan.bad)} folders skipped)" if scan.bad else ""))
            self._floors = list(scan)
        return self._floors

    def env_maps(self) -> list[str]:
        """The .hdr / .exr files of ``config.hdri_dir`` (sorted), or []."""
        if self._env_maps is None:
            self._env_maps = []
            if self.config.hdri_dir:
                d = Path(self.config.hdri_dir)
                if not d.is_dir():
                    raise InputError(d, "HDR folder not found")
                self._env_maps = sorted(str(p.resolve()) for p in d.iterdir() if p.suffix.lower() in (".hdr", ".exr"))
                if not self._env_maps:
                    raise InputError(d, "no .hdr or .exr file")
        return self._env_maps

    def _draw(self, job: Job, shape, attempt: int = 0) -> SceneDraw:
        return draw_scene(job, shape, self.config, self.material_library(), self._donors(job), attempt,
                          floors=self.floors(), env_maps=self.env_maps())

    def plan(self) -> list[Job]:
        return plan_scenes(self.config, self.categories, self.seed, self.n_scenes)

    def splits(self) -> dict[str, list[str]]:
        return assign_scene_splits(self.categories, self.config.splits, self.config.unseen_categories, self.seed)

    def bundles(self, job: Job) -> list:
        draw = self._draw(job, self.load_shape(job.shape_id))
        return visibility_bundles(draw, self.config) + [scene_bundle(draw, self.config)]

    def _donors(self, job: Job):
        return self.donors(job.shape_id) if job.anomaly == "swapped" else None

    # --- the job --------------------------------------------------------------------------------
    def handle(self, job: Job, renderer, tmp: Path) -> JobResult:
        if job.kind != "scene":
            raise ValueError(f"job {job.id}: a scenes run has scene jobs only, not {job.kind!r}")
        shape = self.load_shape(job.shape_id)
        need = max(1, self.config.min_visible_pixels)
        tried = []
        for attempt in range(self.config.attempts):
            try:
                draw = self._draw(job, shape, attempt)
            except Refused as e:
                return JobResult(job.id, REFUSED, reason=str(e))
            if draw.anomalous is None:
                return self._write(draw, renderer, tmp, None)
            stage = {b.tag: self.render(b, renderer, tmp / f"a{attempt}") for b in visibility_bundles(draw, self.config)}
            masks = self._anomaly_masks(draw, stage["anomaly_index"], stage.get("reference_index"))
            counts = [int(m.sum()) for m in masks]
            if max(counts) >= need:
                return self._write(draw, renderer, tmp, stage.get("reference_index"), counts)
            tried.append(max(counts))
        brief = {"type": job.anomaly, "max_visible_px": tried, "min_px": need}
        return JobResult(job.id, DROPPED, reason=f"anomaly not visible in {len(tried)} draws", anomaly=brief)

    def _anomaly_masks(self, draw: SceneDraw, anom: list[dict], ref: list[dict] | None) -> list[np.ndarray]:
        swapped = None
        if ref is None:  # a material swap: the swapped part's pixels
            swapped = pass_index(draw.anomalous, draw.part_index[draw.anomaly["part"]])
        return [anomaly_pixels(a, r, draw.anomalous, swapped) for a, r in zip(anom, ref or anom)]

    def _write(self, draw: SceneDraw, renderer, tmp: Path, ref: list[dict] | None, visible=None) -> JobResult:
        job = draw.job
        views = self.render(scene_bundle(draw, self.config), renderer, tmp / "full")
        out = []
        n = len(draw.instances)
        boxes = []
        for k, v in enumerate(views):
            inst = (v["index"].astype(np.int64) // PART_SLOTS).astype(np.uint16)
            row = {"rgb": v["rgb"], "depth": v["depth"], "instances": inst}
            if draw.anomalous is not None:  # exact: the full render against the normal-copy index render
                row["anomaly"] = self._anomaly_masks(draw, [v], None if ref is None else [ref[k]])[0]
            out.append(row)
            boxes.append([bbox_of(inst == i) for i in range(1, n + 1)])
        scene = self._scene_json(draw, boxes, visible)
        self.writer.write_scene(job.id, scene, out)
        return JobResult(job.id, DONE, samples=[job.id], anomaly=scene["anomaly"])

    def _scene_json(self, draw: SceneDraw, boxes: list, visible) -> dict:
        job, shape = draw.job, draw.shape
        category = self.categories.get(shape.id, shape.category)
        objects = []
        for inst in draw.instances:
            parts = [{"name": p.name, "label": p.label, "pass_index": pass_index(inst.index, draw.part_index.get(p.name, len(shape.parts))),
                      "material": inst.materials[p.name].name if p.name in inst.materials else None}
                     for p in inst.shape.parts]
            objects.append({
                "id": inst.index,
                "name": f"object{inst.index:02d}",
                "shape_id": shape.id,
                "category": category,
                "label": int(inst.anomalous),
                "anomaly": draw.anomaly if inst.anomalous else None,
                "pose": inst.pose.tolist(),
                "scale": inst.scale,
                "yaw": inst.yaw,
                "rotation": inst.rotation.tolist(),
                "bbox3d": inst.bbox3d(),
                "parts": parts,
            })
        summary = None
        if draw.anomalous is not None:
            summary = {"type": draw.anomaly["type"], "instance": draw.anomalous, "part": draw.anomaly["part"],
                       "label": draw.anomaly["label"], "visible_px": visible}
        return {
            "shape_id": shape.id,
            "category": category,
            "split": job.split,
            "job": job.id,
            "seed": job.seed,
            "attempt": draw.attempt,
            "anomaly": summary,
            "objects": objects,
            "cameras": [c.to_json() for c in draw.cameras],
            "camera_rig": draw.camera_rig,
            "boxes2d": boxes,
            "lighting": lighting_json(draw.lighting),
            "floor": _material_json(draw.floor),
            "materials": {name: _material_json(m) for name, m in sorted(draw.materials.items())},
            "preset": self.config.preset,
        }
