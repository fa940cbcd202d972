"""The ToysAD-8K / PartsAD-15K (Odd-One-Out) layout: names, type tokens, and the metadata each
scene folder holds, built from our ``scene.json`` (pure functions, no file access).

Names. A scene folder is ``<stem>-<NNN>`` (the ToysAD form ``banana_028-003``): ``stem`` is the
scene's shape id with every character outside ``[A-Za-z0-9_]`` made ``_`` (``-2``, ``-3`` ... would
add a ``-``, so clashes get ``_2``, ``_3`` ...), so ``name.split('-')[0]`` is the normal shape's
stem; ``NNN`` is the number of our scene id ``<shape_id>-<NNN>``, or the next free number of that
shape for an id of another form. An object's ``path`` is ``<stem>/<stem>.obj`` for a normal copy
and ``<stem>/<stem>-<token>-<NNN>.obj`` for the anomalous one: the official loader's label is
``'-' in basename``, and ``basename.split('-')[1]`` is the release's type token (``TYPE_TOKENS``).
The paths name no real file: they carry the label and the type.

Frames. Ours and the release's agree: world Z-up metres, floor z = 0, cameras OpenCV
world-to-camera (x right, y down, z forward). Nothing is converted; K is scaled to the written size.
An object's Blender-style frame is its 3D box: ``location`` = ``bbox[0]`` = the box centre,
``matrix_world`` = [scale * R, centre] with R = the box rotation (world-from-box; our yaw, and tilt
for mechanical parts), ``dimensions`` = ``bbox[1]`` = the box size along the object's own x, y, z.
"""

from __future__ import annotations

import math
import re

import numpy as np

MARKER = "datagen_export.json"  # ours, at the export root: options, source, counts
SCENE_IDS = "scene_ids.json"  # {"scenes": {our scene id: folder name}, "shapes": {our shape id: stem}}
FAILURES = "failures.jsonl"
SPLIT_FILE = "split.json"
MARKER_FORMAT = "datagen-oddoneout-export"
MARKER_VERSION = 1

SIZE = 256  # dataset.dimension of both official configs
MIN_VIEWS = 10  # the loader draws 2 * num_views = 10 distinct views
GRID_HALF_XY, GRID_TOP = 1.92, 0.32  # the model's voxel grid (96 x 0.04 / 2, 16 x 0.04 / 2), metres
SEGMENT_GREY = 205  # object pixels of segmentations/ (the release: ~205-207)
FLOOR_OBJECT = "floor_object"
DEPTH_PNG_SCALE = 1000.0  # depth_png: uint16 millimetres (0 = no depth)

#: our anomaly type -> the token in anomalous basenames (``<stem>-<token>-<NNN>``). Release tokens
#: where one exists; ``broken`` (a sphere / cube cut out of a part) takes ``disc`` so that each of
#: our types has its own token; ``swapped`` (a part from another shape) has none in the release: ``swap``.
TYPE_TOKENS = {
    "position": "tran", "rotation": "rota", "scale": "scal", "material": "mats", "bend": "bend",
    "twist": "twist", "crack": "crack", "fracture": "frac", "missing": "miss", "dent": "bump",
    "broken": "disc", "swapped": "swap",
}
OUR_TYPES = {v: k for k, v in TYPE_TOKENS.items()}
#: split names in the order the split file lists them: train.py evaluates the first key holding
#: ``test`` (``unseen-test``, as the official ToysAD file) and trains on the first holding ``train``.
SPLIT_ORDER = ("unseen-test", "train", "val", "seen-test", "test")

_BAD_STEM = re.compile(r"[^A-Za-z0-9_]")


def type_token(kind: str | None) -> str:
    """Our anomaly type -> its token (unknown types: their name without ``-`` / ``_`` / odd characters)."""
    if kind in TYPE_TOKENS:
        return TYPE_TOKENS[kind]
    return re.sub(r"[^A-Za-z0-9]", "", str(kind or "anom")) or "anom"


def our_type(token: str) -> str:
    return OUR_TYPES.get(token, token)


def label_of(path: str) -> int:
    """The official loader's label of an object ``path``: 1 iff ``'-'`` occurs in its basename."""
    return int("-" in re.split(r"[\\/]", path)[-1])


def object_path(stem: str, number: str, anomaly_type: str | None) -> str:
    """``<stem>/<stem>.obj`` (normal) or ``<stem>/<stem>-<token>-<number>.obj`` (anomalous)."""
    if anomaly_type is None:
        return f"{stem}/{stem}.obj"
    return f"{stem}/{stem}-{type_token(anomaly_type)}-{number}.obj"


def blender_name(j: int) -> str:
    """Blender's names of the j-th (0-based) copy: ``object``, ``object.001``, ``object.002`` ..."""
    return "object" if j == 0 else f"object.{j:03d}"


def _stem(shape_id: str) -> str:
    return _BAD_STEM.sub("_", str(shape_id)) or "shape"


