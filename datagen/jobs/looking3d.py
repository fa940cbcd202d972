"""Jobs of the Looking 3D kind of data: reference views, normal and anomalous queries of one shape.

- ``ref``: render ``scenes.looking3d.reference_bundle`` -> ``DatasetWriter.write_reference``.
- ``normal``: ``draw_query`` + ``query_bundle`` -> k samples, label 0.
- ``anomaly``: ``draw_query`` (the corruption; ``Refused`` -> status ``refused``), then the
  visibility stage (``index_bundles``): a view is kept only if at least
  ``config.min_visible_pixels`` pixels of ``mask_new`` are visible; only kept views are
  path-traced (``query_bundle(keep)``). ``mask_new`` = pixels of the anomalous part after the
  corruption (for ``missing``: of the removed part in the original render); ``mask_old`` = that
  part before (absent for ``missing``). No visible view -> status ``dropped``.

Part indices: in every sample of a shape, ``parts.png`` = 1 + the part's index in the ORIGINAL
shape's part list, which ``meta["parts"]`` lists (a removed part is listed with
``"missing": true`` and never appears in ``parts.png``); 0 = background or ground.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from datagen.batch import DONE, DROPPED, REFUSED
from datagen.dataset.writer import bbox_of
from datagen.errors import Refused
from datagen.jobs.runner import JobResult, Runner
from datagen.plan import Job, assign_splits, plan
from datagen.scenes.looking3d import (
    QueryDraw,
    draw_query,
    index_bundles,
    job_bundles,
    query_bundle,
    reference_bundle,
)
from datagen.scenes.sampling import View, lighting_json, materials_json


def sample_id(shape_id: str, variant: str, view: View) -> str:
    """``<shape>__<variant>__aAAeEE``: azimuth step and elevation in whole degrees (distinct azimuths per job)."""
    return f"{shape_id}__{variant}__a{view.azimuth_index:02d}e{int(round(math.degrees(view.elevation))):02d}"


class Looking3DRunner(Runner):
    kind = "looking3d"

    def plan(self) -> list[Job]:
        return plan(self.config, self.shape_ids, self.seed)

    def splits(self) -> dict[str, list[str]]:
        return assign_splits(self.shape_ids, self.config.splits, self.seed)

    def bundles(self, job: Job) -> list:
        shape = self.load_shape(job.shape_id)
        donors = self.donors(shape.id) if job.anomaly == "swapped" else None
        return job_bundles(job, shape, self.config, self.material_library(), donors)

    def handle(self, job: Job, renderer, tmp: Path) -> JobResult:
        if job.kind == "ref":
            return self._ref(job, renderer, tmp)
        if job.kind in ("normal", "anomaly"):
            return self._query(job, renderer, tmp)
        raise ValueError(f"job {job.id}: unknown kind {job.kind!r}")

    def _ref(self, job: Job, renderer, tmp: Path) -> JobResult:
        shape = self.load_shape(job.shape_id)
        bundle = reference_bundle(job, shape, self.config)
        views = self.render(bundle, renderer, tmp)
        out = []
        for v, cam in zip(views, bundle.spec.cameras):
            img = v["rgb"]
            if img.ndim == 3:
                img = img[..., :3].mean(-1).round().astype(np.uint8)
            out.append({"image": img, "depth": v["depth"], "camera": cam})
        self.writer.write_reference(shape, out)
        return JobResult(job.id, DONE, samples=[shape.id])

    def _meta(self, draw: QueryDraw, view: View) -> dict:
        parts = [{"name": p.name, "label": p.label} for p in draw.shape.parts]
        if draw.record is not None and not any(p.name == draw.record.part for p in draw.rendered.parts):
            parts = [dict(p, missing=True) if p["name"] == draw.record.part else p for p in parts]
        return {
            "shape_id": draw.shape.id,
            "job": draw.job.id,
            "split": draw.job.split,
            "camera": view.meta(),
            "materials": materials_json(draw.materials),
            "material_variation": {name: m.variation for name, m in sorted(draw.part_materials.items())},
            "lighting": lighting_json(draw.lighting),
            "parts": parts,
        }

    def _query(self, job: Job, renderer, tmp: Path) -> JobResult:
        shape = self.load_shape(job.shape_id)
        donors = self.donors(shape.id) if job.anomaly == "swapped" else None
        try:
            draw = draw_query(job, shape, self.config, self.material_library(), donors)
        except Refused as e:
            return JobResult(job.id, REFUSED, reason=str(e))
        if draw.record is None:
            rendered = self.render(query_bundle(draw, self.config), renderer, tmp)
            written = []
            for view, r in zip(draw.views, rendered):
                sid = sample_id(shape.id, job.variant, view)
                meta = dict(self._meta(draw, view), label=0, anomaly=None, bbox=None)
                self.writer.write_sample(sid, meta, r["rgb"], r["depth"], r["index"])
                written.append(sid)
            return JobResult(job.id, DONE, samples=written)
        return self._anomaly(draw, renderer, tmp)

    def _anomaly(self, draw: QueryDraw, renderer, tmp: Path) -> JobResult:
        job, shape, record, target = draw.job, draw.shape, draw.record, draw.target
        idx = {b.tag: self.render(b, renderer, tmp) for b in index_bundles(draw, self.config)}
        old_masks = [v["index"] == target for v in idx["original_index"]]
        removed = "corrupted_index" not in idx
        new_masks = old_masks if removed else [v["index"] == target for v in idx["corrupted_index"]]
        need = max(1, self.config.min_visible_pixels)
        keep = [i for i, m in enumerate(new_masks) if int(m.sum()) >= need]
        dropped = [sample_id(shape.id, job.variant, draw.views[i]) for i in range(len(draw.views)) if i not in keep]
        brief = {"type": record.type, "part": record.part, "label": record.label,
                 "visible_px": [int(m.sum()) for m in new_masks], "min_px": need}
        if not keep:
            return JobResult(job.id, DROPPED, dropped=dropped, reason="anomaly not visible", anomaly=brief)
        rendered = self.render(query_bundle(draw, self.config, keep), renderer, tmp)
        anomaly = {"type": record.type, "part": record.part, "label": record.label, "part_index": target - 1,
                   "params": record.params, "seed": job.seed, "record": record.to_dict()}
        written = []
        for i, r in zip(keep, rendered):
            if removed:
                mask_new, mask_old = new_masks[i], None
            else:  # the full render's index pass is exact: recompute mask_new from it
                mask_new, mask_old = r["index"] == target, old_masks[i]
            union = mask_new if mask_old is None else (mask_new | mask_old)
            sid = sample_id(shape.id, job.variant, draw.views[i])
            meta = dict(self._meta(draw, draw.views[i]), label=1, anomaly=anomaly, bbox=bbox_of(union),
                        visible_px=int(new_masks[i].sum()))
            self.writer.write_sample(sid, meta, r["rgb"], r["depth"], r["index"], mask_new=mask_new, mask_old=mask_old)
            written.append(sid)
        return JobResult(job.id, DONE, samples=written, dropped=dropped, anomaly=brief)
