"""SceneSpec: the plain-data boundary between the pure-Python side and Blender.

A SceneSpec says everything ``blender_scripts`` ever reads: meshes on disk, a material
per object, lighting, cameras, render settings and passes. It round-trips through JSON,
so a job can be planned on one machine and rendered on another, replayed, or tested
without Blender.

Conventions (also in the README):
- World: Z up, metres.
- Cameras: OpenCV. ``world_to_camera`` (4, 4) maps homogeneous world points to camera
  coordinates with x right, y down, z forward (the viewing direction). ``K`` (3, 3) maps
  camera coordinates to pixels: ``u = fx * x / z + cx``, ``v = fy * y / z + cy``, where pixel
  (0, 0) is the top-left pixel's top-left corner, so the centre of pixel (i, j) (row i,
  column j) is at ``(u, v) = (j + 0.5, i + 0.5)``.
- Depth: planar z in camera coordinates (metres), 0 where no surface (background).
- Index pass: ``SceneObject.pass_index`` (1..65535) per pixel, 0 = background (or ground).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from datagen.errors import InputError
from datagen.io import atomic_write_text, dumps_json, read_json

SPEC_VERSION = 2  # 2: RenderSettings without device/threads (RenderRuntime), Material.variation


def _mat(a, shape, name) -> np.ndarray:
    m = np.array(a, dtype=np.float64)
    if m.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {m.shape}")
    if not np.all(np.isfinite(m)):
        raise ValueError(f"{name} has non-finite entries")
    m.setflags(write=False)
    return m


def fx_from_lens(lens_mm: float, sensor_mm: float, width_px: int) -> float:
    """Focal length in pixels of a lens on a sensor of ``sensor_mm`` width (Blender's sensor fit = horizontal)."""
    return lens_mm / sensor_mm * width_px


def look_at(eye, target, up=(0.0, 0.0, 1.0)) -> np.ndarray:
    """(4, 4) OpenCV world_to_camera for a camera at ``eye`` looking at ``target`` (metres, world Z-up)."""
    eye = np.asarray(eye, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    z = target - eye
    z /= np.linalg.norm(z)
    up = np.asarray(up, dtype=np.float64)
    if abs(float(np.dot(z, up))) > 1 - 1e-9:  # looking straight along up: pick another
        up = np.array([0.0, 1.0, 0.0])
    x = np.cross(z, up)  # right = forward x up (OpenCV: y points down)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    R = np.stack([x, y, z])  # rows: camera axes in world coordinates
    m = np.eye(4)
    m[:3, :3] = R
    m[:3, 3] = -R @ eye
    return m


def spherical_eye(radius: float, azimuth: float, elevation: float, target=(0.0, 0.0, 0.0)) -> np.ndarray:
    """(3,) camera position on a sphere: azimuth from +X towards +Y, elevation above the XY plane (radians)."""
    t = np.asarray(target, dtype=np.float64)
    return t + radius * np.array(
        [math.cos(elevation) * math.cos(azimuth), math.cos(elevation) * math.sin(azimuth), math.sin(elevation)]
    )


@dataclass(frozen=True, eq=False)
class Camera:
    """A pinhole camera. K : (3, 3) float64, pixels; world_to_camera : (4, 4) float64, OpenCV."""

    K: np.ndarray
    world_to_camera: np.ndarray
    width: int
    height: int

    def __post_init__(self):
        object.__setattr__(self, "K", _mat(self.K, (3, 3), "K"))
        object.__setattr__(self, "world_to_camera", _mat(self.world_to_camera, (4, 4), "world_to_camera"))
        if not (self.width > 0 and self.height > 0):
            raise ValueError(f"camera size must be positive, got {self.width}x{self.height}")
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "height", int(self.height))

    @classmethod
    def orbit(cls, radius, azimuth, elevation, fx, width, height, target=(0.0, 0.0, 0.0)) -> "Camera":
        """Camera on a sphere around ``target`` looking at it; square pixels, principal point at the centre."""
        K = np.array([[fx, 0.0, width / 2.0], [0.0, fx, height / 2.0], [0.0, 0.0, 1.0]])
        return cls(K, look_at(spherical_eye(radius, azimuth, elevation, target), target), width, height)

    @property
    def camera_to_world(self) -> np.ndarray:
        return np.linalg.inv(self.world_to_camera)

    @property
    def position(self) -> np.ndarray:
        """(3,) camera centre in world coordinates (metres)."""
        return self.camera_to_world[:3, 3]

    def project(self, points) -> tuple[np.ndarray, np.ndarray]:
        """points : (n, 3) world -> uv : (n, 2) pixels (top-left corner origin), z : (n,) metres."""
        p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        cam = p @ self.world_to_camera[:3, :3].T + self.world_to_camera[:3, 3]
        z = cam[:, 2]
        uvw = cam @ self.K.T
        with np.errstate(divide="ignore", invalid="ignore"):
            uv = uvw[:, :2] / uvw[:, 2:3]
        return uv, z

    def backproject(self, depth: np.ndarray) -> np.ndarray:
        """depth : (H, W) float planar z (0 = none) -> (H, W, 3) world points (NaN where no depth)."""
        H, W = depth.shape
        jj, ii = np.meshgrid(np.arange(W) + 0.5, np.arange(H) + 0.5)
        Kinv = np.linalg.inv(self.K)
        rays = np.stack([jj, ii, np.ones_like(jj)], -1) @ Kinv.T  # z = 1
        cam = rays * depth[..., None]
        world = (cam - self.world_to_camera[:3, 3]) @ self.world_to_camera[:3, :3]
        world[depth <= 0] = np.nan
        return world

    def to_json(self) -> dict:
        return {"K": self.K.tolist(), "world_to_camera": self.world_to_camera.tolist(), "width": self.width, "height": self.height}

    @classmethod
    def from_json(cls, d: dict) -> "Camera":
        return cls(d["K"], d["world_to_camera"], d["width"], d["height"])


@dataclass(frozen=True)
class Material:
    """A material reference: ``kind`` in {"preset", "textures", "flat"}; ``params`` is the
    materials package's JSON description (see ``materials``). ``flat`` = plain gray diffuse.
    ``variation`` : where this object's copy of a procedural pattern sits (offsets, angles),
    drawn in Python by ``materials.variation.sample_variation``; Blender draws nothing."""

    name: str
    kind: str = "flat"
    params: dict = field(default_factory=dict)
    variation: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in ("preset", "textures", "flat"):
            raise ValueError(f"material {self.name}: kind must be preset|textures|flat, got {self.kind!r}")


@dataclass(frozen=True, eq=False)
class SceneObject:
    """One mesh in the scene.

    name : unique in the scene. mesh : OBJ path (absolute, or relative to the spec file's folder).
    pass_index : int in [1, 65535], unique; written to the index pass.
    pose : (4, 4) float64 world-from-mesh transform. material : Material or None (flat gray).
    """

    name: str
    mesh: str
    pass_index: int
    pose: np.ndarray = field(default_factory=lambda: np.eye(4))
    material: Material | None = None

    def __post_init__(self):
        object.__setattr__(self, "pose", _mat(self.pose, (4, 4), f"object {self.name} pose"))
        if not (1 <= int(self.pass_index) <= 65535):
            raise ValueError(f"object {self.name}: pass_index must be in [1, 65535], got {self.pass_index}")

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "mesh": self.mesh,
            "pass_index": int(self.pass_index),
            "pose": self.pose.tolist(),
            "material": None if self.material is None else dataclasses.asdict(self.material),
        }

    @classmethod
    def from_json(cls, d: dict) -> "SceneObject":
        m = d.get("material")
        return cls(d["name"], d["mesh"], d["pass_index"], d.get("pose", np.eye(4)), Material(**m) if m else None)


