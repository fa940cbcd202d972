"""The per-folder checks of ``datagen.dataset.verify``: one sample, one reference shape, one
scene folder against format v1 (files, JSON, image sizes = camera sizes, depth, part indices,
masks and boxes). Each check appends "path: problem" lines to a ``Problems`` list."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image

import datagen.dataset.format as F
from datagen.dataset.reader import load_npy, load_png
from datagen.dataset.writer import bbox_of
from datagen.errors import InputError
from datagen.io import read_json

META_KEYS = ("shape_id", "label", "anomaly", "camera", "split")
VIEW_RE = re.compile(r"^\d{4}\.png$")
BBOX_TOL = 1  # pixels: the bbox may differ from the mask boxes by this much


class Problems(list):
    """Problem lines, and the paths they name (so the integrity check lists a file once)."""

    def __init__(self):
        super().__init__()
        self.paths: set[str] = set()

    def add(self, path, problem: str) -> None:
        self.paths.add(str(path))
        self.append(f"{path}: {problem}" if path is not None else problem)

    def error(self, e: InputError) -> None:
        self.add(e.path, e.problem)


def load_json(path: Path, out: Problems):
    try:
        return read_json(path)
    except InputError as e:
        out.error(e)
        return None


def load_json_object(path: Path, out: Problems) -> dict | None:
    """``load_json`` for files that must hold a JSON object; anything else is reported."""
    obj = load_json(path, out)
    if obj is not None and not isinstance(obj, dict):
        out.add(path, "not a JSON object")
        return None
    return obj


def _image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from the PNG header, without decoding; None if unreadable."""
    try:
        with Image.open(path) as im:
            return im.size
    except (OSError, ValueError):
        return None


def _check_bbox(d: Path, bbox, w: int, h: int, new, old, atype, out: Problems) -> None:
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(isinstance(v, (int, float)) for v in bbox)):
        out.add(d / F.META_JSON, f"bbox {bbox!r} is not [x1, y1, x2, y2]")
        return
    x1, y1, x2, y2 = bbox
    if not (0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h):
        out.add(d / F.META_JSON, f"bbox {bbox} is empty or outside the {w}x{h} image")
        return
    if new is None or new.shape != (h, w) or (old is not None and old.shape != (h, w)):
        return
    union = new if old is None else new | old
    inner, outer = bbox_of(new), bbox_of(union)
    if outer is None:
        if atype != "missing":
            out.add(d, "anomalous sample with empty masks")
        return
    t = BBOX_TOL
    if inner is not None and not (x1 <= inner[0] + t and y1 <= inner[1] + t and x2 >= inner[2] - t and y2 >= inner[3] - t):
        out.add(d / F.META_JSON, f"bbox {bbox} does not contain mask_new (box {inner})")
    elif not (x1 >= outer[0] - t and y1 >= outer[1] - t and x2 <= outer[2] + t and y2 <= outer[3] + t):
        out.add(d / F.META_JSON, f"bbox {bbox} is larger than the masks (box {outer})")


