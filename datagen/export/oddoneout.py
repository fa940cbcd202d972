"""Export the scenes of a format-v1 dataset to the ToysAD-8K / PartsAD-15K layout, which the
official Odd-One-Out loader (VICO-UoE/OddOneOutAD ``data/dataset_e2e.py``) and ``train.py`` read
without a changed line (config ``dataset.data_path`` = ``out``, ``dataset.split_path`` = the split file).

    report = export_oddoneout("ds/", "parts_like/")           # split file: parts_like/split.json

Written under ``out`` (one folder per scene; names and frames: ``datagen.export.oddoneout_layout``):
  <name>/RGB/NNNN.png                 RGBA 8-bit, alpha 255, size x size (resized if ours differ)
  <name>/masks/NNNN.png               L 8-bit: 255 on pixels of any object, 0 floor / background
  <name>/scene3d.metadata.json        objects (path, bbox, rotation_matrix, rotation_euler, location,
                                      scale, name), camera (poses = 4x4 OpenCV world-to-camera per
                                      view in file order, one K in size-px units), scene, rendering_info
  <name>/scene2d.metadata.json        blend_paths, anomaly_labels (1 = normal), bbox per RGB file
  <name>/segmentations/<obj>/<obj>_NNNN.png   RGBA: grey 205 on the object's pixels (+ floor_object)
  <name>/binary_labels/NNNN.png       L: 255 on the anomalous object's pixels
  <name>/depth_png/NNNN.png           uint16 planar z-depth in millimetres, 0 = none (no EXR)
  <name>/scene.jpg                    preview: 4 views
  split.json (or --split-file)        {split: [scene names]}, non-empty lists only
  datagen_export.json, scene_ids.json, failures.jsonl   ours (the loader reads none of them)

Incremental: a scene folder is written atomically (exists = done) and a rerun skips it; the split
file and our files are rewritten only when their content changes, so a rerun with nothing to do
writes nothing. A non-empty ``out`` without our marker is refused. Scenes stream one at a time
(at most ``4 * workers`` in flight); a bad scene is listed in ``failures.jsonl`` and left out of
the split file, and the export goes on.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from datagen.version import __version__
from datagen.batch import DONE, FAILED, SKIPPED, Summary, failure_fields
from datagen.dataset import format as F
from datagen.dataset.reader import Dataset, load_npy, load_png
from datagen.dataset.writer import bbox_of
from datagen.errors import InputError
import datagen.export.oddoneout_layout as O
from datagen.export.folder import previous_export
from datagen.export.looking3d import _fingerprint, _ordered, _write_if_changed
from datagen.export.looking3d_views import PNG_LEVEL, scaled_camera
from datagen.io import atomic_dir, atomic_write_text, dumps_json, read_json
from datagen.spec import Camera

META3D, META2D = "scene3d.metadata.json", "scene2d.metadata.json"


# --- one scene ---------------------------------------------------------------------------------------
def _nearest(a: np.ndarray, size: int) -> np.ndarray:
    """(H, W) array -> (size, size) by nearest neighbour at pixel centres (labels, depth)."""
    H, W = a.shape[:2]
    if (H, W) == (size, size):
        return a
    rows = np.minimum(((np.arange(size) + 0.5) * H / size).astype(np.int64), H - 1)
    cols = np.minimum(((np.arange(size) + 0.5) * W / size).astype(np.int64), W - 1)
    return a[rows][:, cols]


def _rgb(path: Path) -> np.ndarray:
    a = load_png(path)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    if a.shape[2] == 4:  # composite any transparency over white: the loader drops alpha
        alpha = a[..., 3:4].astype(np.float32) / 255
        a = (a[..., :3] * alpha + 255 * (1 - alpha)).round().astype(np.uint8)
    return np.ascontiguousarray(a[..., :3])


def _save(img: Image.Image, path: Path) -> None:
    img.save(path, format="PNG", compress_level=PNG_LEVEL)


def _l8(mask: np.ndarray) -> Image.Image:
    return Image.fromarray(np.asarray(mask, bool).astype(np.uint8) * 255, mode="L")


def _cameras(scene: dict, where: Path) -> list[Camera]:
    cams = scene.get("cameras")
    if not isinstance(cams, list) or not cams:
        raise InputError(where, "no cameras")
    try:
        cams = [Camera.from_json(c) for c in cams]
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(where, f"bad camera: {e}") from None
    if len(cams) < O.MIN_VIEWS:
        raise InputError(where, f"{len(cams)} views < {O.MIN_VIEWS}: the official loader draws {O.MIN_VIEWS} distinct views")
    K0 = cams[0].K / cams[0].width
    for k, c in enumerate(cams):
        R = c.world_to_camera[:3, :3]
        if not (np.allclose(R @ R.T, np.eye(3), atol=1e-5) and np.linalg.det(R) > 0
                and np.allclose(c.world_to_camera[3], [0, 0, 0, 1])):
            raise InputError(where, f"camera {k}: world_to_camera is not a rotation + translation")
        if not np.allclose(c.K / c.width, K0, atol=1e-6) or (c.width, c.height) != (cams[0].width, cams[0].height):
            raise InputError(where, f"camera {k}: K or size differs from view 0; the loader takes one K per scene")
    return cams


def _montage(images: list[np.ndarray], size: int) -> Image.Image:
    """Up to 4 views, 2 x 2, each size / 2 (the scene.jpg preview)."""
    half = size // 2
    sheet = Image.new("RGB", (2 * half, 2 * half))
    for i, im in enumerate(images[:4]):
        sheet.paste(Image.fromarray(im).resize((half, half), Image.BILINEAR), ((i % 2) * half, (i // 2) * half))
    return sheet


def _load_view(d: Path, stem: str, W: int, H: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """View ``stem`` of scene folder ``d``: rgb (H, W, 3) uint8, instances (H, W) int64, depth (H, W) float32."""
    paths = (d / "rgb" / f"{stem}.png", d / "instances" / f"{stem}.png", d / "depth" / f"{stem}.npy")
    arrays = (_rgb(paths[0]), load_png(paths[1]).astype(np.int64), np.asarray(load_npy(paths[2]), dtype=np.float32))
    for path, a in zip(paths, arrays):
        if a.shape[:2] != (H, W):
            raise InputError(path, f"{a.shape[1]}x{a.shape[0]}, but the camera is {W}x{H}")
    return arrays


def _write_view(tmp: Path, stem: str, arrays, size: int, objects: list[tuple[str, int]], bad_ids: list[int]) -> tuple:
    """Write view ``stem`` into the scene folder ``tmp`` at size x size. objects : (Blender name, instance id).
    Returns (the resized RGB (size, size, 3) uint8, boxes of the anomalous objects' pixels)."""
    rgb, inst, depth = arrays
    img = Image.fromarray(rgb)
    if img.size != (size, size):
        img = img.resize((size, size), Image.LANCZOS)
    _save(img.convert("RGBA"), tmp / "RGB" / f"{stem}.png")
    inst, depth = _nearest(inst, size), _nearest(depth, size)
    _save(_l8(inst > 0), tmp / "masks" / f"{stem}.png")
    _save(_l8(np.isin(inst, bad_ids)), tmp / "binary_labels" / f"{stem}.png")
    mm = np.clip(np.nan_to_num(depth, nan=0.0) * O.DEPTH_PNG_SCALE, 0, 65535).round().astype(np.uint16)
    _save(Image.fromarray(mm), tmp / "depth_png" / f"{stem}.png")
    blank = np.zeros((size, size, 4), np.uint8)
    blank[..., 3] = 255
    for name, i in objects + [(O.FLOOR_OBJECT, 0)]:
        seg = blank.copy()
        mine = inst == i
        if i == 0:  # the floor: no object and some depth (not the sky past the floor's edge)
            mine &= depth > 0
        seg[mine, :3] = O.SEGMENT_GREY
        _save(Image.fromarray(seg, mode="RGBA"), tmp / "segmentations" / name / f"{name}_{stem}.png")
    boxes = [b for b in (bbox_of(inst == i) for i in bad_ids) if b is not None]
    return np.asarray(img), boxes


def write_scene(task: dict) -> dict:
    """Write one scene folder from ``task`` {"scene_id", "dir", "name", "stem", "number", "out", "size"};
    returns {"scene_id", "name", "views", "warning"} or {"error": ...} (never raises: runs in workers)."""
    try:
        d, size, name = Path(task["dir"]), int(task["size"]), task["name"]
        scene = read_json(d / F.SCENE_JSON)
        objects = scene.get("objects")
        if not isinstance(objects, list) or not objects:
            raise InputError(d / F.SCENE_JSON, "no objects")
        cams = _cameras(scene, d / F.SCENE_JSON)
        try:
            entries = [O.object_entry(o, j, task["stem"], task["number"]) for j, o in enumerate(objects)]
        except (KeyError, TypeError, ValueError) as e:
            raise InputError(d / F.SCENE_JSON, f"object without a usable bbox3d: {e!r}") from None
        ids = [int(o.get("id", j + 1)) for j, o in enumerate(objects)]
        bad_ids = [i for i, o in zip(ids, objects) if int(o.get("label", 0))]
        notes = [w for w in (O.outside_grid(entries),) if w]
        if len(objects) > 10:
            notes.append(f"{len(objects)} objects: above max_objs 10 of the official ToysAD config (PartsAD: 15)")
        shown = set(np.linspace(0, len(cams), 4, endpoint=False).astype(int).tolist())
        boxes, previews = {}, []
        with atomic_dir(Path(task["out"]) / name) as tmp:
            for sub in ("RGB", "masks", "binary_labels", "depth_png"):
                (tmp / sub).mkdir()
            for e in entries + [{"name": O.FLOOR_OBJECT}]:
                (tmp / "segmentations" / e["name"]).mkdir(parents=True)
            for k, cam in enumerate(cams):
                stem = F.view_stem(k)
                arrays = _load_view(d, stem, cam.width, cam.height)
                img, boxes[f"{stem}.png"] = _write_view(tmp, stem, arrays, size, [(e["name"], i) for e, i in zip(entries, ids)],
                                                        bad_ids)
                if k in shown:
                    previews.append(img)
            extra = {"scene_id": task["scene_id"], "shape_id": scene.get("shape_id"), "category": scene.get("category"),
                     "split": scene.get("split"), "anomaly": scene.get("anomaly"), "generator_version": __version__,
                     "source_size": [cams[0].width, cams[0].height], "source_K": cams[0].K.tolist(), "notes": notes}
            K = scaled_camera(cams[0], size).K
            (tmp / META3D).write_text(dumps_json(O.scene3d(entries, [c.world_to_camera for c in cams], K, scene, extra)))
            (tmp / META2D).write_text(dumps_json(O.scene2d(entries, boxes)))
            _montage(previews, size).save(tmp / "scene.jpg", quality=85)
        return {"scene_id": task["scene_id"], "name": name, "views": len(cams), "warning": "; ".join(notes) or None}
    except Exception as e:  # noqa: BLE001 - reported by the caller, the export goes on
        return failure_fields(e)


# --- the export ----------------------------------------------------------------------------------------
@dataclass
class OddOneOutExport:
    """What ``export_oddoneout`` did. splits : split name -> scenes listed; empty_splits : names with
    scenes or shapes in the source but no exported scene (left out of the split file); warnings :
    one line each (grid limits, object counts, missing train / test keys)."""

    summary: Summary
    split_file: Path
    splits: dict = field(default_factory=dict)
    empty_splits: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"split file {self.split_file}: " + (", ".join(f"{k} {v}" for k, v in self.splits.items()) or "no scenes")]
        if self.empty_splits:
            out.append(f"left out (no exported scenes): {', '.join(self.empty_splits)}")
        return out + [f"warning: {w}" for w in self.warnings]