@dataclass(frozen=True)
class Lighting:
    """World light + one key (sun) light.

    env_color : (3,) linear RGB of the uniform world light; env_strength : float.
    key_direction : (3,) unit vector pointing FROM the scene TOWARDS the light (world).
    key_strength : sun strength (W/m^2); key_color : (3,) linear RGB; key_angle : sun disk angle, radians
    (softness of shadows). env_map : path of an HDR/EXR environment image (lights the scene instead
    of the uniform colour, times ``env_strength``; tinted by ``env_color``) or None; env_rotation :
    its rotation about +Z, radians.
    """

    env_color: tuple = (1.0, 1.0, 1.0)
    env_strength: float = 0.6
    key_direction: tuple = (0.3, -0.4, 0.866)
    key_strength: float = 3.0
    key_color: tuple = (1.0, 1.0, 1.0)
    key_angle: float = 0.2
    env_map: str | None = None
    env_rotation: float = 0.0


ENGINES = ("cycles", "workbench")
DENOISERS = ("none", "oidn_fast", "oidn")
DENOISE_QUALITIES = ("high", "balanced", "fast")
LIGHT_TREES = ("auto", "on", "off")
DENOISE_GUIDES = ("none", "albedo", "albedo_normal")
DEVICES = ("cpu", "cuda", "optix")
PASSES = ("rgb", "depth", "index")
BACKGROUNDS = ("white", "transparent", "world")
#: RenderSettings fields that each spec sets (from its job and its kind of render), not a run's config.
PER_SPEC_SETTINGS = ("seed", "ground_z", "grayscale", "passes")