def check_sample(root: Path, row: dict, pixels: bool, out: Problems) -> str | None:
    """Check one query sample folder; returns its shape id (or None)."""
    d = root / row["path"]
    if not d.is_dir():
        out.add(d, "indexed sample folder missing")
        return None
    meta = load_json_object(d / F.META_JSON, out)
    if meta is None:
        return None
    lacking = [k for k in META_KEYS if k not in meta]
    if lacking:
        out.add(d / F.META_JSON, f"lacks {', '.join(lacking)}")
        return meta.get("shape_id")
    if meta.get("id", d.name) != d.name:
        out.add(d / F.META_JSON, f"id {meta.get('id')!r} != folder name {d.name!r}")
    label = meta["label"]
    if label not in (0, 1):
        out.add(d / F.META_JSON, f"label {label!r} is not 0 or 1")
        return meta["shape_id"]
    anomaly = meta["anomaly"]
    atype = anomaly.get("type") if isinstance(anomaly, dict) else None
    for key, got in (("label", label), ("anomaly_type", atype), ("shape_id", meta["shape_id"]), ("split", meta["split"])):
        if row.get(key) != got:
            out.add(root / F.INDEX_JSONL, f"{row['id']}: {key} {row.get(key)!r} != meta.json {got!r}")

    imported = meta.get("source") == F.SOURCE_LOOKING3D  # the release has no depth / parts
    need = ["rgb.png"] if imported else ["rgb.png", "depth.npy", "parts.png"]
    if label == 1:
        if not isinstance(anomaly, dict) or atype not in F.ANOMALY_TYPES:
            out.add(d / F.META_JSON, f"anomaly type {atype!r} is not one of {', '.join(F.ANOMALY_TYPES)}")
        need.append("mask_new.png")
        if atype != "missing" and not imported:
            need.append("mask_old.png")
        if meta.get("bbox") is None:
            out.add(d / F.META_JSON, "anomalous sample without bbox")
    else:
        if anomaly is not None:
            out.add(d / F.META_JSON, "normal sample (label 0) with an anomaly record")
        for m in ("mask_new.png", "mask_old.png"):
            if (d / m).exists():
                out.add(d / m, "mask in a normal sample")
    absent = [f for f in need if not (d / f).is_file()]
    for f in absent:
        out.add(d / f, "missing")

    cam = meta["camera"] if isinstance(meta["camera"], dict) else {}
    try:
        w, h = int(cam["width"]), int(cam["height"])
    except (KeyError, TypeError, ValueError):
        out.add(d / F.META_JSON, "camera lacks width/height")
        return meta["shape_id"]
    for f in ("rgb.png", "parts.png", "mask_new.png", "mask_old.png"):
        if (d / f).is_file():
            size = _image_size(d / f)
            if size is None:
                out.add(d / f, "unreadable image")
            elif size != (w, h):
                out.add(d / f, f"size {size[0]}x{size[1]} != camera {w}x{h}")
    if not pixels:
        if meta.get("bbox") is not None and label == 1:
            _check_bbox(d, meta["bbox"], w, h, None, None, atype, out)
        return meta["shape_id"]

    def arr(name, loader):
        if not (d / name).is_file():
            return None
        try:
            return loader(d / name)
        except InputError as e:
            out.error(e)
            return None

    depth = arr("depth.npy", load_npy)
    if depth is not None:
        if depth.shape != (h, w):
            out.add(d / "depth.npy", f"shape {depth.shape} != camera ({h}, {w})")
        elif not np.issubdtype(depth.dtype, np.floating):
            out.add(d / "depth.npy", f"dtype {depth.dtype} is not float")
        elif not np.isfinite(depth).all():
            out.add(d / "depth.npy", f"{int((~np.isfinite(depth)).sum())} non-finite values")
        elif (depth < 0).any():
            out.add(d / "depth.npy", f"{int((depth < 0).sum())} negative values")
    parts = arr("parts.png", load_png)
    if parts is not None and isinstance(meta.get("parts"), list):
        top = int(parts.max()) if parts.size else 0
        if parts.ndim != 2 or top > len(meta["parts"]):
            out.add(d / "parts.png", f"part index {top} > len(meta.parts) = {len(meta['parts'])}")
    if label == 1:
        new = arr("mask_new.png", load_png)
        old = arr("mask_old.png", load_png)
        new = None if new is None else (new > 0 if new.ndim == 2 else new[..., 0] > 0)
        old = None if old is None else (old > 0 if old.ndim == 2 else old[..., 0] > 0)
        if meta.get("bbox") is not None:
            masks_ok = not any(f.startswith("mask_") for f in absent)  # else only the image bounds
            _check_bbox(d, meta["bbox"], w, h, new if masks_ok else None, old, atype, out)
    return meta["shape_id"]


