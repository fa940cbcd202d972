"""The BrokenChairs-180K (Looking 3D) layout: names, frames, type words and the box check that the
export and the import share.

Frames. Our world is Z-up (metres) and our cameras are OpenCV (x right, y down, z forward). The
release's world is Y-up and its ``RT`` uses OpenGL camera axes (x right, y up, looking down -z).
The export writes everything (``xyz``, ``RT``, ``RT_``, the angles in names) in the release's
frame, reached from ours by the proper rotation (det +1)

    X_release = A @ X_ours,   A = [[1, 0, 0], [0, 0, 1], [0, -1, 0]]     ((x, y, z) -> (x, z, -y))

and ``RT = D @ world_to_camera @ A4^-1`` with ``D = diag(1, -1, -1, 1)`` (OpenCV -> OpenGL camera
axes). Our +Z (up) becomes the release's +Y. A camera at our azimuth ``a`` (from +X towards +Y)
and elevation ``e`` is at the release's azimuth ``-a`` (from +X towards +Z: the release's camera
formula ``pos = d (cos e cos a', sin e, cos e sin a')`` with ``a' = -a``) and the same elevation.
The import applies the exact inverse. Pixels: with ``(u, v, w) = K @ RT[:3] @ [X, 1]``,
row = v / w and column = W - u / w (the release's convention; = our OpenCV column when
cx = W / 2, which holds for every camera we write).

Names (section 3 of the layout notes): ``render_<sid>_<texture>_<radius>_<azim>_<elev>_<light>_<label>.png``,
label ``normal`` or ``anomaly``; a name that would repeat gets ``-<k>`` appended to its light field
(``..._3-1_normal.png``), which keeps ``split('_')[1]`` the shape id and ``anomaly`` only in
anomalous names. Exported shape ids contain only ``[A-Za-z0-9-]`` and never ``anomaly``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from datagen.seeding import stable_seed

BOX_FRAME = 512  # 2d_bbox lives in a 512 x 512 frame, whatever the image size
VIEW_SIZE = 256  # reference views are 256 x 256
GRID = 32  # xyz is 32 x 32 (stride 8 on the 256-px view)
STRIDE = VIEW_SIZE // GRID
N_POINTS = 2000  # surface points per shape (pxy / is_visible)
MIN_COVISIBLE = 32  # the official loader needs >= 32 co-visible points for a view pair
LOADER_TRIES = 11  # it draws a random view pair up to 11 times, then the sample is None
MAX_MISS = 1e-3  # the largest chance that all 11 draws miss that an export accepts for a shape

MARKER = "datagen_export.json"  # our marker at the export root (options, source, counts)
MANIFEST = "datagen_export.jsonl"  # one line per exported sample
SHAPE_IDS = "shape_ids.json"  # {our shape id: exported shape id}
FAILURES = "failures.jsonl"
MARKER_FORMAT = "datagen-looking3d-export"
MARKER_VERSION = 1

# our anomaly type -> the release's word (config.type); unknown types keep their own name
TYPE_WORDS = {"position": "position", "rotation": "rotate", "broken": "damaged", "missing": "missing", "swapped": "swapped"}
OUR_TYPES = {v: k for k, v in TYPE_WORDS.items()}

A = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])  # ours (Z-up) -> release (Y-up)
A4 = np.eye(4)
A4[:3, :3] = A
D4 = np.diag([1.0, -1.0, -1.0, 1.0])  # OpenCV <-> OpenGL camera axes (its own inverse)


def release_type(ours: str) -> str:
    return TYPE_WORDS.get(ours, ours)


def our_type(word: str) -> str:
    return OUR_TYPES.get(word, word)


def to_release(points: np.ndarray) -> np.ndarray:
    """points : (..., 3) world, ours (Z-up) -> (..., 3) world, release (Y-up). NaN stays NaN."""
    return np.asarray(points, dtype=np.float64) @ A.T


def from_release(points: np.ndarray) -> np.ndarray:
    """points : (..., 3) world, release (Y-up) -> (..., 3) world, ours (Z-up)."""
    return np.asarray(points, dtype=np.float64) @ A


def release_rt(world_to_camera: np.ndarray) -> np.ndarray:
    """(4, 4) OpenCV world_to_camera in our world -> (4, 4) release ``RT``: world (Y-up) to OpenGL camera."""
    return D4 @ np.asarray(world_to_camera, dtype=np.float64) @ A4.T


def opencv_world_to_camera(rt: np.ndarray) -> np.ndarray:
    """(4, 4) release ``RT`` -> (4, 4) OpenCV world_to_camera in our world (the inverse of ``release_rt``)."""
    return D4 @ np.asarray(rt, dtype=np.float64) @ A4


def rigid_inverse(m: np.ndarray) -> np.ndarray:
    """Inverse of a (4, 4) rotation + translation: [R^T, -R^T t] (no LAPACK call: cheap and thread-free)."""
    m = np.asarray(m, dtype=np.float64)
    out = np.eye(4)
    out[:3, :3] = m[:3, :3].T
    out[:3, 3] = -m[:3, :3].T @ m[:3, 3]
    return out


def camera_position(world_to_camera: np.ndarray) -> np.ndarray:
    """(3,) camera centre in world coordinates of a (4, 4) world_to_camera (rotation + translation)."""
    m = np.asarray(world_to_camera, dtype=np.float64)
    return -m[:3, :3].T @ m[:3, 3]


def intrinsics_inverse(K: np.ndarray) -> np.ndarray:
    """Inverse of a (3, 3) upper-triangular pinhole K (fx, skew, cx; fy, cy; 0 0 1)."""
    (fx, s, cx), (_, fy, cy) = np.asarray(K, dtype=np.float64)[:2]
    return np.array([[1 / fx, -s / (fx * fy), (s * cy - cx * fy) / (fx * fy)], [0.0, 1 / fy, -cy / fy], [0.0, 0.0, 1.0]])


def release_angles(azimuth: float, elevation: float) -> tuple[float, float]:
    """Our azimuth, elevation (radians) -> the release's (degrees): azimuth in [0, 360), elevation."""
    return (-math.degrees(azimuth)) % 360.0, math.degrees(elevation)


