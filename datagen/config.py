"""Run configuration of ``datagen generate``: one frozen dataclass, presets, validation, JSON.

The config is everything that decides the dataset's content (resolution, cameras, views,
anomaly types and their options, splits, render quality, lighting ranges). It is stored in
``dataset.json``; a rerun or another shard with a different config refuses to write into
the same root. Runtime choices that do not change the content (workers, executor, device,
threads: ``datagen.spec.RenderRuntime``) are not part of it.

Render quality is one ``datagen.spec.RenderSettings`` (``config.render``), validated there,
once; each spec builder derives its settings from it with ``dataclasses.replace`` (the
per-spec fields seed, ground_z, grayscale and passes are set by the builders, never here).
Presets are ``GenConfig`` values; ``with_overrides`` applies options to any of them.

Angles are stored in degrees (readable JSON); units: metres for distances, pixels for
sizes. ``fx`` is derived from the lens: ``fx = lens_mm / sensor_mm * resolution``
(50 mm / 36 mm at 256 px = 355.6 px, as in the Looking 3D release).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from datagen.corrupt.registry import TYPES
from datagen.errors import InputError
from datagen.io import read_json
from datagen.spec import PER_SPEC_SETTINGS, RenderSettings

CONFIG_VERSION = 2  # 2: render settings nested in "render"; corruption options; the scale type
RENDER_FIELDS = tuple(f.name for f in dataclasses.fields(RenderSettings) if f.name not in PER_SPEC_SETTINGS)
#: Field metadata: left out of the config JSON while None (fields added later: the JSON of a config
#: that does not use them, hence dataset.json of existing datasets, stays the same).
OMIT_NONE = {"omit_none": True}


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


def _check_materials(config) -> None:
    """``materials_dir`` (a texture folder or None) and ``materials_mix`` (0..1; None -> 1.0 with a folder)."""
    d, mix = config.materials_dir, config.materials_mix
    if d is not None and (not isinstance(d, str) or not d):
        raise ValueError(f"materials_dir={d!r}: expected a folder path or null")
    if mix is None:
        if d is not None:
            object.__setattr__(config, "materials_mix", 1.0)  # a folder alone: only its materials
        return
    if d is None:
        raise ValueError(f"materials_mix={mix!r} needs materials_dir (a folder of texture materials)")
    _range("materials_mix", mix, 0.0, 1.0)
    object.__setattr__(config, "materials_mix", float(mix))


class RunConfig:
    """What every run config (GenConfig, datagen.scene_config.ScenesConfig) shares: the validation of
    their common fields (anomaly types, corruption options, splits, render settings, materials,
    lighting ranges, donors), derived values and JSON. Subclasses are frozen dataclasses with those
    fields, call ``check_common(allowed_types)`` in ``__post_init__`` and set ``VERSION``."""

    VERSION = 0

    def check_common(self, allowed_types: tuple, require_types: bool = False) -> None:
        s = object.__setattr__
        types = tuple(self.types)
        bad = [t for t in types if t not in allowed_types]
        if bad or (require_types and not types) or len(set(types)) != len(types):
            raise ValueError(f"types={list(types)!r}: expected distinct names among {', '.join(allowed_types)}")
        s(self, "types", tuple(t for t in allowed_types if t in types))
        from datagen.corrupt.api import validate_options

        s(self, "corruption", validate_options(self.corruption))
        _range("min_visible_px", self.min_visible_px, 0, 10**7)
        try:
            sp = tuple(float(x) for x in self.splits)
        except (TypeError, ValueError):
            raise ValueError(f"splits={self.splits!r}: expected [train, val, test]") from None
        if len(sp) != 3 or any(x < 0 for x in sp) or abs(sum(sp) - 1.0) > 1e-6:
            raise ValueError(f"splits={self.splits!r}: expected 3 non-negative shares summing to 1")
        s(self, "splits", sp)
        if not isinstance(self.render, RenderSettings):
            raise ValueError(f"render must be a RenderSettings, got {type(self.render).__name__}")
        for f in PER_SPEC_SETTINGS:
            if getattr(self.render, f) != getattr(RenderSettings(), f):
                raise ValueError(f"render.{f} is set per spec by the scene builders (from the job), not in a config")
        _range("n_materials", self.n_materials, 1, 100000)
        _check_materials(self)
        s(self, "env_strength", _interval("env_strength", self.env_strength, 0.0, 100.0))
        _range("env_tint", self.env_tint, 0.0, 1.0)
        s(self, "key_strength", _interval("key_strength", self.key_strength, 0.0, 1000.0))
        s(self, "key_elevation_deg", _interval("key_elevation_deg", self.key_elevation_deg, -90.0, 90.0))
        s(self, "key_angle_deg", _interval("key_angle_deg", self.key_angle_deg, 0.0, 180.0))
        _range("donor_pool", self.donor_pool, 0, 10**6)
        if self.version != self.VERSION:
            raise ValueError(f"{type(self).__name__} version {self.version!r}: this code reads version {self.VERSION}")

    @property
    def min_visible_pixels(self) -> int:
        """``min_visible_px`` (given at 256 px) scaled to ``resolution``; at least 1 if it was > 0."""
        if self.min_visible_px == 0:
            return 0
        return max(1, int(round(self.min_visible_px * (self.resolution / 256.0) ** 2)))

    def corruption_options(self, kind: str) -> tuple[object, object]:
        """``(Params, Thresholds)`` of corruption ``kind`` with this config's options."""
        from datagen.corrupt import registry

        return registry.get(kind).configure(self.corruption.get(kind))

    def to_json(self) -> dict:
        return config_to_json(self)

    @classmethod
    def from_json(cls, d: dict, where: str | None = None):
        """A config from JSON. Render settings go in ``"render"``; top-level render keys (the
        version-1 layout, e.g. ``{"samples": 64}``) are accepted and moved there."""
        return config_from_json(cls, d, where)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class GenConfig(RunConfig):
    """What a generation run makes. See the module docstring for units.

    Query views: ``resolution`` px square, camera at ``camera_radius`` m looking at the origin,
    azimuth = k * 2pi / ``azimuth_steps`` (distinct per job), elevation uniform in
    ``elevation_deg``. Views per job: ``clip(round(N(median, sd)), 1, max)``; for anomalies these
    are candidates, a view is kept only if >= ``min_visible_px`` anomalous pixels (given at
    256 px, scaled by (resolution / 256)^2).
    Reference views: ``ref_views`` regular azimuths at ``ref_elevation_deg``, ``ref_radius`` m,
    ``ref_resolution`` px, ``ref_engine``, grayscale, textureless.
    ``types``: anomaly types (``datagen.corrupt.registry.TYPES``); ``anomaly_prob``: probability
    that a shape gets an anomaly job of each type; ``corruption``: per-type options
    ``{type: {option: value}}`` (fields of the type's Params / Thresholds).
    ``splits``: (train, val, test) shares of the shapes (sum 1).
    ``render``: the query render settings (RenderSettings; per-spec fields left at their defaults).
    Materials: ``n_materials`` procedural presets (``material_seed``); ``materials_dir``: a folder of
    texture-map materials (``materials.library``), of which a share ``materials_mix`` (0..1; 1.0 =
    only the folder's, the default with a folder) of the part labels is drawn, the rest from presets.
    """

    preset: str = "custom"
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
    corruption: dict = field(default_factory=dict)
    splits: tuple = (0.78, 0.07, 0.15)
    render: RenderSettings = RenderSettings()
    # reference views
    ref_views: int = 20
    ref_elevation_deg: float = 20.0
    ref_radius: float = 2.0
    ref_resolution: int = 256
    ref_engine: str = "workbench"
    # materials
    n_materials: int = 400
    material_seed: int = 0
    materials_dir: str | None = field(default=None, metadata=OMIT_NONE)
    materials_mix: float | None = field(default=None, metadata=OMIT_NONE)
    # lighting ranges
    env_strength: tuple = (0.35, 0.9)
    env_tint: float = 0.08
    key_strength: tuple = (1.5, 4.0)
    key_elevation_deg: tuple = (30.0, 70.0)
    key_angle_deg: tuple = (2.0, 20.0)
    # swapped donors: at most this many other shapes of the library are loaded per job
    donor_pool: int = 24
    version: int = CONFIG_VERSION
    VERSION = CONFIG_VERSION

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
        _range("anomaly_prob", self.anomaly_prob, 0.0, 1.0)
        if self.ref_engine not in ("cycles", "workbench"):
            raise ValueError(f"ref_engine={self.ref_engine!r}: expected cycles or workbench")
        _range("ref_views", self.ref_views, 1, 360)
        _range("ref_elevation_deg", self.ref_elevation_deg, -89.0, 89.0)
        self.check_common(TYPES)

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
    def azimuth_step(self) -> float:
        return 2 * math.pi / self.azimuth_steps