def scene_names(scenes: list[tuple[str, str]], previous: dict | None = None) -> dict:
    """Folder names of scenes ``[(our scene id, our shape id)]``: ``{"scenes": {id: name},
    "shapes": {shape id: stem}}``. ``previous`` (an earlier export's map) is kept as is; the rest is
    deterministic given the set of pairs and ``previous``."""
    prev = previous or {}
    stems = dict(prev.get("shapes", {}))
    names = dict(prev.get("scenes", {}))
    used_stems = set(stems.values())
    for sid in sorted({s for _, s in scenes} - set(stems)):
        base = c = _stem(sid)
        k = 1
        while c in used_stems:
            k += 1
            c = f"{base}_{k}"
        stems[sid] = c
        used_stems.add(c)
    used = set(names.values())
    todo = sorted((i, s) for i, s in set(scenes) if i not in names)
    later = []
    for scene_id, sid in todo:  # ids of our form keep their number
        m = re.fullmatch(re.escape(sid) + r"-(\d+)", scene_id)
        name = f"{stems[sid]}-{m.group(1)}" if m else None
        if name is None or name in used:
            later.append((scene_id, sid))
            continue
        names[scene_id] = name
        used.add(name)
    for scene_id, sid in later:
        k = 1
        while f"{stems[sid]}-{k:03d}" in used:
            k += 1
        names[scene_id] = f"{stems[sid]}-{k:03d}"
        used.add(names[scene_id])
    return {"scenes": names, "shapes": stems}


def euler_xyz(R: np.ndarray) -> list[float]:
    """(3, 3) rotation -> Blender XYZ Euler [rx, ry, rz] radians (R = Rz @ Ry @ Rx)."""
    R = np.asarray(R, dtype=np.float64)
    sy = -R[2, 0]
    ry = math.asin(max(-1.0, min(1.0, sy)))
    if abs(R[2, 0]) < 1 - 1e-9:
        angles = [math.atan2(R[2, 1], R[2, 2]), ry, math.atan2(R[1, 0], R[0, 0])]
    else:
        angles = [0.0, ry, math.atan2(-R[0, 1], R[1, 1])]  # gimbal lock: put the turn on Z
    return [a + 0.0 for a in angles]  # no -0.0


def _wrap(a: float) -> float:
    return (a + math.pi) % (2 * math.pi) - math.pi


def object_entry(obj: dict, j: int, stem: str, number: str) -> dict:
    """One ``scene3d.objects`` entry from our scene.json object ``obj`` (the j-th)."""
    box = obj["bbox3d"]
    centre = np.asarray(box["center"], dtype=np.float64).reshape(3)
    size = np.asarray(box["size"], dtype=np.float64).reshape(3)
    R = np.asarray(box.get("rotation", obj.get("rotation")), dtype=np.float64).reshape(3, 3)
    s = float(obj.get("scale", 1.0))
    world = np.eye(4)
    world[:3, :3] = s * R
    world[:3, 3] = centre
    euler = euler_xyz(R)
    yaw = obj.get("yaw")
    if yaw is not None and abs(_wrap(euler[2] - float(yaw))) < 1e-9:
        euler[2] = float(yaw)  # the drawn yaw as drawn
    anomaly = obj.get("anomaly") if int(obj.get("label", 0)) else None
    kind = (anomaly or {}).get("type", "anomaly") if int(obj.get("label", 0)) else None
    return {
        "name": blender_name(j),
        "path": object_path(stem, number, kind),
        "rotation_matrix": world.tolist(),
        "rotation_euler": euler,
        "location": centre.tolist(),
        "scale": [s, s, s],
        "bbox": [centre.tolist(), size.tolist()],
        "datagen": {"id": obj.get("id", j + 1), "name": obj.get("name"), "shape_id": obj.get("shape_id"),
                    "label": int(obj.get("label", 0)), "type": kind,
                    "part": (anomaly or {}).get("part"), "part_label": (anomaly or {}).get("label"),
                    "pose": obj.get("pose")},
    }


def outside_grid(entries: list[dict]) -> str | None:
    """Why the objects' boxes leave the model's voxel grid (x, y within +-1.92 m, z within
    [0, 0.32] m on the floor side), or None when they fit."""
    worst_xy = worst_top = 0.0
    for e in entries:
        c, d = np.asarray(e["bbox"][0]), np.asarray(e["bbox"][1])
        R = np.asarray(e["rotation_matrix"])[:3, :3]
        R = R / np.linalg.norm(R[:, 0])
        corners = c + (np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1])).reshape(3, -1).T * d / 2) @ R.T
        worst_xy = max(worst_xy, float(np.abs(corners[:, :2]).max()))
        worst_top = max(worst_top, float(corners[:, 2].max()))
    problems = []
    if worst_xy > GRID_HALF_XY:
        problems.append(f"a box reaches |x| or |y| = {worst_xy:.3f} m > {GRID_HALF_XY}")
    if worst_top > GRID_TOP:
        problems.append(f"a box reaches z = {worst_top:.3f} m > {GRID_TOP}")
    return "; ".join(problems) or None


def scene3d(entries: list[dict], poses: list, K: np.ndarray, scene: dict, extra: dict) -> dict:
    """``scene3d.metadata.json``: objects, cameras (one K, one 4x4 OpenCV world-to-camera per view
    in file order), scene (floor, HDR), rendering info, and our ``datagen`` block (ignored by the loader)."""
    lighting = scene.get("lighting") or {}
    return {
        "objects": entries,
        "camera": {"poses": [{"rotation": np.asarray(p, dtype=np.float64).tolist()} for p in poses],
                   "K": np.asarray(K, dtype=np.float64).tolist()},
        "scene": {"floor_pbr": (scene.get("floor") or {}).get("name"), "background_hdr": lighting.get("env_map")},
        "rendering_info": {"object_loading_time": 0.0},
        "datagen": extra,
    }


def scene2d(entries: list[dict], boxes: dict) -> dict:
    """``scene2d.metadata.json``: paths, labels 1 = normal / 0 = anomalous (the release's way round),
    and per RGB file the boxes [x0, y0, x1, y1] (x1, y1 exclusive) of the anomalous objects' pixels."""
    return {"blend_paths": [e["path"] for e in entries],
            "anomaly_labels": [1 - label_of(e["path"]) for e in entries],
            "bbox": boxes}
