"""Import the BrokenChairs-180K layout (the released set, or one of our exports) into format v1, so
``datagen stats | preview | verify | train`` work on it.

    summary = import_looking3d("/data/BrokenChairs", "ds_real/")

What it reads (see ``datagen.export.looking3d``): ``split.json``; every ``images/<group>/render_*.png``
(label from the name: ``anomaly`` in it); for anomalies ``annotations/<group>/info_<name>.json``
(``2d_bbox`` [x, y, w, h] in the 512 frame -> our [x1, y1, x2, y2] pixels of the image, rounded;
``config.type`` -> our type word; ``camera_parameters`` K / RT when present) and the mask PNGs;
``shapes/shape_<sid>/mv_images/<stem>.{png,npy,json}`` (in order of our azimuth when the stems carry it)
and ``model_id.txt``. The views' ``.npy`` (pickled dicts) are read with ``datagen.safe_npy``: a pickle
asking for anything but numpy arrays, dicts and trimesh's TrackedArray is refused (listed as a failure),
never run.

What it writes, per format v1 with the release's gaps (``datagen.dataset.format``):
- samples: rgb.png (alpha composited over white), mask_new.png / mask_old.png (resized to the image
  with nearest if needed), meta.json with ``"source": "looking3d-release"``, no depth.npy / parts.png.
  meta.camera: from ``camera_parameters`` (K, RT) when the info has them; else, for our own exports,
  the exact camera from ``datagen_export.jsonl``; else a camera on the name's radius / azimuth /
  elevation looking at the origin with an assumed 50 mm lens on a 36 mm sensor (``"assumed": true``).
- references ``shapes/<sid>/views/``: NNNN.png (gray, 256 px), NNNN_points.npy (the view's ``xyz``
  in our frame, NaN for background: cell (r, c) is the point seen near pixel (8r, 8c), the
  release's convention, half a patch off our patch centres), NNNN_depth.npy only when the release
  has ``<stem>_depth.npy``; cameras.json with ``"source": "looking3d-release"`` (K, RT converted to
  our OpenCV camera and Z-up world: ``datagen.export.looking3d_layout``); no part meshes.
- ids: ``shape_ids.json`` (our exports) maps exported shape ids back to ours; sample ids are the
  manifest's (our exports) or the image name without ``render_`` / ``.png``.

Rerun resumes (complete samples and references are skipped). Unreadable files are listed in
``<out>/failures.jsonl`` and the import goes on; images of shapes in no split are refused (the
official loader never reads them) and listed in ``<out>/refusals.jsonl``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from datagen.batch import DONE, FAILED, REFUSED, SKIPPED, Summary, failure_fields
from datagen.dataset import format as F
from datagen.dataset.writer import DatasetWriter, save_png
from datagen.errors import InputError, Refused
import datagen.export.looking3d_layout as L
from datagen.dataset.manifest import write_manifest
from datagen.io import atomic_dir, dumps_json, read_json
from datagen.safe_npy import load_npy_dict
from datagen.spec import Camera, fx_from_lens, look_at, spherical_eye

ASSUMED_LENS_MM, ASSUMED_SENSOR_MM = 50.0, 36.0


def _rgb(path: Path) -> np.ndarray:
    """(H, W, 3) uint8 of any PNG the official loader reads as colour; alpha composited over white."""
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("RGBA", "LA", "P", "PA"):
                im = im.convert("RGBA")
                a = np.asarray(im).astype(np.float32)
                alpha = a[..., 3:4] / 255
                return (a[..., :3] * alpha + 255 * (1 - alpha)).round().astype(np.uint8)
            return np.asarray(im.convert("RGB"))
    except (OSError, ValueError) as e:
        raise InputError(path, f"cannot read image: {e}") from None


def _mask(path: Path, size: tuple[int, int]) -> np.ndarray | None:
    """(H, W) bool of a 0/255 mask PNG resized (nearest) to size = (W, H); None if absent."""
    if not path.is_file():
        return None
    try:
        with Image.open(path) as im:
            im = im.convert("L")
            if im.size != size:
                im = im.resize(size, Image.NEAREST)
            return np.asarray(im) > 127
    except (OSError, ValueError) as e:
        raise InputError(path, f"cannot read mask: {e}") from None


def orbit_camera(radius: float, azimuth_deg: float, elevation_deg: float, width: int, height: int,
                 fx: float | None = None) -> Camera:
    """Our OpenCV camera for release angles (degrees, release frame) looking at the origin; fx
    defaults to a 50 mm lens on a 36 mm sensor at this width."""
    az, el = L.our_angles(azimuth_deg, elevation_deg)
    f = fx if fx is not None else fx_from_lens(ASSUMED_LENS_MM, ASSUMED_SENSOR_MM, width)
    K = np.array([[f, 0.0, width / 2.0], [0.0, f, height / 2.0], [0.0, 0.0, 1.0]])
    return Camera(K, look_at(spherical_eye(radius, az, el), (0.0, 0.0, 0.0)), width, height)


def camera_from_release(K, RT, width: int, height: int, k_size: tuple[int, int] | None = None) -> Camera:
    """Release K (for an image of k_size = (W, H), default the image's) and RT -> our Camera."""
    K = np.asarray(K, dtype=np.float64)
    if k_size is not None and tuple(k_size) != (width, height):
        K = np.diag([width / k_size[0], height / k_size[1], 1.0]) @ K
    return Camera(K, L.opencv_world_to_camera(RT), width, height)


def box_from_512(box, width: int, height: int) -> list[int]:
    """``2d_bbox`` [x, y, w, h] (512 frame) -> our [x1, y1, x2, y2] pixels of a width x height image
    (x2, y2 exclusive), rounded to the nearest pixel and clipped inside the image."""
    sx, sy = width / L.BOX_FRAME, height / L.BOX_FRAME
    x, y, w, h = (float(v) for v in box)
    x1, y1 = min(max(0, round(x * sx)), width - 1), min(max(0, round(y * sy)), height - 1)
    x2, y2 = max(x1 + 1, min(width, round((x + w) * sx))), max(y1 + 1, min(height, round((y + h) * sy)))
    return [int(x1), int(y1), int(x2), int(y2)]


class _Importer:
    def __init__(self, src: Path, out: Path, progress: bool):
        self.src, self.out, self.progress = src, out, progress
        for need in ("split.json", "images", "shapes"):
            if not (src / need).exists():
                raise InputError(src / need, "missing: not a BrokenChairs-180K layout root")
        splits = read_json(src / "split.json")
        if not isinstance(splits, dict) or not all(isinstance(v, list) for v in splits.values()):
            raise InputError(src / "split.json", "not an object of lists of shape ids")
        ids = read_json(src / L.SHAPE_IDS) if (src / L.SHAPE_IDS).is_file() else {}
        self.to_ours = {str(v): str(k) for k, v in ids.items()}
        self.split_of = {}
        for name, members in splits.items():
            for rid in members:
                self.split_of[str(rid)] = name
        self.splits = {k: [self.our_id(s) for s in splits.get(k, [])] for k in sorted(set(F.SPLITS) | set(splits))}
        self.manifest = {}
        if (src / L.MANIFEST).is_file():
            for line in (src / L.MANIFEST).read_text(encoding="utf-8").splitlines():
                try:
                    r = json.loads(line)
                    self.manifest[(r["group"], r["name"])] = r
                except (json.JSONDecodeError, KeyError, TypeError):
                    continue
        if out.is_dir() and any(out.iterdir()) and not (out / F.DATASET_JSON).is_file():
            raise InputError(out, "folder is not empty and is not a dataset (no dataset.json): choose an empty --out")
        config = {"source": F.SOURCE_LOOKING3D, "from": str(src.resolve())}
        self.writer = DatasetWriter(out, config=config, seed=0)
        self.summary = Summary()

    def our_id(self, rid) -> str:
        return self.to_ours.get(str(rid), str(rid))

    # --- query images ------------------------------------------------------------------------
    def sample(self, group: str, name: str, sample_id: str) -> str:
        path = self.src / "images" / group / name
        q = L.parse_query_name(name)
        split = self.split_of.get(q.shape_id)
        if split is None:
            raise Refused(f"{path}: shape {q.shape_id!r} is in no split of split.json (the official loader never reads it)")
        if self.writer.has_sample(sample_id):
            return SKIPPED
        rgb = _rgb(path)
        H, W = rgb.shape[:2]
        stem = name[len("render_"):-len(".png")]
        ann = self.src / "annotations" / group
        known = self.manifest.get((group, name))
        info, anomaly, bbox, new, old = {}, None, None, None, None
        if q.label:
            ip = ann / f"info_{stem}.json"
            info = read_json(ip)
            if not isinstance(info, dict):
                raise InputError(ip, "not a JSON object")
            problem = L.box_problem(info.get("2d_bbox"))
            if problem:
                raise InputError(ip, problem)
            bbox = box_from_512(info["2d_bbox"], W, H)
            config = info.get("config") if isinstance(info.get("config"), dict) else {}
            word = str(config.get("type", "unknown"))
            anomaly = {"type": L.our_type(word), "release_type": word}
            anomaly.update({k: config[k] for k in ("part",) if config.get(k) is not None})
            if config.get("part_label") is not None:
                anomaly["label"] = config["part_label"]
            new = _mask(ann / f"mask_new_{stem}.png", (W, H))
            old = _mask(ann / f"mask_old_{stem}.png", (W, H))
            if new is None:
                raise InputError(ann / f"mask_new_{stem}.png", "missing")
        cam_meta = self.camera(q, info, known, W, H)
        meta = {
            "shape_id": self.our_id(q.shape_id), "label": q.label, "anomaly": anomaly, "camera": cam_meta,
            "split": split, "bbox": bbox, "source": F.SOURCE_LOOKING3D,
            "looking3d": {"group": group, "name": name, "texture_id": info.get("texture_id", q.texture),
                          "light": q.light, "IoU": info.get("IoU")},
        }
        self.writer.write_sample(sample_id, meta, rgb, None, None, mask_new=new, mask_old=old)
        return DONE

    def camera(self, q: L.QueryName, info: dict, known: dict | None, W: int, H: int) -> dict:
        cp = info.get("camera_parameters") if isinstance(info.get("camera_parameters"), dict) else {}
        extra = {}
        if "K" in cp and "RT" in cp:
            ksize = (int(cp.get("width", W)), int(cp.get("height", H)))
            cam = camera_from_release(cp["K"], cp["RT"], W, H, ksize)
        elif known and isinstance(known.get("camera"), dict):
            c = known["camera"]
            cam = camera_from_release(c["K"], L.release_rt(c["world_to_camera"]), W, H, (c["width"], c["height"]))
        elif None not in (q.radius, q.azimuth, q.elevation):
            cam, extra = orbit_camera(q.radius, q.azimuth, q.elevation, W, H), {"assumed": True}
        else:
            raise InputError(self.src / "images", f"{q}: no camera_parameters and no radius/angles in the name")
        pos = L.camera_position(cam.world_to_camera)
        r = float(np.linalg.norm(pos))
        az, el = np.arctan2(pos[1], pos[0]) % (2 * np.pi), np.arcsin(np.clip(pos[2] / r, -1, 1))
        return dict(cam.to_json(), radius=r, azimuth=float(az), elevation=float(el), **extra)

    # --- reference views ---------------------------------------------------------------------
    def reference(self, folder: Path) -> str:
        rid = folder.name[len("shape_"):]
        sid = self.our_id(rid)
        if self.writer.has_reference(sid):
            return SKIPPED
        mv = folder / "mv_images"
        pngs = sorted(p for p in mv.glob("*.png") if not p.name.startswith("."))
        key = {p: L.parse_view_stem(p.stem) for p in pngs}
        # our view order: by our azimuth (= -release azimuth), then name
        pngs.sort(key=lambda p: (key[p] is None, (-key[p][1]) % 360.0 if key[p] else 0.0, p.name))
        views = []
        for p in pngs:
            try:
                views.append(self.view(p, key[p]))
            except InputError as e:  # one bad view: listed, the shape keeps the others
                self.summary.add(FAILED, str(p), group="view", **failure_fields(e))
        if not views:
            raise InputError(mv, "no readable reference view")
        with atomic_dir(self.writer.reference_dir(sid)) as tmp:
            vdir = tmp / F.VIEWS_DIR
            vdir.mkdir()
            cams = []
            for i, v in enumerate(views):
                s = F.view_stem(i)
                save_png(vdir / f"{s}.png", v["image"])
                np.save(vdir / f"{s}_points.npy", v["points"])
                if v["depth"] is not None:
                    np.save(vdir / f"{s}_depth.npy", v["depth"])
                cams.append(dict(v["camera"].to_json(), source=F.SOURCE_LOOKING3D, stem=v["stem"]))
            (vdir / F.CAMERAS_JSON).write_text(dumps_json(cams))
            if (folder / "model_id.txt").is_file():
                (tmp / "model_id.txt").write_text((folder / "model_id.txt").read_text())
            write_manifest(tmp)
        return DONE

    def view(self, png: Path, angles) -> dict:
        gray = _rgb(png).mean(-1).round().astype(np.uint8)
        h, w = gray.shape
        if (w, h) != (L.VIEW_SIZE, L.VIEW_SIZE):
            gray = np.asarray(Image.fromarray(gray).resize((L.VIEW_SIZE, L.VIEW_SIZE), Image.LANCZOS))
        jp, npy = png.with_suffix(".json"), png.with_suffix(".npy")
        if jp.is_file():
            j = read_json(jp)
            try:
                cam = camera_from_release(j["K"], j["RT"], L.VIEW_SIZE, L.VIEW_SIZE, (L.VIEW_SIZE, L.VIEW_SIZE))
            except (KeyError, TypeError, ValueError) as e:
                raise InputError(jp, f"bad K / RT: {e}") from None
        elif angles is not None:
            cam = orbit_camera(angles[0], angles[1], angles[2], L.VIEW_SIZE, L.VIEW_SIZE, fx=355.0)
        else:
            raise InputError(png, "no .json camera and no <dist>_<azim>_<elev> in the name")
        d = load_npy_dict(npy)  # never runs code from the file (a pickled dict: datagen.safe_npy)
        try:
            xyz = np.asarray(d["xyz"], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as e:
            raise InputError(npy, f"no usable 'xyz' in the view dict: {type(e).__name__}: {e}") from None
        if xyz.shape != (L.GRID, L.GRID, 3):
            raise InputError(npy, f"xyz shape {xyz.shape} != (32, 32, 3)")
        bg = np.all(xyz == -1, axis=-1) | ~np.isfinite(xyz).all(-1)
        points = L.from_release(np.where(bg[..., None], 0.0, xyz))
        points[bg] = np.nan
        dp = png.with_name(png.stem + "_depth.npy")
        depth = None
        if dp.is_file():
            try:
                depth = np.load(dp, allow_pickle=False).astype(np.float32)
            except (OSError, ValueError) as e:  # an object array (pickle) is refused here too
                raise InputError(dp, f"cannot read the depth: {' '.join(str(e).split())}") from None
            if depth.shape != (L.VIEW_SIZE, L.VIEW_SIZE):
                depth = None  # a depth at another size than the (resized) view is dropped
        return {"image": gray, "points": points.astype(np.float32), "depth": depth, "camera": cam, "stem": png.stem}

    # --- the run -----------------------------------------------------------------------------
    def run(self) -> Summary:
        s = self.summary
        try:
            self.writer.write_splits(self.splits)
        except ValueError as e:
            raise InputError(self.src / "split.json", str(e)) from None
        shapes = sorted(p for p in (self.src / "shapes").iterdir() if p.is_dir() and p.name.startswith("shape_"))
        for folder in tqdm(shapes, desc="import shapes", unit="shape", disable=not self.progress):
            self._one(folder.name, lambda: self.reference(folder), "shape")
        groups = sorted(p.name for p in os.scandir(self.src / "images") if p.is_dir())
        names = {g: sorted(n for n in os.listdir(self.src / "images" / g) if not n.startswith(".")) for g in groups}
        seen: set[str] = set()
        bar = tqdm(total=sum(map(len, names.values())), desc="import samples", unit="sample", disable=not self.progress)
        for g in groups:
            for n in names[g]:
                known = self.manifest.get((g, n))
                sid = known["sample_id"] if known else n[len("render_"):-len(".png")] if n.startswith("render_") else n
                sid = sid if sid not in seen else f"{g}__{sid}"
                seen.add(sid)
                self._one(f"{g}/{n}", lambda: self.sample(g, n, sid), "sample")
                bar.update(1)
        bar.close()
        self.writer.finalize()
        s.write_lists(self.out / L.FAILURES, self.out / "refusals.jsonl")
        return s

    def _one(self, item: str, fn, group: str) -> None:
        try:
            status = fn()
        except Refused as e:
            self.summary.add(REFUSED, item, group=group, reason=str(e))
        except Exception as e:  # noqa: BLE001 - an unreadable file never stops the import
            self.summary.add(FAILED, item, group=group, **failure_fields(e))
        else:
            self.summary.add(status, item, group=group, outputs=int(status == DONE))


def import_looking3d(src, out, progress: bool = True) -> Summary:
    """Import the BrokenChairs-180K layout at ``src`` into a format-v1 dataset at ``out`` (see module doc).
    Returns a Summary (groups ``shape`` and ``sample``); failures in ``out/failures.jsonl``."""
    return _Importer(Path(src), Path(out), progress).run()
