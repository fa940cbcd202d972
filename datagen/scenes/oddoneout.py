"""Spec builders of the Odd-One-Out kind of data: a scene of copies of one shape on a floor.

Pure functions: (job, shape, config, material library[, donors]) -> what will be rendered.

- ``draw_scene``: every random choice of a scene job (the number of copies, their size, yaw,
  tilt and flip, positions without overlap, the anomalous copy and its corruption or material
  swap, the cameras, the floor material, the lighting) -> ``SceneDraw``. Attempt k of a scene
  draws from streams keyed by k, so a redraw after an invisible anomaly is deterministic too.
- ``visibility_bundles``: index + depth renders (1 sample) of the scene and of the same scene
  with the anomalous copy replaced by a normal one: the anomaly is where they differ
  (``anomaly_pixels``; a material swap is where the swapped part is).
- ``scene_bundle``: the full render: RGB, depth, index.

Pass indices: copy i (1-based) part j (index in the normal shape) -> ``i * PART_SLOTS + j + 1``;
the instance id of a pixel is ``index // PART_SLOTS`` (0 = floor / background).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from datagen.plan import Job
from datagen.scenes.bundle import MeshSet, SceneBundle
from datagen.scenes.placement import circle_cameras, footprint, place, pose_matrix, rotation_xy, rotation_z
from datagen.scenes.sampling import assign_part_materials, sample_lighting
from datagen.seeding import rng_for
from datagen.shapes.model import Shape
from datagen.spec import Lighting, Material, SceneSpec
from materials.presets import substance_of
from materials.variation import sample_variation

PART_SLOTS = 256


@dataclass(frozen=True, eq=False)
class Instance:
    """One copy. index : 1-based instance id. shape : its geometry (normalized frame; corrupted for the
    anomalous copy). pose : (4, 4) world-from-shape. rotation : (3, 3). scale : metres per shape unit.
    yaw : radians. materials : part name -> Material (with variation)."""

    index: int
    shape: Shape
    pose: np.ndarray
    rotation: np.ndarray
    scale: float
    yaw: float
    anomalous: bool
    materials: dict

    def bbox3d(self) -> dict:
        """The copy's box along its own axes: centre (3,) metres world, size (3,) metres, rotation (3, 3) world-from-box."""
        lo, hi = self.shape.bounds
        centre = self.pose[:3, :3] @ ((lo + hi) / 2) + self.pose[:3, 3]
        return {"center": centre.tolist(), "size": ((hi - lo) * self.scale).tolist(), "rotation": self.rotation.tolist()}

    def world_vertices(self) -> np.ndarray:
        """(n, 3) every vertex of the copy in world metres."""
        return self.shape.vertices @ self.pose[:3, :3].T + self.pose[:3, 3]


@dataclass(frozen=True, eq=False)
class SceneDraw:
    """Everything drawn for one scene job. materials : part name -> Material of the normal copies.
    anomaly : ``{"type", "part", "label", ...}`` of the anomalous copy (``instances[anomalous - 1]``)
    or None; record : its CorruptionRecord (None for material swaps)."""

    job: Job
    shape: Shape
    materials: dict
    instances: tuple
    anomalous: int | None
    anomaly: dict | None
    record: object
    cameras: tuple
    camera_rig: dict
    lighting: Lighting
    floor: Material
    attempt: int

    @property
    def part_index(self) -> dict[str, int]:
        return {p.name: j for j, p in enumerate(self.shape.parts)}


def pass_index(instance: int, part: int) -> int:
    """Pass index of part ``part`` (0-based) of copy ``instance`` (1-based)."""
    return instance * PART_SLOTS + part + 1


