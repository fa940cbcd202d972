"""Check a dataset in format v1 on disk; list every problem found.

    problems = verify("ds/")     # [] when fine; each item "path: problem"

Checked: dataset.json (format, version, counts vs the index); splits.json (disjoint, covers
the shapes of the samples, agrees with each sample's split); index.jsonl (valid rows, unique
ids, each folder exists; sample folders missing from the index); each sample (meta.json,
rgb/depth/parts files, masks for anomalies - mask_old not for "missing" - image sizes =
camera width/height, depth finite and >= 0, part indices within 0..len(meta.parts), bbox
inside the image and consistent with the masks, anomaly type one of the five); each
reference shape (cameras.json count = views, depth/points files with the right shapes);
scenes (scene.json, as many rgb/depth/instances files as cameras); leftover temporary
folders or files (names ``.*.tmp`` / ``.*.old`` left by an interrupted atomic write); integrity:
every file of each indexed sample / reference / scene folder against the folder's manifest.json
(missing, not listed, size, BLAKE2b digest) and dataset.json / splits.json / index.jsonl against
the root's. A file with a problem found by the checks above is not listed again for its digest.
Folders written before checksums (no manifest.json) are listed in ``warnings``, not as problems.
Data imported from the Looking 3D release (``source`` = looking3d-release in a sample's meta or a
view's camera) may lack depth, parts and mask_old, as format v1 allows for it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
from PIL import Image

from datagen.dataset import format as F
from datagen.dataset.manifest import MANIFEST_JSON, check_files, read_manifest
from datagen.dataset.reader import load_npy, load_png
from datagen.dataset.writer import bbox_of, count_rows
from datagen.errors import InputError
from datagen.io import read_json

ROW_KEYS = ("id", "kind", "shape_id", "split", "label", "anomaly_type", "path")
META_KEYS = ("shape_id", "label", "anomaly", "camera", "split")
VIEW_RE = re.compile(r"^\d{4}\.png$")
BBOX_TOL = 1  # pixels: the bbox may differ from the mask boxes by this much


class _Problems(list):
    """Problem lines, and the paths they name (so the integrity check lists a file once)."""

    def __init__(self):
        super().__init__()
        self.paths: set[str] = set()

    def add(self, path, problem: str) -> None:
        self.paths.add(str(path))
        self.append(f"{path}: {problem}" if path is not None else problem)

    def error(self, e: InputError) -> None:
        self.add(e.path, e.problem)


def _json(path: Path, out: _Problems):
    try:
        return read_json(path)
    except InputError as e:
        out.error(e)
        return None


def _json_object(path: Path, out: _Problems) -> dict | None:
    """``_json`` for files that must hold a JSON object; anything else is reported."""
    obj = _json(path, out)
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


def _check_temp(root: Path, out: _Problems) -> None:
    for sub in (None, F.SAMPLES_DIR, F.SHAPES_DIR, F.SCENES_DIR):
        d = root if sub is None else root / sub
        if not d.is_dir():
            continue
        for p in sorted(d.iterdir()):
            if p.name.startswith(".") and (p.name.endswith(".tmp") or p.name.endswith(".old")):
                kind = "folder" if p.is_dir() else "file"
                out.add(p, f"leftover temporary {kind} from an interrupted write (delete it)")


def _check_info(root: Path, rows: list[dict] | None, out: _Problems) -> None:
    p = root / F.DATASET_JSON
    if not p.is_file():
        out.add(p, "missing: not a dataset root")
        return
    info = _json_object(p, out)
    if info is None:
        return
    if info.get("format") != F.FORMAT_NAME:
        out.add(p, f"format {info.get('format')!r} != {F.FORMAT_NAME!r}")
    if info.get("format_version") != F.FORMAT_VERSION:
        out.add(p, f"format_version {info.get('format_version')!r} != {F.FORMAT_VERSION}")
    counts = info.get("counts") or {}
    if rows is not None and counts:
        want = count_rows(rows)
        diff = [k for k in want if k in counts and counts[k] != want[k]]
        if diff:
            out.add(p, f"counts {', '.join(diff)} differ from index.jsonl (the dataset was not finalized after a change)")


def _read_rows(root: Path, out: _Problems) -> list[dict] | None:
    p = root / F.INDEX_JSONL
    if not p.is_file():
        out.add(p, "missing: the dataset was not finalized")
        return None
    rows, seen = [], set()
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
        except json.JSONDecodeError as e:
            out.add(p, f"line {n}: bad JSON: {e.msg}")
            continue
        missing = [k for k in ROW_KEYS if k not in r] if isinstance(r, dict) else list(ROW_KEYS)
        if missing:
            out.add(p, f"line {n}: lacks {', '.join(missing)}")
            continue
        if r["kind"] not in ("query", "scene"):
            out.add(p, f"line {n}: kind {r['kind']!r} is not query or scene")
            continue
        if r["id"] in seen:
            out.add(p, f"line {n}: duplicate id {r['id']!r}")
            continue
        seen.add(r["id"])
        rows.append(r)
    return rows


def _check_splits(root: Path, rows: list[dict], out: _Problems) -> None:
    p = root / F.SPLITS_JSON
    if not p.is_file():
        out.add(p, "missing")
        return
    splits = _json_object(p, out)
    if splits is None:
        return
    where: dict[str, str] = {}
    for name, ids in splits.items():
        if name not in F.ALL_SPLITS:
            out.add(p, f"unknown split {name!r} (expected {', '.join(F.ALL_SPLITS)})")
        if not isinstance(ids, list):
            out.add(p, f"split {name!r} is not a list")
            continue
        for sid in ids:
            if sid in where:
                out.add(p, f"shape {sid!r} is in both {where[sid]} and {name}: splits must be disjoint")
            else:
                where[sid] = name
    uncovered = sorted({r["shape_id"] for r in rows if r["shape_id"] not in where})
    if uncovered:
        more = f" (+{len(uncovered) - 10} more)" if len(uncovered) > 10 else ""
        out.add(p, f"{len(uncovered)} sample shape(s) in no split: {', '.join(map(str, uncovered[:10]))}{more}")
    for r in rows:
        if r["shape_id"] in where and r["split"] != where[r["shape_id"]]:
            out.add(root / r["path"], f"split {r['split']!r} but its shape {r['shape_id']!r} is in {where[r['shape_id']]}")


def _check_bbox(d: Path, bbox, w: int, h: int, new, old, atype, out: _Problems) -> None:
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


def _check_sample(root: Path, row: dict, pixels: bool, out: _Problems) -> str | None:
    """Check one query sample folder; returns its shape id (or None)."""
    d = root / row["path"]
    if not d.is_dir():
        out.add(d, "indexed sample folder missing")
        return None
    meta = _json_object(d / F.META_JSON, out)
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


def _check_reference(root: Path, shape_id: str, pixels: bool, out: _Problems) -> None:
    base = root / F.SHAPES_DIR / shape_id
    vdir = base / F.VIEWS_DIR
    cp = vdir / F.CAMERAS_JSON
    if not cp.is_file():
        out.add(base, "reference views missing (no views/cameras.json)")
        return
    cams = _json(cp, out)
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


def _check_scene(root: Path, row: dict, pixels: bool, out: _Problems) -> None:
    d = root / row["path"]
    if not d.is_dir():
        out.add(d, "indexed scene folder missing")
        return
    scene = _json_object(d / F.SCENE_JSON, out)
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


class _Integrity:
    """Checks folders against their manifest.json; ``on`` False checks nothing."""

    def __init__(self, on: bool, digests: bool, out: _Problems, warnings: list | None):
        self.on, self.digests, self.out, self.warnings = on, digests, out, warnings

    def _add(self, found) -> None:
        for path, problem in found:
            if str(path) not in self.out.paths:  # already listed by a content check
                self.out.add(path, problem)

    def folder(self, d: Path) -> None:
        if not self.on or not d.is_dir():
            return
        try:
            m = read_manifest(d)
        except InputError as e:
            self.out.error(e)
            return
        if m is None:
            if self.warnings is not None:
                self.warnings.append(f"{d}: no {MANIFEST_JSON} (written before checksums): files not checked")
            return
        self._add(check_files(d, m, digests=self.digests))

    def root(self, root: Path) -> None:
        """dataset.json, splits.json and index.jsonl against the root manifest (other root files are not ours)."""
        if not self.on:
            return
        try:
            m = read_manifest(root)
        except InputError as e:
            self.out.error(e)
            return
        if m is None:
            if self.warnings is not None:
                self.warnings.append(f"{root}: no {MANIFEST_JSON} (written before checksums): "
                                     f"{F.DATASET_JSON}, {F.SPLITS_JSON}, {F.INDEX_JSONL} not checked")
            return
        found = check_files(root, m, digests=self.digests, extra=False)
        for name in (F.DATASET_JSON, F.SPLITS_JSON, F.INDEX_JSONL):
            if name not in m and (root / name).is_file():
                found.append((root / name, f"not listed in {MANIFEST_JSON} (written after the last finalize)"))
        self._add(found)


def verify(root: str | os.PathLike, pixels: bool = True, progress: bool = False, manifests: bool = True,
           digests: bool = True, warnings: list | None = None) -> list[str]:
    """Problems of the dataset at ``root`` as "path: problem" lines; [] when fine.

    pixels : also load every depth, parts and mask array (depth finite and >= 0, part
    indices, bbox vs masks); False checks files, JSON and image headers only (fast).
    progress : show a tqdm bar over the samples.
    manifests : check every file against its folder's manifest.json (missing, not listed, size;
    and with ``digests`` the BLAKE2b digest: any altered, truncated or extended file; --no-checksums
    on the command line = no digests).
    warnings : a list that gets one line per folder without manifest.json (written before checksums).
    """
    root = Path(root)
    out = _Problems()
    integrity = _Integrity(manifests, digests, out, warnings)
    if not root.is_dir():
        out.add(root, "not a folder")
        return list(out)
    rows = _read_rows(root, out)
    _check_info(root, rows, out)
    _check_temp(root, out)
    if rows is None:
        return list(out)
    _check_splits(root, rows, out)

    indexed = {(r["kind"], Path(r["path"]).as_posix()) for r in rows}
    for kind, sub, fname in (("query", F.SAMPLES_DIR, F.META_JSON), ("scene", F.SCENES_DIR, F.SCENE_JSON)):
        base = root / sub
        if base.is_dir():
            for p in sorted(base.iterdir()):
                if p.is_dir() and not p.name.startswith(".") and (kind, f"{sub}/{p.name}") not in indexed:
                    out.add(p, "folder not in index.jsonl (the dataset was not finalized)")

    queries = [r for r in rows if r["kind"] == "query"]
    it = queries
    if progress:
        from tqdm import tqdm

        it = tqdm(queries, desc="verify", unit="sample")
    shape_ids = set()
    for r in it:
        sid = _check_sample(root, r, pixels, out)
        integrity.folder(root / r["path"])
        if sid is not None:
            shape_ids.add(sid)
    on_disk = set()
    if (root / F.SHAPES_DIR).is_dir():
        on_disk = {p.name for p in (root / F.SHAPES_DIR).iterdir() if p.is_dir() and not p.name.startswith(".")}
    for sid in sorted(shape_ids | on_disk, key=str):
        _check_reference(root, str(sid), pixels, out)
        integrity.folder(root / F.SHAPES_DIR / str(sid))
    for r in rows:
        if r["kind"] == "scene":
            _check_scene(root, r, pixels, out)
            integrity.folder(root / r["path"])
    integrity.root(root)
    return list(out)
