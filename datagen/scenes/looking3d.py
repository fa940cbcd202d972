"""Spec builders of the Looking 3D kind of data: reference views and query renders of one shape.

Pure functions: (job, shape, config, material library[, donors]) -> what will be rendered,
as ``SceneBundle``s; nothing is written and nothing is rendered here.

- ``reference_bundle``: the normalized shape, flat gray, ``ref_engine``, grayscale, no ground,
  white background, ``ref_views`` regular azimuths.
- ``draw_query``: every random choice of a normal or anomaly job (the corruption, the views,
  the materials and their placement, the lighting) -> ``QueryDraw``.
- ``index_bundles``: the visibility stage of an anomaly job: cheap 1-sample index-only renders
  of the original and the corrupted shape from every candidate view (for ``missing``, the
  original only: the removed part's pixels there are where it would be seen).
- ``query_bundle``: the full path-traced render over the kept views (all views for normals).

Pass indices: 1 + the part's index in the ORIGINAL shape's part list (0 = background/ground),
in every render of a shape, so ``parts.png`` indices are stable across a shape's samples.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from datagen.config import GenConfig
from datagen.plan import Job
from datagen.scenes.bundle import MeshSet, SceneBundle
from datagen.scenes.sampling import (
    View,
    assign_part_materials,
    reference_cameras,
    sample_lighting,
    sample_query_views,
    sample_view_count,
)
from datagen.seeding import rng_for
from datagen.shapes.model import Shape
from datagen.spec import Lighting, Material, RenderSettings, SceneSpec


@dataclass(frozen=True, eq=False)
class QueryDraw:
    """Everything drawn for one query job (``normal`` or ``anomaly``) before any render.

    shape : the normal shape. rendered : what the images show (the corrupted shape for
    anomaly jobs). record : the CorruptionRecord or None. views : candidate query views.
    materials : label -> library Material; part_materials : part name -> Material with its
    variation. lighting : the sampled Lighting.
    """

    job: Job
    shape: Shape
    rendered: Shape
    record: object
    views: tuple
    materials: dict
    part_materials: dict
    lighting: Lighting

    @property
    def pass_index(self) -> dict[str, int]:
        """Part name -> pass index (1 + its index in the original shape)."""
        return {p.name: i + 1 for i, p in enumerate(self.shape.parts)}

    @property
    def target(self) -> int | None:
        """Pass index of the anomalous part (None for normal jobs)."""
        return None if self.record is None else self.pass_index[self.record.part]


def _settings(config: GenConfig, job: Job, **changes) -> RenderSettings:
    return dataclasses.replace(config.render, seed=job.seed % (2**31), **changes)


def _objects(meshes: MeshSet, shape: Shape, pass_index: dict[str, int], materials: dict[str, Material] | None):
    objs, extra = [], max(pass_index.values(), default=0)
    for p in shape.parts:
        if p.name in pass_index:
            idx = pass_index[p.name]
        else:  # a part a corruption added: an index no original part has
            extra += 1
            idx = extra
        mat = None if materials is None else materials.get(p.name)
        objs.append(meshes.object(p.name, p.vertices, p.faces, idx, mat))
    return objs


def _bundle(tag: str, job: Job, shape: Shape, cameras, settings, pass_index, materials=None,
            lighting: Lighting = Lighting()) -> SceneBundle:
    meshes = MeshSet()
    objs = _objects(meshes, shape, pass_index, materials)
    spec = SceneSpec(objs, tuple(cameras), lighting, settings, meta={"job": job.id, "tag": tag})
    return SceneBundle(tag, spec, meshes.meshes)


def reference_bundle(job: Job, shape: Shape, config: GenConfig) -> SceneBundle:
    """The reference views of ``shape`` (a ``ref`` job)."""
    settings = _settings(config, job, engine=config.ref_engine, denoise="none", ground=False, background="white",
                         grayscale=True, passes=("rgb", "depth"), samples=min(config.render.samples, 16))
    index = {p.name: i + 1 for i, p in enumerate(shape.parts)}
    return _bundle("ref", job, shape, reference_cameras(config), settings, index)


def draw_query(job: Job, shape: Shape, config: GenConfig, library: list[Material], donors=None) -> QueryDraw:
    """All random choices of a ``normal`` or ``anomaly`` job. Raises ``Refused`` when the corruption
    cannot apply. Streams: ``rng_for(job.seed, "corrupt" | "materials" | "variation", part | "lighting" | "cameras")``."""
    record, rendered = None, shape
    if job.kind == "anomaly":
        from datagen.corrupt.api import corrupt

        params, thresholds = config.corruption_options(job.anomaly)
        rendered, record = corrupt(shape, job.anomaly, rng_for(job.seed, "corrupt"), params=params,
                                   thresholds=thresholds, donors=donors, seed=job.seed)
    elif job.kind != "normal":
        raise ValueError(f"job {job.id}: draw_query takes normal or anomaly jobs, not {job.kind!r}")
    by_label, by_part = assign_part_materials(shape, library, job.seed)
    lighting = sample_lighting(config, rng_for(job.seed, "lighting"))
    rng = rng_for(job.seed, "cameras")
    counts = config.normal_views if job.kind == "normal" else config.anomaly_views
    views = sample_query_views(config, sample_view_count(rng, *counts), rng)
    return QueryDraw(job, shape, rendered, record, tuple(views), by_label, by_part, lighting)


def index_bundles(draw: QueryDraw, config: GenConfig) -> list[SceneBundle]:
    """The visibility stage of an anomaly job: index-only renders (1 sample) from every candidate view
    of the original shape (``original_index``) and, unless the type removes the part, of the
    corrupted one (``corrupted_index``). ``[]`` for normal jobs."""
    if draw.record is None:
        return []
    ground_z = float(draw.shape.bounds[0, 2])
    cheap = _settings(config, draw.job, samples=1, denoise="none", passes=("index",), ground_z=ground_z)
    cams = [v.camera for v in draw.views]
    out = [_bundle("original_index", draw.job, draw.shape, cams, cheap, draw.pass_index)]
    if any(p.name == draw.record.part for p in draw.rendered.parts):
        out.append(_bundle("corrupted_index", draw.job, draw.rendered, cams, cheap, draw.pass_index))
    return out


def query_bundle(draw: QueryDraw, config: GenConfig, keep: list[int] | None = None) -> SceneBundle:
    """The path-traced query render of ``draw.rendered`` from the views ``keep`` (indices into
    ``draw.views``; all if None), with materials and lighting."""
    views: list[View] = list(draw.views) if keep is None else [draw.views[i] for i in keep]
    settings = _settings(config, draw.job, ground_z=float(draw.shape.bounds[0, 2]))
    tag = "normal" if draw.record is None else "anomaly"
    return _bundle(tag, draw.job, draw.rendered, [v.camera for v in views], settings, draw.pass_index,
                   draw.part_materials, draw.lighting)


def job_bundles(job: Job, shape: Shape, config: GenConfig, library: list[Material], donors=None) -> list[SceneBundle]:
    """Every spec a job may render, in order (for ``--dry-run --specs``): the reference views, or
    the index stage then the query over all candidate views (the run keeps only the views where the
    anomaly is visible). Raises ``Refused`` like ``draw_query``."""
    if job.kind == "ref":
        return [reference_bundle(job, shape, config)]
    draw = draw_query(job, shape, config, library, donors)
    return index_bundles(draw, config) + [query_bundle(draw, config)]