def _orientation(config, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """(3, 3) rotation of one copy (tilt / flip, then yaw) and its yaw (radians)."""
    rx = ry = 0.0
    if config.flip_prob and rng.random() < config.flip_prob:
        side = int(rng.integers(3))  # on one side, the other side, or upside down
        rx, ry = ((math.pi / 2, 0.0), (0.0, math.pi / 2), (math.pi, 0.0))[side]
    if config.tilt_deg:
        rx += math.radians(rng.uniform(-config.tilt_deg, config.tilt_deg))
        ry += math.radians(rng.uniform(-config.tilt_deg, config.tilt_deg))
    yaw = float(rng.uniform(0.0, 2 * math.pi))
    return rotation_z(yaw) @ rotation_xy(rx, ry), yaw


def _material_swap(shape: Shape, materials: dict, library: list[Material], rng: np.random.Generator) -> tuple[dict, dict]:
    """Give one part (at least 10 % of the surface, else the largest) a visibly different material:
    another substance, or the same one with a base colour at least 0.15 away (linear RGB).
    Returns (part name -> Material, the anomaly record)."""
    from datagen.corrupt.geometry import area_fractions

    fr = area_fractions(shape)
    names = [n for n, f in fr.items() if f >= 0.1] or [max(fr, key=fr.get)]
    part = names[int(rng.integers(len(names)))]
    old = materials[part]

    def colour(m: Material) -> np.ndarray:
        pal = m.params.get("palette") or [[0.5, 0.5, 0.5]]
        return np.mean(np.asarray(pal, dtype=np.float64)[:, :3], axis=0)

    def distance(m: Material) -> float:
        return float(np.linalg.norm(colour(m) - colour(old)))

    cands = [m for m in library if m.name != old.name and (substance_of(m) != substance_of(old) or distance(m) >= 0.15)]
    new = cands[int(rng.integers(len(cands)))]
    same = substance_of(new) == substance_of(old) and new.kind == old.kind  # same placement (variation keys)
    new = dataclasses.replace(new, variation=old.variation if same else sample_variation(new, rng))
    label = shape.part(part).label
    record = {"type": "material", "part": part, "label": label, "old": old.name, "new": new.name,
              "old_substance": substance_of(old), "new_substance": substance_of(new), "color_distance": distance(new)}
    return dict(materials, **{part: new}), record


def draw_scene(job: Job, shape: Shape, config, library: list[Material], donors=None, attempt: int = 0,
               floors: list[Material] | None = None, env_maps: list[str] = ()) -> SceneDraw:
    """All random choices of scene ``job`` (attempt ``attempt``). Raises ``Refused`` when the planned
    corruption cannot apply to the shape.

    library : materials of the objects. floors : floor materials (default: the library's materials of
    ``config.floor_substances``). env_maps : HDR / EXR files, one drawn per scene (none: the uniform world).
    """
    rng = rng_for(job.seed, "scene", attempt)
    n = int(rng.integers(config.instances[0], config.instances[1] + 1))
    _, by_part = assign_part_materials(shape, library, job.seed)
    anomalous, anomaly, record, bad = None, None, None, shape
    if job.anomaly is not None:
        anomalous = int(rng.integers(1, n + 1))
        if job.anomaly == "material":
            bad_materials, anomaly = _material_swap(shape, by_part, library, rng_for(job.seed, "material-swap", attempt))
        else:
            from datagen.corrupt.api import corrupt

            params, thresholds = config.corruption_options(job.anomaly)
            bad, record = corrupt(shape, job.anomaly, rng_for(job.seed, "corrupt", attempt), params=params,
                                  thresholds=thresholds, donors=donors, seed=job.seed)
            anomaly = {"type": record.type, "part": record.part, "label": record.label, "params": record.params,
                       "measured": record.measured, "record": record.to_dict()}
    # one size for every copy: the normal shape upright has the drawn longest horizontal extent,
    # unless a copy (turned, tilted, or anomalous) would stand taller than max_height
    ext = shape.bounds[1] - shape.bounds[0]
    size = float(rng.uniform(*config.object_size))
    orient = [_orientation(config, rng) for _ in range(n)]
    geoms = [bad if i + 1 == anomalous else shape for i in range(n)]
    turned = [g.vertices @ R.T for g, (R, _) in zip(geoms, orient)]  # about the shape centre, shape units
    tallest = max(float(np.ptp(v[:, 2])) for v in turned)
    scale = min(size / max(ext[0], ext[1], 1e-9), config.max_height / max(tallest, 1e-9))
    local = [scale * v for v in turned]
    prints = [footprint(v[:, :2]) for v in local]
    pos = place(prints, rng, config.spacing)
    centre = (np.min([(f + p).min(0) for f, p in zip(prints, pos)], 0) + np.max([(f + p).max(0) for f, p in zip(prints, pos)], 0)) / 2
    pos -= centre
    insts = []
    for i in range(n):
        R, yaw = orient[i]
        t = np.array([pos[i][0], pos[i][1], -local[i][:, 2].min()])  # resting on the floor
        mats = by_part
        if i + 1 == anomalous and job.anomaly == "material":
            mats = bad_materials
        insts.append(Instance(i + 1, geoms[i], pose_matrix(R, scale, t), R, scale, yaw, i + 1 == anomalous, mats))
    # cameras on a circle around the scene centre
    reach = max(float(np.linalg.norm(v[:, :2] + p, axis=1).max()) for v, p in zip(local, pos))
    top = max(float(inst.world_vertices()[:, 2].max()) for inst in insts)
    target = (0.0, 0.0, 0.35 * top)
    distance = config.distance_factor * reach + config.distance_margin
    elevation = math.radians(float(rng.uniform(*config.elevation_deg)))
    phase = float(rng.uniform(0.0, 2 * math.pi))
    cams = circle_cameras(config.views, distance, elevation, phase, target, config.fx, config.resolution)
    rig = {"distance": distance, "elevation": elevation, "phase": phase, "target": list(target), "reach": reach}
    frng = rng_for(job.seed, "floor")
    floors = floors or [m for m in library if substance_of(m) in config.floor_substances] or list(library)
    floor = floors[int(frng.integers(len(floors)))]
    floor = dataclasses.replace(floor, variation=sample_variation(floor, frng))
    lrng = rng_for(job.seed, "lighting")
    lighting = sample_lighting(config, lrng)
    if env_maps:
        lighting = dataclasses.replace(lighting, env_map=str(env_maps[int(lrng.integers(len(env_maps)))]),
                                       env_rotation=round(float(lrng.uniform(0, 2 * math.pi)), 6))
    return SceneDraw(job, shape, by_part, tuple(insts), anomalous, anomaly, record, tuple(cams), rig, lighting, floor,
                     attempt)


def _objects(meshes: MeshSet, draw: SceneDraw, replace_anomalous: bool, with_materials: bool) -> list:
    objs = []
    for inst in draw.instances:
        geom, mats = inst.shape, inst.materials
        if replace_anomalous and inst.anomalous:
            geom, mats = draw.shape, draw.materials
        for p in geom.parts:
            j = draw.part_index.get(p.name, len(draw.shape.parts))  # a part a corruption added: the next slot
            objs.append(meshes.object(f"i{inst.index:02d}_{p.name}", p.vertices, p.faces, pass_index(inst.index, j),
                                      mats.get(p.name) if with_materials else None, pose=inst.pose))
    return objs


def _bundle(tag: str, draw: SceneDraw, settings, replace_anomalous=False, with_materials=True) -> SceneBundle:
    meshes = MeshSet()
    objs = _objects(meshes, draw, replace_anomalous, with_materials)
    spec = SceneSpec(objs, draw.cameras, draw.lighting, settings, meta={"job": draw.job.id, "tag": tag,
                     "attempt": draw.attempt}, floor=draw.floor if with_materials else None)
    return SceneBundle(tag, spec, meshes.meshes)


def _settings(config, draw: SceneDraw, **changes):
    return dataclasses.replace(config.render, seed=(draw.job.seed + draw.attempt) % (2**31), ground=True, ground_z=0.0,
                               **changes)


def visibility_bundles(draw: SceneDraw, config) -> list[SceneBundle]:
    """Index + depth renders (1 sample, no materials) of the scene (``anomaly_index``) and of the
    scene with the anomalous copy made normal (``reference_index``); [] for a normal scene."""
    if draw.anomalous is None:
        return []
    cheap = _settings(config, draw, samples=1, denoise="none", passes=("index", "depth"))
    out = [_bundle("anomaly_index", draw, cheap, with_materials=False)]
    if draw.record is not None:  # a material swap changes no geometry: its pixels are the swapped part's
        out.append(_bundle("reference_index", draw, cheap, replace_anomalous=True, with_materials=False))
    return out


def scene_bundle(draw: SceneDraw, config) -> SceneBundle:
    """The full render of the scene: RGB, depth and index from every camera."""
    return _bundle("scene", draw, _settings(config, draw))


def job_bundles(job: Job, shape: Shape, config, library, donors=None, floors=None, env_maps=()) -> list[SceneBundle]:
    """Every spec the job renders at its first attempt (``--dry-run --specs``)."""
    draw = draw_scene(job, shape, config, library, donors, floors=floors, env_maps=env_maps)
    return visibility_bundles(draw, config) + [scene_bundle(draw, config)]


def anomaly_pixels(anom: dict, ref: dict, instance: int, swapped_pass: int | None = None,
                   depth_tol: float = 0.005) -> np.ndarray:
    """(H, W) bool: where the anomalous copy ``instance`` differs from a normal one in a view.

    anom / ref : the view's ``{"index": (H, W) uint16, "depth": (H, W) float32 metres}`` rendered with
    the anomalous / with a normal copy. A material swap changes no geometry: its pixels are those of
    the swapped part (``swapped_pass``, its pass index). Else: pixels of the copy (in either render)
    whose index differs or whose depth differs by more than ``depth_tol`` (relative).
    """
    ia, ir = anom["index"].astype(np.int64), ref["index"].astype(np.int64)
    if swapped_pass is not None:
        return ia == swapped_pass
    mine = (ia // PART_SLOTS == instance) | (ir // PART_SLOTS == instance)
    da, dr = anom["depth"], ref["depth"]
    deep = np.abs(da - dr) > depth_tol * np.maximum(np.maximum(da, dr), 1e-6)
    return mine & ((ia != ir) | deep)