def _check_out(out: Path, fingerprint: str, size: int) -> dict | None:
    """The previous marker when ``out`` is our earlier export of the same dataset and size; None when
    ``out`` is absent or empty; else InputError."""
    m = previous_export(out, O.MARKER, O.MARKER_FORMAT, fingerprint)
    if m is None:
        return None
    if m.get("size") != size:
        raise InputError(out / O.MARKER, f"a previous export at size {m.get('size')}; rerun with --size {m.get('size')} "
                                 "or choose another --out")
    return m


def _split_file(rows: list[dict], names: dict, done: set, source_splits: dict) -> tuple[dict, list, list]:
    """({split: [names]} of the exported scenes, non-empty lists only, in ``SPLIT_ORDER``; the split
    names of the source (index rows and splits.json) left out for having no exported scene; warnings)."""
    lists: dict[str, list] = {}
    unsplit = 0
    for r in rows:
        if r["id"] not in done:
            continue
        if not r.get("split"):
            unsplit += 1
            continue
        lists.setdefault(str(r["split"]), []).append(names[r["id"]])
    order = [k for k in O.SPLIT_ORDER if k in lists] + sorted(k for k in lists if k not in O.SPLIT_ORDER)
    splits = {k: sorted(lists[k]) for k in order}
    wanted = {str(r["split"]) for r in rows if r.get("split")} | set(source_splits)
    if wanted & set(F.SCENE_SPLITS):  # the writer lists train / val / test always; test is seen-test here
        wanted.discard("test")
    empty = [k for k in list(O.SPLIT_ORDER) + sorted(wanted) if k in wanted and k not in splits]
    empty = list(dict.fromkeys(empty))
    warnings = []
    if unsplit:
        warnings.append(f"{unsplit} exported scenes have no split and are in no list")
    if splits and not any("train" in k for k in splits):
        warnings.append("no split name holds 'train': the official train.py trains on the first that does")
    if splits and not any("test" in k for k in splits):
        warnings.append("no split name holds 'test': the official train.py evaluates the first that does")
    return splits, empty, warnings


