"""Run configuration of ``datagen scenes`` (Odd-One-Out): one frozen dataclass, presets, JSON.

A scene is 3 to 12 copies of one shape on a floor, at tabletop size, seen by ``views``
cameras on a circle; most scenes hold one anomalous copy (a part corruption of
``datagen.corrupt``, or a material swap). Units: metres, degrees in the JSON, pixels.
The world is the model's grid (released layout, part B): Z up, floor z = 0, the scene
centred on the origin, x, y within +-1.92 m, object tops below 0.32 m.

Like ``GenConfig``, the content-deciding settings live here (stored in dataset.json); the
render quality is one ``RenderSettings`` (``render``); workers, device and threads are not part of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from datagen.config import OMIT_NONE, RunConfig, _interval, _range, load_preset_file, with_overrides
from datagen.corrupt.registry import ANOMALY_TYPES
from datagen.spec import RenderSettings

SCENES_CONFIG_VERSION = 1
GRID_HALF_XY = 1.92  # metres: the model's voxel grid (96 x 0.04 / 2)
GRID_TOP = 0.32  # metres


@dataclass(frozen=True)
class ScenesConfig(RunConfig):
    """What a scenes run makes.

    Cameras: ``views`` on a circle around the scene centre, azimuths evenly spaced from a random
    phase, elevation uniform in ``elevation_deg`` (per scene), distance = ``distance_factor`` x the
    scene's radius (largest horizontal distance of an object point from the centre) + ``distance_margin``,
    ``resolution`` px, ``lens_mm`` on ``sensor_mm`` (30 / 36: fx = 213.3 px at 256).
    Objects: ``instances`` = [min, max] copies; each copy's longest horizontal extent uniform in
    ``object_size`` (m), height at most ``max_height``; random yaw; ``tilt_deg`` (max tilt) and
    ``flip_prob`` (lying on a side) for mechanical parts; at least ``spacing`` m between footprints.
    Anomalies: a scene has one anomalous copy with probability ``anomaly_ratio``; its type is drawn
    uniformly from ``types`` (corruption types and ``material``); ``corruption``: per-type options.
    A kept scene shows the anomaly on >= ``min_visible_px`` pixels (at 256 px, scaled with the
    resolution) in at least one view; else up to ``attempts`` redraws, then the scene is dropped.
    Splits by shape (``splits`` = train, val, test shares); ``unseen_categories`` (toys) go to
    ``unseen-test`` whole, and the test share of the other categories becomes ``seen-test``.
    ``floor_substances``: material substances a procedural floor is drawn from; ``floor_textures``: a
    folder of texture-map materials (``materials.textures``: ambientCG, Poly Haven, Adobe naming) to
    draw floors from instead; ``hdri_dir``: a folder of .hdr / .exr environment images to light each
    scene with (one drawn per scene, random rotation about Z) instead of the uniform procedural world.
    Object materials: ``n_materials`` procedural presets (``material_seed``); ``materials_dir``: a folder
    of texture-map materials the objects wear, a share ``materials_mix`` of the part labels (0..1; 1.0 =
    only the folder's, the default with a folder), as in ``GenConfig``. Without ``floor_textures`` the
    floors are drawn from the same library (its materials of ``floor_substances``).
    """

    preset: str = "toysad"
    resolution: int = 256
    lens_mm: float = 30.0
    sensor_mm: float = 36.0
    views: int = 20
    elevation_deg: tuple = (25.0, 40.0)
    distance_factor: float = 1.7
    distance_margin: float = 0.15
    instances: tuple = (3, 10)
    object_size: tuple = (0.18, 0.32)
    max_height: float = 0.28
    tilt_deg: float = 0.0
    flip_prob: float = 0.0
    spacing: float = 0.04
    anomaly_ratio: float = 0.85
    types: tuple = ANOMALY_TYPES
    corruption: dict = field(default_factory=dict)
    min_visible_px: int = 60
    attempts: int = 3
    splits: tuple = (0.7, 0.1, 0.2)
    unseen_categories: tuple = ()
    render: RenderSettings = RenderSettings(samples=64, adaptive_threshold=0.02, adaptive_min_samples=4, background="world")
    floor_substances: tuple = ("wood", "plastic", "fabric")
    floor_textures: str | None = None
    hdri_dir: str | None = None
    n_materials: int = 400
    material_seed: int = 0
    materials_dir: str | None = field(default=None, metadata=OMIT_NONE)
    materials_mix: float | None = field(default=None, metadata=OMIT_NONE)
    env_strength: tuple = (0.5, 1.2)
    env_tint: float = 0.1
    key_strength: tuple = (1.5, 4.0)
    key_elevation_deg: tuple = (30.0, 70.0)
    key_angle_deg: tuple = (2.0, 15.0)
    donor_pool: int = 24
    version: int = SCENES_CONFIG_VERSION
    VERSION = SCENES_CONFIG_VERSION

    def __post_init__(self):
        s = object.__setattr__
        _range("resolution", self.resolution, 16, 4096)
        _range("lens_mm", self.lens_mm, 1.0, 1000.0)
        _range("sensor_mm", self.sensor_mm, 1.0, 100.0)
        _range("views", self.views, 2, 360)
        s(self, "elevation_deg", _interval("elevation_deg", self.elevation_deg, 1.0, 89.0))
        _range("distance_factor", self.distance_factor, 1.0, 20.0)
        _range("distance_margin", self.distance_margin, 0.0, 10.0)
        lo, hi = _interval("instances", self.instances, 2, 64)
        if lo != int(lo) or hi != int(hi):
            raise ValueError(f"instances={self.instances!r}: expected integers [min, max]")
        s(self, "instances", (int(lo), int(hi)))
        s(self, "object_size", _interval("object_size", self.object_size, 0.01, 1.5))
        _range("max_height", self.max_height, 0.01, GRID_TOP)
        _range("tilt_deg", self.tilt_deg, 0.0, 45.0)
        _range("flip_prob", self.flip_prob, 0.0, 1.0)
        _range("spacing", self.spacing, 0.0, 1.0)
        _range("anomaly_ratio", self.anomaly_ratio, 0.0, 1.0)
        _range("attempts", self.attempts, 1, 100)
        s(self, "unseen_categories", tuple(str(c) for c in self.unseen_categories))
        self.check_common(ANOMALY_TYPES, require_types=True)
        from materials.presets import SUBSTANCES

        subs = tuple(self.floor_substances)
        if not subs or any(x not in SUBSTANCES for x in subs):
            raise ValueError(f"floor_substances={list(subs)!r}: expected some of {', '.join(SUBSTANCES)}")
        s(self, "floor_substances", subs)
        for name in ("floor_textures", "hdri_dir"):
            v = getattr(self, name)
            if v is not None and not isinstance(v, str):
                raise ValueError(f"{name}={v!r}: expected a folder path or null")

    @property
    def fx(self) -> float:
        """Focal length, pixels."""
        return self.lens_mm / self.sensor_mm * self.resolution


#: ToysAD-like: household / toy categories, 3-10 copies upright, the paper's unseen categories held out.
TOYSAD = ScenesConfig(preset="toysad", unseen_categories=("banana", "cup", "mug", "plate", "robot", "train"))
#: PartsAD-like: mechanical parts, 3-12 copies, smaller, some tilted or lying on a side.
PARTSAD = ScenesConfig(preset="partsad", instances=(3, 12), object_size=(0.12, 0.26), max_height=0.2,
                       tilt_deg=12.0, flip_prob=0.3, floor_substances=("wood", "plastic"))
SCENE_PRESETS: dict[str, ScenesConfig] = {"toysad": TOYSAD, "partsad": PARTSAD}


def scenes_preset(name: str, **overrides) -> ScenesConfig:
    """The config of preset ``name`` with ``overrides`` (GenConfig-style: render keys go to ``render``)."""
    if name not in SCENE_PRESETS:
        raise ValueError(f"unknown scenes preset {name!r}; choose one of {', '.join(SCENE_PRESETS)}")
    return with_overrides(SCENE_PRESETS[name], **overrides)


def load_scenes_config(path, **overrides) -> ScenesConfig:
    """A config JSON file (``{"preset": name, ...changes}``, default toysad) plus ``overrides``."""
    return load_preset_file(path, SCENE_PRESETS, "toysad", ScenesConfig, **overrides)
