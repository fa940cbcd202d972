"""The random draws of a render, all in Python with explicit generators: views, cameras,
lighting, materials and their per-object variation.

Angles in radians, distances in metres, image sizes in pixels. Every function takes an
explicit ``numpy.random.Generator``; the job code seeds them from the job seed
(``rng_for(job.seed, "cameras")`` ...), so the draws are the same whatever the order,
sharding or machine.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from datagen.config import GenConfig
from datagen.seeding import rng_for
from datagen.shapes.model import Shape
from datagen.spec import Camera, Lighting, Material

GRAY = Material("gray", "flat")


@dataclass(frozen=True, eq=False)
class View:
    """A query camera and where it sits: azimuth = azimuth_index * 2 pi / azimuth_steps (radians),
    elevation (radians) above the XY plane, radius (metres) from the origin."""

    camera: Camera
    azimuth_index: int
    azimuth: float
    elevation: float
    radius: float

    def meta(self) -> dict:
        """The camera as meta.json stores it: K, world_to_camera, size, azimuth, elevation, radius, azimuth_index."""
        return dict(self.camera.to_json(), azimuth=self.azimuth, elevation=self.elevation, radius=self.radius,
                    azimuth_index=self.azimuth_index)


def sample_view_count(rng: np.random.Generator, median: float, sd: float, max_views: int) -> int:
    """clip(round(N(median, sd)), 1, max_views)."""
    return int(np.clip(round(float(rng.normal(median, sd))), 1, max_views))


def sample_query_views(config: GenConfig, k: int, rng: np.random.Generator) -> list[View]:
    """k query views at distinct azimuth steps, elevation uniform in ``config.elevation_deg``,
    at ``camera_radius``, aimed at the origin (the normalized shape's bbox centre)."""
    steps = rng.choice(config.azimuth_steps, size=min(k, config.azimuth_steps), replace=False)
    lo, hi = (math.radians(a) for a in config.elevation_deg)
    out = []
    for ai in steps.tolist():
        el = float(rng.uniform(lo, hi))
        az = ai * config.azimuth_step
        cam = Camera.orbit(config.camera_radius, az, el, config.fx, config.resolution, config.resolution)
        out.append(View(cam, int(ai), az, el, config.camera_radius))
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
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(light).items()}


def assign_part_materials(shape: Shape, library: list[Material], seed: int) -> tuple[dict[str, Material], dict[str, Material]]:
    """One material per semantic label (part priors), then each part's own placement of it.

    Returns ``(by_label, by_part)``: label -> library material; part name -> that material with
    its ``variation`` (``materials.variation``). Draws from ``rng_for(seed, "materials")`` and
    ``rng_for(seed, "variation", part name)``. Without the materials package: flat gray.
    """
    try:
        from materials.assign import assign_materials
        from materials.variation import sample_variation
    except ImportError:
        return {lab: GRAY for lab in shape.labels}, {p.name: GRAY for p in shape.parts}
    by_label = assign_materials(shape.labels, library, rng_for(seed, "materials"))
    by_part = {}
    for p in shape.parts:
        m = by_label.get(p.label, GRAY)
        by_part[p.name] = dataclasses.replace(m, variation=sample_variation(m, rng_for(seed, "variation", p.name)))
    return by_label, by_part


def materials_json(by_label: dict[str, Material]) -> dict:
    """``{label: {name, kind, params}}`` as meta.json stores the assignment."""
    return {lab: {"name": m.name, "kind": m.kind, "params": m.params} for lab, m in sorted(by_label.items())}