# --- shared by every run config (GenConfig, datagen.scene_config.ScenesConfig) -----------------------
def config_to_json(config) -> dict:
    """A run config as JSON types; ``render`` without its per-spec fields; ``OMIT_NONE`` fields only when set."""
    d = {}
    for f in dataclasses.fields(config):
        v = getattr(config, f.name)
        if v is None and f.metadata.get("omit_none"):
            continue
        if f.name == "render":
            v = v.to_json(RENDER_FIELDS)
        d[f.name] = list(v) if isinstance(v, tuple) else v
    return d


def config_from_json(cls, d: dict, where: str | None = None):
    """``cls(**...)`` from JSON: lists become tuples, ``render`` (nested, or its keys at the top level)
    becomes a RenderSettings; unknown keys and bad values raise ``InputError`` naming ``where``."""
    try:
        if not isinstance(d, dict):
            raise ValueError("config must be a JSON object")
        names = {f.name for f in dataclasses.fields(cls)}
        d = dict(d)
        render = dict(d.pop("render", None) or {})
        render.update({k: d.pop(k) for k in list(d) if k in RENDER_FIELDS})
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown config keys {unknown}; known: {', '.join(sorted(names | set(RENDER_FIELDS)))}")
        kw = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        return cls(render=RenderSettings.from_json(render), **kw)
    except (TypeError, ValueError) as e:
        raise InputError(where, f"bad config: {e}") from None