def our_angles(azimuth_deg: float, elevation_deg: float) -> tuple[float, float]:
    """The release's azimuth, elevation (degrees) -> ours (radians), azimuth in [0, 2 pi)."""
    return math.radians(-azimuth_deg) % (2 * math.pi), math.radians(elevation_deg)


def whole_degrees(deg: float) -> int:
    """Degrees rounded to an integer, azimuth-style in [0, 360)."""
    return int(round(deg)) % 360


def fmt_num(x: float) -> str:
    """Short decimal for names: 2.5 -> "2.5", 2 -> "2.0", 2.123456 -> "2.123"."""
    s = f"{round(float(x), 3):g}"
    return s if ("." in s or "e" in s) else s + ".0"


def stable_int(obj, modulo: int) -> int:
    """A stable integer in [0, modulo) from any JSON-serializable object (texture / light ids)."""
    return stable_seed("looking3d", obj) % int(modulo)


def query_name(sid: str, texture: int, radius: float, azimuth: int, elevation: int, light: int,
               anomalous: bool, dup: int = 0) -> str:
    """The image file name (``render_...png``); ``dup`` > 0 makes a repeated name unique."""
    light_field = f"{int(light)}" if dup == 0 else f"{int(light)}-{int(dup)}"
    label = "anomaly" if anomalous else "normal"
    return f"render_{sid}_{int(texture)}_{fmt_num(radius)}_{int(azimuth)}_{int(elevation)}_{light_field}_{label}.png"


@dataclass(frozen=True)
class QueryName:
    """A parsed image name. Fields after the shape id are None where the name does not carry them."""

    shape_id: str
    label: int
    texture: int | None = None
    radius: float | None = None
    azimuth: float | None = None
    elevation: float | None = None
    light: int | None = None


def _num(s: str, kind):
    try:
        return kind(s)
    except (TypeError, ValueError):
        return None


def parse_query_name(filename: str) -> QueryName:
    """Parse a query image name the way the official loader does (``split('_')[1]`` = shape id,
    label 1 iff ``anomaly`` occurs in the name), plus the optional fields. ValueError if unusable."""
    if not filename.startswith("render_") or not filename.endswith(".png"):
        raise ValueError(f"{filename!r} is not a render_<...>.png image name")
    fields = filename[: -len(".png")].split("_")
    if len(fields) < 2 or not fields[1]:
        raise ValueError(f"{filename!r} has no shape id field")
    label = int("anomaly" in filename)
    f = fields + [None] * 8
    return QueryName(
        shape_id=fields[1],
        label=label,
        texture=_num(f[2], int),
        radius=_num(f[3], float),
        azimuth=_num(f[4], float),
        elevation=_num(f[5], float),
        light=_num((f[6] or "").split("-")[0], int),
    )


