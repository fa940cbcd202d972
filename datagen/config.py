"""Run configuration of ``datagen generate``: one frozen dataclass, presets, validation, JSON.

The config is everything that decides the dataset's content (resolution, cameras, views,
anomaly types, splits, render quality, lighting ranges). It is stored in ``dataset.json``;
a rerun or another shard with a different config refuses to write into the same root.
Runtime choices that do not change the content (workers, executor, device, threads) are
not part of it.

Angles are stored in degrees (readable JSON); units: metres for distances, pixels for
sizes. ``fx`` is derived from the lens: ``fx = lens_mm / sensor_mm * resolution``
(50 mm / 36 mm at 256 px = 355.6 px, as in the Looking 3D release).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from datagen.corrupt.base import TYPES
from datagen.errors import InputError
from datagen.io import read_json

CONFIG_VERSION = 1


def _range(name: str, v, lo: float, hi: float) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not (lo <= v <= hi):
        raise ValueError(f"{name}={v!r} out of range [{lo}, {hi}]")


def _interval(name: str, v, lo: float, hi: float) -> tuple:
    try:
        a, b = (float(x) for x in v)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={v!r}: expected [low, high]") from None
    _range(f"{name}[0]", a, lo, hi)
    _range(f"{name}[1]", b, lo, hi)
    if a > b:
        raise ValueError(f"{name}={v!r}: low > high")
    return (a, b)


@dataclass(frozen=True)
class GenConfig:
    """What a generation run makes. See the module docstring for units.

    Query views: ``resolution`` px square, camera at ``camera_radius`` m looking at the origin,
    azimuth = k * 2pi / ``azimuth_steps`` (distinct per job), elevation uniform in
    ``elevation_deg``. Views per job: ``clip(round(N(median, sd)), 1, max)``; for anomalies these
    are candidates, a view is kept only if >= ``min_visible_px`` anomalous pixels (given at
    256 px, scaled by (resolution / 256)^2).
    Reference views: ``ref_views`` regular azimuths at ``ref_elevation_deg``, ``ref_radius`` m,
    ``ref_resolution`` px, Workbench, grayscale, textureless.
    ``anomaly_prob``: probability that a shape gets an anomaly job of each type in ``types``.
    ``splits``: (train, val, test) shares of the shapes (sum 1).
    """

    preset: str = "brokenchairs"
    resolution: int = 256
    lens_mm: float = 50.0
    sensor_mm: float = 36.0
    camera_radius: float = 2.5
    azimuth_steps: int = 20
    elevation_deg: tuple = (20.0, 40.0)
    normal_views: tuple = (8.0, 3.0, 12)  # median, sd, max
    anomaly_views: tuple = (4.0, 2.0, 8)
    min_visible_px: int = 100
    types: tuple = TYPES
    anomaly_prob: float = 1.0
    splits: tuple = (0.78, 0.07, 0.15)
    # render
    engine: str = "cycles"
    samples: int = 16
    denoise: str = "oidn_fast"
    denoise_quality: str = "high"
    max_bounces: int = 12
    clamp_indirect: float = 10.0
    caustics: bool = True
    adaptive_threshold: float = 0.0
    adaptive_min_samples: int = 0
    ground: bool = True
    background: str = "white"
    # reference views
    ref_views: int = 20
    ref_elevation_deg: float = 20.0
    ref_radius: float = 2.0
    ref_resolution: int = 256
    ref_engine: str = "workbench"
    # materials
    n_materials: int = 400
    material_seed: int = 0
    # lighting ranges
    env_strength: tuple = (0.35, 0.9)
    env_tint: float = 0.08
    key_strength: tuple = (1.5, 4.0)
    key_elevation_deg: tuple = (30.0, 70.0)
    key_angle_deg: tuple = (2.0, 20.0)
    # swapped donors: at most this many other shapes of the library are loaded per job
    donor_pool: int = 24
    version: int = CONFIG_VERSION

    def __post_init__(self):
        s = object.__setattr__
        _range("resolution", self.resolution, 8, 8192)
        _range("ref_resolution", self.ref_resolution, 8, 8192)
        _range("lens_mm", self.lens_mm, 1.0, 1000.0)
        _range("sensor_mm", self.sensor_mm, 1.0, 100.0)
        _range("camera_radius", self.camera_radius, 0.6, 100.0)
        _range("ref_radius", self.ref_radius, 0.6, 100.0)
        _range("azimuth_steps", self.azimuth_steps, 1, 3600)
        s(self, "elevation_deg", _interval("elevation_deg", self.elevation_deg, -89.0, 89.0))
        for name in ("normal_views", "anomaly_views"):
            v = getattr(self, name)
            try:
                med, sd, mx = float(v[0]), float(v[1]), int(v[2])
            except (TypeError, ValueError, IndexError):
                raise ValueError(f"{name}={v!r}: expected [median, sd, max]") from None
            _range(f"{name}.max", mx, 1, self.azimuth_steps)
            _range(f"{name}.median", med, 1, mx)
            _range(f"{name}.sd", sd, 0.0, 100.0)
            s(self, name, (med, sd, mx))
        _range("min_visible_px", self.min_visible_px, 0, 10**7)
        types = tuple(self.types)
        bad = [t for t in types if t not in TYPES]
        if bad or len(set(types)) != len(types):
            raise ValueError(f"types={list(types)!r}: expected distinct names among {', '.join(TYPES)}")
        s(self, "types", tuple(t for t in TYPES if t in types))
        _range("anomaly_prob", self.anomaly_prob, 0.0, 1.0)
        try:
            sp = tuple(float(x) for x in self.splits)
        except (TypeError, ValueError):
            raise ValueError(f"splits={self.splits!r}: expected [train, val, test]") from None
        if len(sp) != 3 or any(x < 0 for x in sp) or abs(sum(sp) - 1.0) > 1e-6:
            raise ValueError(f"splits={self.splits!r}: expected 3 non-negative shares summing to 1")
        s(self, "splits", sp)
        if self.engine not in ("cycles", "workbench"):
            raise ValueError(f"engine={self.engine!r}: expected cycles or workbench")
        if self.ref_engine not in ("cycles", "workbench"):
            raise ValueError(f"ref_engine={self.ref_engine!r}: expected cycles or workbench")
        _range("samples", self.samples, 1, 65536)
        if self.denoise not in ("none", "oidn_fast", "oidn"):
            raise ValueError(f"denoise={self.denoise!r}: expected none, oidn_fast or oidn")
        if self.denoise_quality not in ("high", "balanced", "fast"):
            raise ValueError(f"denoise_quality={self.denoise_quality!r}: expected high, balanced or fast")
        _range("max_bounces", self.max_bounces, 0, 1024)
        _range("clamp_indirect", self.clamp_indirect, 0.0, 1e6)
        _range("adaptive_threshold", self.adaptive_threshold, 0.0, 1.0)
        _range("adaptive_min_samples", self.adaptive_min_samples, 0, 65536)
        s(self, "adaptive_min_samples", min(int(self.adaptive_min_samples), int(self.samples)))  # --samples 8 stays valid
        if self.background not in ("white", "transparent"):
            raise ValueError(f"background={self.background!r}: expected white or transparent")
        _range("ref_views", self.ref_views, 1, 360)
        _range("ref_elevation_deg", self.ref_elevation_deg, -89.0, 89.0)
        _range("n_materials", self.n_materials, 1, 100000)
        s(self, "env_strength", _interval("env_strength", self.env_strength, 0.0, 100.0))
        _range("env_tint", self.env_tint, 0.0, 1.0)
        s(self, "key_strength", _interval("key_strength", self.key_strength, 0.0, 1000.0))
        s(self, "key_elevation_deg", _interval("key_elevation_deg", self.key_elevation_deg, -90.0, 90.0))
        s(self, "key_angle_deg", _interval("key_angle_deg", self.key_angle_deg, 0.0, 180.0))
        _range("donor_pool", self.donor_pool, 0, 10**6)
        if self.version != CONFIG_VERSION:
            raise ValueError(f"config version {self.version!r}: this code reads version {CONFIG_VERSION}")

    # --- derived values -------------------------------------------------------------
    @property
    def fx(self) -> float:
        """Query focal length, pixels."""
        return self.lens_mm / self.sensor_mm * self.resolution

    @property
    def ref_fx(self) -> float:
        """Reference-view focal length, pixels."""
        return self.lens_mm / self.sensor_mm * self.ref_resolution

    @property
    def min_visible_pixels(self) -> int:
        """``min_visible_px`` (given at 256 px) scaled to ``resolution``; at least 1 if it was > 0."""
        if self.min_visible_px == 0:
            return 0
        return max(1, int(round(self.min_visible_px * (self.resolution / 256.0) ** 2)))

    @property
    def azimuth_step(self) -> float:
        return 2 * math.pi / self.azimuth_steps

    # --- JSON ----------------------------------------------------------------------------
    def to_json(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_json(cls, d: dict, where: str | None = None) -> "GenConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise InputError(where, f"unknown config keys {unknown}; known: {', '.join(sorted(names))}")
        try:
            return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})
        except (TypeError, ValueError) as e:
            raise InputError(where, f"bad config: {e}") from None

    def replace(self, **changes) -> "GenConfig":
        return dataclasses.replace(self, **changes)


#: Presets: overrides of the dataclass defaults (which are the paper's settings).
PRESETS: dict[str, dict] = {
    # Cycles adaptive sampling (4..128 spp, noise threshold 0.013) + OIDN (albedo + normal, prefilter
    # FAST): within 1 dB of 128 fixed spp at about 4x its speed (benchmarks/RESULTS.md)
    "brokenchairs": {"samples": 128, "denoise": "oidn_fast", "adaptive_threshold": 0.013, "adaptive_min_samples": 4},
    "demo": {
        "preset": "demo",
        "resolution": 96,
        "ref_resolution": 96,
        "samples": 8,
        "ref_views": 6,
        "normal_views": (3.0, 1.0, 4),
        "anomaly_views": (3.0, 1.0, 4),
        "n_materials": 60,
        "donor_pool": 8,
        "splits": (0.5, 0.17, 0.33),
    },
}


def preset(name: str, **overrides) -> GenConfig:
    """The config of preset ``name`` with ``overrides`` (None values ignored)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    d = dict(PRESETS[name])
    d.setdefault("preset", name)
    d.update({k: v for k, v in overrides.items() if v is not None})
    return GenConfig(**d)


def load_config(path, **overrides) -> GenConfig:
    """A config JSON file (a full config, or ``{"preset": name, ...overrides}``) plus ``overrides``."""
    d = read_json(path)
    if not isinstance(d, dict):
        raise InputError(path, "config must be a JSON object")
    base = PRESETS.get(d.get("preset", "brokenchairs"))
    if base is None:
        raise InputError(path, f"unknown preset {d.get('preset')!r}; choose one of {', '.join(PRESETS)}")
    merged = {**base, **d, **{k: v for k, v in overrides.items() if v is not None}}
    return GenConfig.from_json(merged, where=str(path))