def export_oddoneout(src, out, split_file=None, size: int = O.SIZE, workers: int = 1, progress: bool = True) -> OddOneOutExport:
    """Export the scenes of the format-v1 dataset ``src`` into ``out`` in the ToysAD / PartsAD layout
    (see the module doc). split_file : where the split JSON goes (default ``out/split.json``).
    size : side of RGB / masks in pixels (the config's ``dataset.dimension``, 256 in both official
    configs; K is scaled to it). workers : processes writing scenes."""
    if not 16 <= int(size) <= 4096:
        raise InputError(None, f"size {size}: expected 16..4096 pixels")
    ds = Dataset(src)
    out = Path(out)
    split_path = Path(split_file) if split_file else out / O.SPLIT_FILE
    fp = _fingerprint(ds)
    prev = _check_out(out, fp, int(size))
    rows = ds.rows(kind="scene")
    if not rows:
        raise InputError(ds.root / F.INDEX_JSONL, "no scenes to export (`datagen scenes` makes them)")
    ids_path = out / O.SCENE_IDS
    idmap = O.scene_names([(r["id"], r["shape_id"]) for r in rows], read_json(ids_path) if prev and ids_path.is_file() else None)
    names = idmap["scenes"]
    marker = {"format": O.MARKER_FORMAT, "version": O.MARKER_VERSION, "generator_version": __version__,
              "source": str(Path(src).resolve()), "source_fingerprint": fp, "size": int(size),
              "type_tokens": O.TYPE_TOKENS, "frame": "ours = the release's: Z-up metres, floor z = 0; poses OpenCV "
              "world-to-camera; K in size-px units", "depth_png": "uint16 millimetres, 0 = none", "complete": False}
    if prev is None:
        out.mkdir(parents=True, exist_ok=True)
        _write_if_changed(out / O.MARKER, marker)
    for stale in out.glob(".*.tmp"):  # a scene folder an interrupted run left half-written
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
    _write_if_changed(ids_path, idmap)

    summary = Summary()
    warnings: list[str] = []
    done = set()
    bar = tqdm(total=len(rows), desc="export scenes", unit="scene", disable=not progress)

    def tasks():
        for r in rows:
            name = names[r["id"]]
            if (out / name / META3D).is_file():
                done.add(r["id"])
                summary.add(SKIPPED, r["id"], group="scene")
                bar.update(1)
                continue
            yield {"scene_id": r["id"], "dir": str(ds.root / r.get("path", f"{F.SCENES_DIR}/{r['id']}")), "name": name,
                   "stem": idmap["shapes"][r["shape_id"]], "number": name.rsplit("-", 1)[1], "out": str(out),
                   "size": int(size)}

    for task, res in _ordered(write_scene, tasks(), workers):
        if "error" in res:
            summary.add(FAILED, task["scene_id"], group="scene", **res)
        else:
            done.add(task["scene_id"])
            summary.add(DONE, task["scene_id"], group="scene", outputs=1)
            if res.get("warning"):
                warnings.append(f"{res['name']}: {res['warning']}")
        bar.update(1)
    bar.close()
    summary.write_lists(out / O.FAILURES)
    splits, empty, split_warnings = _split_file(rows, names, done, ds.splits)
    text = json.dumps(splits, indent=2) + "\n"  # key order matters: train.py takes the first 'train' / 'test' key
    if not (split_path.is_file() and split_path.read_text(encoding="utf-8") == text):
        atomic_write_text(split_path, text)
    marker.update(complete=not summary.failed, split_file=str(split_path.resolve()),
                  counts={"scenes": len(done), "by_split": {k: len(v) for k, v in splits.items()}})
    if prev is not None and prev.get("grid_or_count_warnings"):
        marker["grid_or_count_warnings"] = prev["grid_or_count_warnings"]
    if warnings:
        marker["grid_or_count_warnings"] = sorted(set(marker.get("grid_or_count_warnings", [])) | set(warnings))
    _write_if_changed(out / O.MARKER, marker)
    return OddOneOutExport(summary, split_path, {k: len(v) for k, v in splits.items()}, empty, warnings + split_warnings)
