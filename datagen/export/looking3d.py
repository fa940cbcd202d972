"""Export a format-v1 dataset to the BrokenChairs-180K layout, which the official Looking 3D
loader (``data/dataset_e2e.py``) and ``train.py --data_path <out>`` read without a changed line.

    summary = export_looking3d("ds/", "bc_like/", query_size=512, workers=4)

Written under ``out``:
  split.json                                   {"train": [ids], "val": [...], "test": [...]}, string ids
  images/<sid>/render_<name>.png               query, query_size x query_size RGB on white
  annotations/<sid>/info_<name>.json           anomalies: 2d_bbox [x, y, w, h] (512 frame), IoU,
                                               camera_parameters, texture_id, config.type
  annotations/<sid>/mask_{new,old}_<name>.png  anomalies: 0/255 masks at query_size (no mask_old for missing)
  shapes/shape_<sid>/mv_images/<stem>.png      reference views, 256 x 256 gray in RGB, white background
  shapes/shape_<sid>/mv_images/<stem>.npy      {"pxy": (P, 2) int64 (row, col), "is_visible": (P,) bool,
                                                "xyz": (32, 32, 3) float64 release world, background -1}
  shapes/shape_<sid>/mv_images/<stem>.json     {"K" (256 px), "RT" (world -> OpenGL camera), "RT_" (inverse)}
  shapes/shape_<sid>/model_id.txt              where the shape's metadata has a model_id
  datagen_export.json, datagen_export.jsonl, shape_ids.json, failures.jsonl   ours (the loader reads none)

Frames and names: see ``datagen.export.looking3d_layout``. The world of ``xyz``, ``RT`` and of the
angles in names is the release's (Y-up); pixels of ``pxy`` and ``xyz`` cells follow the release:
``pxy[i] = (round(row), round(col))`` of point i in the 256-px view, and xyz cell (r, c) holds the
surface point seen at pixel (row 8r, column 8c) (depth of that pixel, back-projected through that
exact position), -1 where the pixel is background.

Reference views (points, visibility, pxy, xyz): ``datagen.export.looking3d_views``.
Query name fields: texture id = stable hash of meta ``materials`` (0..9999), light index = stable
hash of meta ``lighting`` (0..999), radius and angles from meta ``camera`` (or the camera position).

Incremental: a reference shape folder is written atomically (exists = done); a sample is done when
its line is in ``datagen_export.jsonl`` (annotations first, image last, then the line). A rerun
skips both; a non-empty ``out`` without our marker is refused. Memory stays flat: samples stream
from ``index.jsonl``, at most ``4 * workers`` in flight.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from datagen.version import __version__
from datagen.batch import DONE, FAILED, SKIPPED, Summary, failure_fields
from datagen.dataset import format as F
from datagen.dataset.reader import Dataset, Sample
from datagen.errors import InputError
import datagen.export.looking3d_layout as L
from datagen.export.folder import previous_export
from datagen.export.looking3d_views import PNG_LEVEL, camera_angles, export_shape, scaled_camera
from datagen.io import atomic_write_bytes, dumps_json, read_json
from datagen.spec import Camera


# --- query samples -------------------------------------------------------------------------------
def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=PNG_LEVEL)
    return buf.getvalue()


def _mask_png(mask: np.ndarray, size: int) -> bytes:
    img = Image.fromarray(np.asarray(mask, bool).astype(np.uint8) * 255)
    return _png(img if img.size == (size, size) else img.resize((size, size), Image.NEAREST))


def box_512(bbox, width: int, height: int) -> list[float]:
    """Our [x1, y1, x2, y2] pixels (x2, y2 exclusive) of a width x height image -> [x, y, w, h] in the
    512 frame, clipped inside it (3 decimals)."""
    sx, sy = L.BOX_FRAME / width, L.BOX_FRAME / height
    x1, y1 = max(0.0, round(bbox[0] * sx, 3)), max(0.0, round(bbox[1] * sy, 3))
    x2, y2 = min(float(L.BOX_FRAME), round(bbox[2] * sx, 3)), min(float(L.BOX_FRAME), round(bbox[3] * sy, 3))
    return [x1, y1, round(x2 - x1, 3), round(y2 - y1, 3)]


def write_sample(task: dict) -> dict:
    """Write one query (and its annotations) from ``task`` {"dir", "meta", "name", "group", "out",
    "size", "fields"}; returns its manifest row, or {"error": ...} (never raises: runs in workers)."""
    try:
        d, meta, size, out = Path(task["dir"]), task["meta"], int(task["size"]), Path(task["out"])
        s = Sample(d, meta)
        rgb = s.rgb
        rgb = np.repeat(rgb[..., None], 3, axis=2) if rgb.ndim == 2 else rgb[..., :3]
        H, W = rgb.shape[:2]
        if H != W:
            raise InputError(d / "rgb.png", f"query {W}x{H} is not square")
        img = Image.fromarray(np.ascontiguousarray(rgb))
        if img.size != (size, size):
            img = img.resize((size, size), Image.LANCZOS)
        name, group = task["name"], task["group"]
        stem = name[len("render_"):-len(".png")]
        ann = out / "annotations" / group
        cam = s.camera
        fields = task["fields"]
        if int(meta["label"]):
            if s.mask_new is None or meta.get("bbox") is None:
                raise InputError(d, "anomalous sample without mask_new.png or bbox")
            box = box_512(meta["bbox"], W, H)
            problem = L.box_problem(box)
            if problem:
                raise InputError(d / F.META_JSON, f"bbox {meta['bbox']} -> 2d_bbox {box}: {problem}")
            new, old = s.mask_new, s.mask_old
            iou = 0.0 if old is None else float((new & old).sum() / max(1, (new | old).sum()))
            anomaly = meta["anomaly"] or {}
            big = scaled_camera(cam, size)
            rt = L.release_rt(cam.world_to_camera)
            info = {
                "2d_bbox": box,
                "IoU": round(iou, 6),
                "camera_parameters": {
                    "radius": fields["radius"], "azimuth": fields["azimuth_deg"], "elevation": fields["elevation_deg"],
                    "light_index": fields["light"], "K": big.K.tolist(), "RT": rt.tolist(),
                    "RT_": L.rigid_inverse(rt).tolist(), "width": size, "height": size,
                },
                "texture_id": fields["texture"],
                "config": {"type": L.release_type(str(anomaly.get("type"))), "part": anomaly.get("part"),
                           "part_label": anomaly.get("label")},
                "datagen": {"sample_id": meta.get("id", d.name), "shape_id": meta["shape_id"],
                            "type": anomaly.get("type"), "bbox": meta["bbox"], "width": W, "height": H},
            }
            atomic_write_bytes(ann / f"mask_new_{stem}.png", _mask_png(new, size))
            if old is not None:
                atomic_write_bytes(ann / f"mask_old_{stem}.png", _mask_png(old, size))
            atomic_write_bytes(ann / f"info_{stem}.json", dumps_json(info).encode())
        atomic_write_bytes(out / "images" / group / name, _png(img))  # last: the image means complete
        c = cam.to_json()
        c["K"] = np.round(cam.K, 6).tolist()
        c["world_to_camera"] = np.round(cam.world_to_camera, 8).tolist()
        return {"sample_id": task["sample_id"], "name": name, "group": group, "shape_id": meta["shape_id"],
                "split": meta.get("split"), "label": int(meta["label"]), "camera": c}
    except Exception as e:  # noqa: BLE001 - reported by the caller, the export goes on
        return failure_fields(e)


def query_fields(meta: dict) -> dict:
    """Name fields of a sample: texture id (stable hash of meta materials, 0..9999), radius (m),
    azimuth / elevation (release frame, degrees: floats and whole), light index (stable hash of
    meta lighting, 0..999)."""
    mc = meta.get("camera") or {}
    radius, az, el = camera_angles(Camera.from_json(mc), mc)
    az_deg, el_deg = L.release_angles(az, el)
    mats = meta.get("materials", meta.get("material"))
    return {
        "texture": 0 if mats is None else L.stable_int(mats, 10000),
        "light": 0 if meta.get("lighting") is None else L.stable_int(meta["lighting"], 1000),
        "radius": round(radius, 6),
        "azimuth_deg": round(az_deg, 4),
        "elevation_deg": round(el_deg, 4),
        "azimuth": L.whole_degrees(az_deg),
        "elevation": int(round(el_deg)),
    }


def unique_name(sid: str, fields: dict, anomalous: bool, used: set) -> str:
    """The sample's file name, made unique against ``used`` (``-k`` on the light field); adds it to ``used``."""
    dup = 0
    while True:
        name = L.query_name(sid, fields["texture"], fields["radius"], fields["azimuth"], fields["elevation"],
                            fields["light"], anomalous, dup)
        if name not in used:
            used.add(name)
            return name
        dup += 1