def view_stem(sid: str, distance: float, azimuth: int, elevation: int) -> str:
    """Reference view stem ``<sid>_<dist>_<azim>_<elev>`` (degrees, release frame)."""
    return f"{sid}_{fmt_num(distance)}_{int(azimuth)}_{int(elevation)}"


def parse_view_stem(stem: str) -> tuple[float, float, float] | None:
    """``<anything>_<dist>_<azim>_<elev>`` -> (distance, azimuth deg, elevation deg), or None."""
    parts = stem.split("_")
    if len(parts) < 4:
        return None
    vals = [_num(p, float) for p in parts[-3:]]
    return None if any(v is None for v in vals) else (vals[0], vals[1], vals[2])


_BAD_ID_CHARS = re.compile(r"[^A-Za-z0-9-]")


def _candidate(sid: str) -> str:
    c = _BAD_ID_CHARS.sub("-", str(sid))
    c = re.sub("anomaly", "anmly", c, flags=re.IGNORECASE)
    return c or "shape"


def export_ids(ids, previous: dict | None = None) -> dict:
    """{our shape id: exported id}: ids already valid (only ``[A-Za-z0-9-]``, no ``anomaly``) keep
    themselves; others get ``_`` and other characters replaced by ``-`` (``anomaly`` -> ``anmly``),
    then ``-2``, ``-3`` ... while taken. ``previous`` (an earlier export's map) is kept as is.
    Deterministic: depends only on the set of ids and ``previous``."""
    out = dict(previous or {})
    used = set(out.values())
    todo = sorted({str(s) for s in ids} - set(out))
    for sid in [s for s in todo if _candidate(s) == s and s not in used]:
        out[sid] = sid
        used.add(sid)
    for sid in todo:
        if sid in out:
            continue
        base = _candidate(sid)
        c, k = base, 1
        while c in used:
            k += 1
            c = f"{base}-{k}"
        out[sid] = c
        used.add(c)
    return out


def covisible_miss(visible) -> tuple[float, float]:
    """visible : one (P,) bool ``is_visible`` per view of a shape (same points in every view).

    Returns (share of view pairs with fewer than MIN_COVISIBLE points visible in both, chance that
    the official loader's LOADER_TRIES random pairs all are such pairs: the sample is then None)."""
    pairs = list(combinations(visible, 2))
    if not pairs:
        return 1.0, 1.0
    bad = sum(int(np.count_nonzero(a & b) < MIN_COVISIBLE) for a, b in pairs) / len(pairs)
    return bad, bad**LOADER_TRIES


def box_problem(box) -> str | None:
    """The official loader's box steps on ``2d_bbox`` = [x, y, w, h] (pixels of the 512 frame):
    divide by 512, convert to YOLO (cx, cy, w, h), then the albumentations YOLO checks (every
    YOLO value in (0, 1]; corners in [0, 1] up to float closeness; positive size). Returns the
    problem, or None when the loader accepts the box."""
    if not (isinstance(box, (list, tuple)) and len(box) == 4 and all(isinstance(v, (int, float)) for v in box)):
        return f"2d_bbox {box!r} is not 4 numbers"
    x, y, w, h = (float(v) / BOX_FRAME for v in box)
    yolo = (x + w / 2, y + h / 2, w, h)
    if any(not (0 < v <= 1) for v in yolo):
        return f"YOLO box {tuple(round(v, 4) for v in yolo)} not in (0, 1]"
    x_min, y_min = yolo[0] - yolo[2] / 2, yolo[1] - yolo[3] / 2
    corners = (x_min, y_min, x_min + yolo[2], y_min + yolo[3])
    for name, v in zip(("x_min", "y_min", "x_max", "y_max"), corners):
        if not (0 <= v <= 1) and not math.isclose(v, 0, abs_tol=1e-8) and not math.isclose(v, 1, rel_tol=1e-9):
            return f"{name} = {v:.6f} outside [0, 1]"
    if corners[2] <= corners[0] or corners[3] <= corners[1]:
        return "empty box"
    return None