def load_preset_file(path, presets: dict, default: str, cls, **overrides):
    """A config JSON file (``{"preset": name, ...changes}``; ``render`` merged key by key over the
    preset's) plus ``overrides`` (see ``with_overrides``)."""
    d = read_json(path)
    if not isinstance(d, dict):
        raise InputError(path, "config must be a JSON object")
    name = d.get("preset", default)
    if name not in presets:
        raise InputError(path, f"unknown preset {name!r}; choose one of {', '.join(presets)}")
    if d.get("render") is not None and not isinstance(d["render"], dict):
        raise InputError(path, f"bad config: render: expected an object of render settings, got {d['render']!r}")
    base = presets[name].to_json()
    # one construction, one validation: preset < file ("render", then its top-level render keys) < overrides
    # (so an override may supply what a file's value needs, e.g. materials_dir for its materials_mix)
    top = {k: v for k, v in d.items() if k != "render"}
    over = {k: v for k, v in overrides.items() if v is not None}
    render = {**base.pop("render"), **(d.get("render") or {}),
              **{k: top.pop(k) for k in list(top) if k in RENDER_FIELDS},
              **{k: over.pop(k) for k in list(over) if k in RENDER_FIELDS}}
    merged = {**base, **top, **over, "render": render}
    return config_from_json(cls, merged, where=str(path))


def with_overrides(config, **overrides):
    """``config`` (any run config) with ``overrides`` applied by ``dataclasses.replace`` (None values ignored).

    Keys are GenConfig fields or render settings fields (``samples=64`` sets ``render.samples``).
    """
    over = {k: v for k, v in overrides.items() if v is not None}
    render = {k: over.pop(k) for k in list(over) if k in RENDER_FIELDS}
    if render:
        over["render"] = dataclasses.replace(over.get("render", config.render), **render)
    if "types" in over:
        over["types"] = tuple(over["types"])
    return dataclasses.replace(config, **over)


#: The paper's settings. Cycles adaptive sampling (4..128 spp, noise threshold 0.011) + OIDN
#: (albedo guide, prefilter FAST), no light tree (one sun), weak sub-pixel bumps dropped: within
#: 1 dB of 128 fixed spp, 3.7x its speed with the material library (4.1x once the worker runs)
#: and 4.3x on flat materials (benchmarks/RESULTS.md).
#: Types: the Looking 3D paper's five.
BROKENCHAIRS = GenConfig(
    preset="brokenchairs",
    types=("position", "rotation", "broken", "swapped", "missing"),
    render=RenderSettings(samples=128, denoise="oidn_fast", adaptive_threshold=0.011, adaptive_min_samples=4),
)
#: Minutes on 2 cores: 96 px, 8 spp, 6 reference views, every anomaly type.
DEMO = GenConfig(
    preset="demo",
    resolution=96,
    ref_resolution=96,
    render=RenderSettings(samples=8),
    ref_views=6,
    normal_views=(3.0, 1.0, 4),
    anomaly_views=(3.0, 1.0, 4),
    n_materials=60,
    donor_pool=8,
    splits=(0.5, 0.17, 0.33),
)
PRESETS: dict[str, GenConfig] = {"brokenchairs": BROKENCHAIRS, "demo": DEMO}


def preset(name: str, **overrides) -> GenConfig:
    """The config of preset ``name`` with ``overrides`` (see ``with_overrides``)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return with_overrides(PRESETS[name], **overrides)


def load_config(path, **overrides) -> GenConfig:
    """A config JSON file (a full config, or ``{"preset": name, ...changes}``) plus ``overrides``.

    Changes apply on top of the named preset (default brokenchairs); ``render`` is merged key by key.
    """
    return load_preset_file(path, PRESETS, "brokenchairs", GenConfig, **overrides)