# --- the export ------------------------------------------------------------------------------------
def _fingerprint(ds: Dataset) -> str:
    return hashlib.sha1(json.dumps([ds.info.get("config"), ds.info.get("seed")], sort_keys=True).encode()).hexdigest()[:16]


def _check_out(out: Path, fingerprint: str, query_size: int, n_points: int) -> dict | None:
    """The previous marker when ``out`` is our earlier export of the same dataset and options; None when
    ``out`` is absent or empty; else InputError."""
    for bad in ("/images/", "/render_", ".png"):
        if bad in f"{out}/" or bad in f"{out.resolve()}/":
            raise InputError(out, f"the export path must not contain {bad!r} (the official loader rewrites it in paths)")
    m = previous_export(out, L.MARKER, L.MARKER_FORMAT, fingerprint)
    if m is None:
        return None
    if (m.get("query_size"), m.get("points")) != (query_size, n_points):
        raise InputError(out / L.MARKER, f"a previous export with query size {m.get('query_size')} and {m.get('points')} "
                                 f"points; rerun with those or choose another --out")
    return m


def _read_manifest(path: Path) -> dict:
    """sample id -> (name, group) of the manifest; a torn last line (crash) is dropped from the file."""
    if not path.is_file():
        return {}
    text = path.read_text(encoding="utf-8")
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
        atomic_write_bytes(path, text.encode())
    done = {}
    for line in text.splitlines():
        try:
            r = json.loads(line)
            done[r["sample_id"]] = (r["name"], r["group"])
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
    return done