def check_reference(root: Path, shape_id: str, pixels: bool, out: Problems) -> None:
    base = root / F.SHAPES_DIR / shape_id
    vdir = base / F.VIEWS_DIR
    cp = vdir / F.CAMERAS_JSON
    if not cp.is_file():
        out.add(base, "reference views missing (no views/cameras.json)")
        return
    cams = load_json(cp, out)
    if cams is None:
        return
    if not isinstance(cams, list) or not cams:
        out.add(cp, "not a non-empty list of cameras")
        return
    views = sorted(p.name for p in vdir.iterdir() if VIEW_RE.match(p.name))
    if len(views) != len(cams):
        out.add(vdir, f"{len(views)} view images but {len(cams)} cameras")
    imported = [isinstance(c, dict) and c.get("source") == F.SOURCE_LOOKING3D for c in cams]
    if not (base / "parts.json").is_file() and not all(imported):
        out.add(base / "parts.json", "missing")
    for i, cam in enumerate(cams):
        stem = F.view_stem(i)
        try:
            w, h = int(cam["width"]), int(cam["height"])
        except (KeyError, TypeError, ValueError):
            out.add(cp, f"camera {i} lacks width/height")
            continue
        img = vdir / f"{stem}.png"
        if not img.is_file():
            out.add(img, "missing")
        else:
            size = _image_size(img)
            if size != (w, h):
                out.add(img, "unreadable image" if size is None else f"size {size[0]}x{size[1]} != camera {w}x{h}")
        for suffix, shape in (("_depth.npy", (h, w)), ("_points.npy", (h // F.PATCH_STRIDE, w // F.PATCH_STRIDE, 3))):
            p = vdir / f"{stem}{suffix}"
            if not p.is_file():
                if not (imported[i] and suffix == "_depth.npy"):
                    out.add(p, "missing")
                continue
            try:
                a = np.load(p, mmap_mode="r", allow_pickle=False)
            except (OSError, ValueError) as e:
                out.add(p, f"cannot read array: {e}")
                continue
            if a.shape != shape:
                out.add(p, f"shape {a.shape} != {shape}")
            elif pixels and suffix == "_depth.npy" and not (np.isfinite(a).all() and (np.asarray(a) >= 0).all()):
                out.add(p, "depth not finite and >= 0")


def check_scene(root: Path, row: dict, pixels: bool, out: Problems) -> None:
    d = root / row["path"]
    if not d.is_dir():
        out.add(d, "indexed scene folder missing")
        return
    scene = load_json_object(d / F.SCENE_JSON, out)
    if scene is None:
        return
    cams = scene.get("cameras")
    objects = scene.get("objects", [])
    counts = {}
    subs = [("rgb", ".png"), ("depth", ".npy"), ("instances", ".png")]
    if (d / "anomaly").is_dir() or scene.get("anomaly"):
        subs.append(("anomaly", ".png"))
    for sub, ext in subs:
        sd = d / sub
        counts[sub] = len(list(sd.glob(f"[0-9][0-9][0-9][0-9]{ext}"))) if sd.is_dir() else 0
    if len(set(counts.values())) != 1:
        out.add(d, f"view counts differ: {counts}")
    if isinstance(cams, list) and cams and counts["rgb"] != len(cams):
        out.add(d, f"{counts['rgb']} rgb views but {len(cams)} cameras")
    if counts["rgb"] == 0:
        out.add(d / "rgb", "no views")
    ids = [o.get("id") for o in objects]
    if ids != list(range(1, len(objects) + 1)):
        out.add(d / F.SCENE_JSON, f"object ids {ids} are not 1..{len(objects)} (the values of instances/)")
    for o in objects:
        if int(o.get("label", 0)) and (o.get("anomaly") or {}).get("type") is None:
            out.add(d / F.SCENE_JSON, f"object {o.get('id')!r}: label 1 without anomaly type")
        atype = (o.get("anomaly") or {}).get("type")
        if atype is not None and atype not in F.ANOMALY_TYPES:
            out.add(d / F.SCENE_JSON, f"object {o.get('id')!r}: anomaly type {atype!r} is not one of {', '.join(F.ANOMALY_TYPES)}")
    boxes = scene.get("boxes2d")
    if not isinstance(cams, list):
        return
    for i, cam in enumerate(cams):
        if not isinstance(cam, dict) or "width" not in cam:
            continue
        for sub in ("rgb", "instances"):
            p = d / sub / f"{F.view_stem(i)}.png"
            size = _image_size(p) if p.is_file() else None
            if size is not None and size != (int(cam["width"]), int(cam["height"])):
                out.add(p, f"size {size[0]}x{size[1]} != camera {cam['width']}x{cam['height']}")
        p = d / "instances" / f"{F.view_stem(i)}.png"
        if not pixels or not p.is_file():
            continue
        try:
            inst = load_png(p).astype(np.int64)
        except InputError as e:
            out.add(p, e.problem)
            continue
        if inst.max(initial=0) > len(objects):
            out.add(p, f"instance id {int(inst.max())} but the scene has {len(objects)} objects")
        if isinstance(boxes, list) and i < len(boxes) and isinstance(boxes[i], list):
            for k, box in enumerate(boxes[i][: len(objects)]):
                want = bbox_of(inst == k + 1)
                if (box is None) != (want is None) or (box is not None and list(box) != want):
                    out.add(d / F.SCENE_JSON, f"view {i} object {k + 1}: boxes2d {box} != its pixels' box {want}")