def _num_in(name: str, v, lo: float, hi: float) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not (lo <= v <= hi):
        raise ValueError(f"{name}={v!r} out of range [{lo}, {hi}]")


def _int_in(name: str, v, lo: int, hi: int) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not (lo <= v <= hi):
        raise ValueError(f"{name}={v!r}: expected an integer in [{lo}, {hi}]")


@dataclass(frozen=True)
class RenderRuntime:
    """How (not what) a machine renders: not part of a spec, so a spec renders the same anywhere.

    device : cpu | cuda | optix (falls back to the CPU with a warning). threads : Cycles threads (0 = all cores).
    """

    device: str = "cpu"
    threads: int = 0

    def __post_init__(self):
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, got {self.device!r}")
        if isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 0:
            raise ValueError(f"threads must be an integer >= 0, got {self.threads!r}")


@dataclass(frozen=True)
class RenderSettings:
    """engine : cycles | workbench. samples : Cycles samples per pixel. denoise : none | oidn_fast
    (OIDN with prefilter FAST) | oidn (default quality).
    seed : Cycles noise seed. background : white | transparent | world (the environment, as a camera
    sees it: scenes whose views show the sky above the floor). ground : a floor under the objects at
    ``ground_z`` that receives their shadows (on a white background, plain, the image is exposed so
    that the lit floor is white: the object on white with soft shadows). grayscale : write single-channel images (reference views).
    passes : subset of rgb, depth, index.
    Light paths and denoiser quality (Cycles only; the defaults are Blender's): max_bounces : total
    bounces; each per-type limit (diffuse 4, glossy 4, transmission 12, transparent 8) is capped by it.
    clamp_indirect : indirect sample clamp (0 = off). caustics : reflective and refractive caustics.
    denoise_quality : OIDN quality high | balanced | fast. adaptive_threshold : Cycles adaptive
    sampling noise threshold (0 = off: exactly ``samples`` per pixel; else ``samples`` is the
    maximum and ``adaptive_min_samples`` the minimum, 0 = Cycles' automatic; a minimum above
    ``samples`` is lowered to it, so ``replace(samples=1)`` stays valid). Both are deterministic
    for a given seed (no time limit). blue_noise : blue-noise sampling pattern instead of tabulated Sobol.
    light_tree : Cycles' light tree: on | off | auto (on from 4 light objects,
    ``blender_scripts.render.LIGHT_TREE_MIN_LIGHTS``; our scenes have one sun and the world, where
    the tree costs about 10 % of path tracing and gains nothing). denoise_guides : the passes OIDN
    gets besides the noisy image: none | albedo | albedo_normal (Blender's default). With the FAST
    prefilter (``oidn_fast``, which takes the guides as noise-free) the normal pass of an adaptively
    sampled image costs 0.2-1.3 dB against albedo alone at the same time (benchmarks/RESULTS.md).
    bump_lod_px : material level of detail: a procedural preset drops its bump when the bump's
    pattern is finer than this many pixels in the view nearest to the object and its strength is
    weak (``materials.lod``); 0 keeps every bump. About 20 % of Cycles' time on a chair with
    the material library at -0.03 dB (benchmarks/RESULTS.md).
    Every field is validated here, once: a run's config holds one RenderSettings."""

    engine: str = "cycles"
    samples: int = 16
    denoise: str = "oidn_fast"
    seed: int = 0
    background: str = "white"
    ground: bool = True
    ground_z: float = 0.0
    grayscale: bool = False
    passes: tuple = PASSES
    max_bounces: int = 12
    clamp_indirect: float = 10.0
    caustics: bool = True
    denoise_quality: str = "high"
    adaptive_threshold: float = 0.0
    adaptive_min_samples: int = 0
    blue_noise: bool = False
    light_tree: str = "auto"
    denoise_guides: str = "albedo"
    bump_lod_px: float = 3.0

    def __post_init__(self):
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, got {self.engine!r}")
        if self.denoise not in DENOISERS:
            raise ValueError(f"denoise must be one of {DENOISERS}, got {self.denoise!r}")
        if self.background not in BACKGROUNDS:
            raise ValueError(f"background must be one of {BACKGROUNDS}, got {self.background!r}")
        _int_in("samples", self.samples, 1, 65536)
        if self.denoise_quality not in DENOISE_QUALITIES:
            raise ValueError(f"denoise_quality must be one of {DENOISE_QUALITIES}, got {self.denoise_quality!r}")
        if self.denoise_guides not in DENOISE_GUIDES:
            raise ValueError(f"denoise_guides must be one of {DENOISE_GUIDES}, got {self.denoise_guides!r}")
        if self.light_tree not in LIGHT_TREES:
            raise ValueError(f"light_tree must be one of {LIGHT_TREES}, got {self.light_tree!r}")
        _int_in("max_bounces", self.max_bounces, 0, 1024)
        _num_in("clamp_indirect", self.clamp_indirect, 0.0, 1e6)
        _num_in("adaptive_threshold", self.adaptive_threshold, 0.0, 1.0)
        _int_in("adaptive_min_samples", self.adaptive_min_samples, 0, 65536)
        _int_in("seed", self.seed, 0, 2**63 - 1)
        _num_in("ground_z", self.ground_z, -1e6, 1e6)
        _num_in("bump_lod_px", self.bump_lod_px, 0.0, 1e4)
        object.__setattr__(self, "adaptive_min_samples", min(int(self.adaptive_min_samples), int(self.samples)))
        bad = set(self.passes) - set(PASSES)
        if bad:
            raise ValueError(f"unknown passes {sorted(bad)}; choose from {PASSES}")
        object.__setattr__(self, "passes", tuple(self.passes))

    def to_json(self, fields=None) -> dict:
        """The settings as JSON types (``fields``: only these)."""
        d = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}
        return d if fields is None else {k: d[k] for k in fields}

    @classmethod
    def from_json(cls, d: dict) -> "RenderSettings":
        """Inverse of ``to_json``; unknown keys raise ``ValueError`` listing the known ones."""
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(d) - set(names))
        if unknown:
            raise ValueError(f"unknown render settings {unknown}; known: {', '.join(names)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


@dataclass(frozen=True, eq=False)
class SceneSpec:
    """Everything one Blender render job needs. Rendering writes, per camera c (``NNNN`` = c zero-padded to 4):
    ``NNNN.png`` (8-bit RGB, RGBA if transparent, L if grayscale), ``NNNN_depth.npy`` ((H, W) float32 planar z,
    metres, 0 = background), ``NNNN_index.png`` ((H, W) uint16 pass indices, 0 = background).
    floor : the ground's Material when ``settings.ground`` (None: plain light gray, exposed white on a white
    background; a shadow catcher on a transparent one)."""

    objects: tuple
    cameras: tuple
    lighting: Lighting = Lighting()
    settings: RenderSettings = RenderSettings()
    meta: dict = field(default_factory=dict)
    floor: Material | None = None
    version: int = SPEC_VERSION

    def __post_init__(self):
        object.__setattr__(self, "objects", tuple(self.objects))
        object.__setattr__(self, "cameras", tuple(self.cameras))
        names = [o.name for o in self.objects]
        if len(set(names)) != len(names):
            raise ValueError("scene object names must be unique")
        idx = [o.pass_index for o in self.objects]
        if len(set(idx)) != len(idx):
            raise ValueError("scene object pass indices must be unique")
        if not self.cameras:
            raise ValueError("a scene needs at least one camera")

    def to_json(self) -> dict:
        return {
            "version": self.version,
            "objects": [o.to_json() for o in self.objects],
            "cameras": [c.to_json() for c in self.cameras],
            "lighting": {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self.lighting).items()},
            "settings": self.settings.to_json(),
            "floor": None if self.floor is None else dataclasses.asdict(self.floor),
            "meta": self.meta,
        }

    def dumps(self) -> str:
        return dumps_json(self.to_json())

    @classmethod
    def from_json(cls, d: dict, where: str | None = None) -> "SceneSpec":
        try:
            if d.get("version") != SPEC_VERSION:
                raise ValueError(f"unsupported spec version {d.get('version')!r} (expected {SPEC_VERSION})")
            lighting = {k: tuple(v) if isinstance(v, list) else v for k, v in d.get("lighting", {}).items()}
            return cls(
                objects=tuple(SceneObject.from_json(o) for o in d["objects"]),
                cameras=tuple(Camera.from_json(c) for c in d["cameras"]),
                lighting=Lighting(**lighting),
                settings=RenderSettings.from_json(d.get("settings", {})),
                meta=d.get("meta", {}),
                floor=Material(**d["floor"]) if d.get("floor") else None,
                version=d["version"],
            )
        except (KeyError, TypeError, ValueError) as e:
            raise InputError(where, f"bad scene spec: {type(e).__name__}: {e}") from None

    def save(self, path: str | os.PathLike) -> Path:
        return atomic_write_text(path, self.dumps())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "SceneSpec":
        return cls.from_json(read_json(path), where=str(path))

    def resolve_mesh(self, obj: SceneObject, spec_dir: str | os.PathLike | None) -> Path:
        p = Path(obj.mesh)
        return p if p.is_absolute() or spec_dir is None else Path(spec_dir) / p


def view_name(index: int) -> str:
    return f"{index:04d}"


def dumps_spec(spec: SceneSpec) -> str:
    return json.dumps(spec.to_json(), sort_keys=True)