def _ordered(fn, tasks, workers: int):
    """Yield (task, fn(task)) in order; at most 4 * workers tasks in flight."""
    if workers <= 1:
        for t in tasks:
            yield t, fn(t)
        return
    with ProcessPoolExecutor(workers) as ex:
        window: deque = deque()
        for t in tasks:
            window.append((t, ex.submit(fn, t)))
            if len(window) >= 4 * workers:
                t0, f = window.popleft()
                yield t0, f.result()
        while window:
            t0, f = window.popleft()
            yield t0, f.result()


def export_looking3d(src, out, query_size: int = L.BOX_FRAME, n_points: int = L.N_POINTS, workers: int = 1,
                     progress: bool = True) -> Summary:
    """Export the format-v1 dataset ``src`` into ``out`` in the BrokenChairs-180K layout (see module doc).

    query_size : side of the written query images in pixels (boxes stay in the 512 frame).
    n_points : P, surface points per shape in the views' ``.npy``. workers : processes writing queries.
    Returns a Summary (samples and shapes; failures also in ``out/failures.jsonl``).
    """
    if query_size < 8 or n_points < L.MIN_COVISIBLE:
        raise InputError(None, f"query size {query_size} < 8 or points {n_points} < {L.MIN_COVISIBLE}")
    ds = Dataset(src)
    out = Path(out)
    fp = _fingerprint(ds)
    prev = _check_out(out, fp, query_size, n_points)
    summary = Summary()
    rows = ds.rows(kind="query")
    refs = ds.shape_ids()
    ids = set(refs) | {r["shape_id"] for r in rows} | {s for v in ds.splits.values() if isinstance(v, list) for s in v}
    id_path = out / L.SHAPE_IDS
    idmap = L.export_ids(ids, read_json(id_path) if prev and id_path.is_file() else None)
    marker = {"format": L.MARKER_FORMAT, "version": L.MARKER_VERSION, "generator_version": __version__,
              "source": str(Path(src).resolve()), "source_fingerprint": fp, "query_size": int(query_size),
              "points": int(n_points), "frame": "release: Y-up world (ours Z-up rotated by (x, y, z) -> (x, z, -y)), "
              "RT world -> OpenGL camera", "complete": False}
    if prev is None:
        _write_if_changed(out / L.MARKER, marker)
    _write_if_changed(id_path, idmap)
    _write_if_changed(out / "split.json", {k: [idmap[s] for s in ds.splits.get(k, []) or []] for k in F.SPLITS})

    for sid in tqdm(refs, desc="export shapes", unit="shape", disable=not progress):
        final = out / "shapes" / f"shape_{idmap[sid]}"
        if (final / "mv_images").is_dir():
            summary.add(SKIPPED, sid, group="shape")
            continue
        try:
            export_shape(ds, sid, idmap[sid], out, n_points)
            summary.add(DONE, sid, group="shape", outputs=1)
        except Exception as e:  # noqa: BLE001 - a bad shape never stops the export
            summary.add(FAILED, sid, group="shape", **failure_fields(e))
    for sid in sorted({r["shape_id"] for r in rows} - set(refs)):
        summary.add(FAILED, sid, group="shape", error=f"{ds.root / F.SHAPES_DIR / sid}: no reference views; "
                                                      "the official loader cannot read its samples")

    manifest_path = out / L.MANIFEST
    done = _read_manifest(manifest_path)
    used = {name for name, _ in done.values()}
    bar = tqdm(total=len(rows), desc="export samples", unit="sample", disable=not progress)

    def tasks():  # runs in this process: skips, names (in index order, so reruns give the same names)
        for r in rows:
            prior = done.get(r["id"])
            if prior and (out / "images" / prior[1] / prior[0]).is_file():
                summary.add(SKIPPED, r["id"], group="sample")
                bar.update(1)
                continue
            d = ds.root / r.get("path", f"{F.SAMPLES_DIR}/{r['id']}")
            try:
                meta = read_json(d / F.META_JSON)
                fields = query_fields(meta)
                name, group = prior or (None, idmap[meta["shape_id"]])
                name = name or unique_name(group, fields, bool(int(meta["label"])), used)
            except Exception as e:  # noqa: BLE001 - a bad sample never stops the export
                summary.add(FAILED, r["id"], group="sample", **failure_fields(e))
                bar.update(1)
                continue
            yield {"sample_id": r["id"], "dir": str(d), "meta": meta, "name": name, "group": group,
                   "out": str(out), "size": int(query_size), "fields": fields}

    with open(manifest_path, "a", encoding="utf-8") as man:
        for task, res in _ordered(write_sample, tasks(), workers):
            if "error" in res:
                summary.add(FAILED, task["sample_id"], group="sample", **res)
            else:
                man.write(json.dumps(res, sort_keys=True) + "\n")
                man.flush()
                done.setdefault(task["sample_id"], (res["name"], res["group"]))
                summary.add(DONE, task["sample_id"], group="sample", outputs=1)
            bar.update(1)
    bar.close()
    summary.write_lists(out / L.FAILURES)
    n_samples = len(done)
    n_shapes = sum(1 for p in (out / "shapes").glob("shape_*") if (p / "mv_images").is_dir()) if (out / "shapes").is_dir() else 0
    marker.update(complete=not summary.failed, counts={"samples": n_samples, "shapes": n_shapes})
    _write_if_changed(out / L.MARKER, marker)
    return summary


def _write_if_changed(path: Path, obj) -> None:
    """Atomic JSON write, skipped when the file already holds exactly this (a rerun touches nothing)."""
    text = dumps_json(obj)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    atomic_write_bytes(path, text.encode("utf-8"))
