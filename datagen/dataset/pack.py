"""``datagen pack``: the query samples of a format-v1 dataset, per split, in a few shard files
(``datagen.dataset.shards``) that the trainer reads without touching the per-sample folders.

    pack_dataset("ds/", "ds_pack/", encode="raw")           # uint8 arrays, memory-mapped, no decode
    pack_dataset("ds/", "ds_pack/", encode="webp", resolution=96)   # small, to carry elsewhere

Layout of a pack::

    <out>/pack.json              format, format_version, encode, resolution, source (dataset.json
                                 BLAKE2b digest), splits {name: {queries, shapes, anomalous,
                                 query_size, shards: [{file, bytes, records}]}}
    <out>/<split>-NNNNN.a3dp     shards; records in the split's index order:
      kind "shape" (once per shape, before its first query): key = shape id, cameras (cameras.json
        entries), arrays view<v> (H, W) uint8 gray, depth<v> (H, W) float32 metres and grid<v>
        (H/8, H/8, 3) float32 world points of its 8 x 8 patches (what the trainer computes from
        depth when it trains at R = H; NaN = none), or points<v> (h, w, 3) float32 for an imported
        view without depth
      kind "query": key = sample id, label, sample_label (meta.json), anomaly_type, shape_id, bbox
        ([x1, y1, x2, y2] pixels or null), arrays rgb (H, W, 3) uint8 (composited over white)

What an item needs and nothing else (no masks, parts or query depth: the box head reads the
bbox). ``encode``: ``raw`` stores uint8 / float32 bytes (fastest to read: a memory map, no
decode), ``png`` / ``webp`` lossless images + shuffled-deflate depth (several times smaller).
``resolution`` R resizes queries (bilinear; bbox scaled), reference images (bilinear, as the
trainer does) and depth (nearest, intrinsics scaled) to R x R; without it every array keeps the
source's size and the packed items equal the unpacked ones exactly. ``quality`` Q stores the query
images as lossy WebP (the one lossy option, for carrying a pack: about 1.1 kB instead of 3.8 kB for
a 96 px render at Q = 95, mean error 0.65 / 255; references, depth and labels stay exact).

Incremental: a rerun into the same ``out`` with the same source and options skips the splits
already packed; a non-empty folder that is not such a pack is refused. Each shard and pack.json
is written to a temporary file and renamed; memory stays constant (one sample or reference at a
time, plus the record descriptors of the open shard).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from datagen.version import __version__
import datagen.dataset.format as F
from datagen.dataset.reader import Dataset, Sample, load_npy, load_png
from datagen.dataset.shards import SUFFIX, ShardWriter
from datagen.dataset.writer import patch_points
from datagen.errors import InputError
from datagen.io import atomic_write_json, read_json
from datagen.spec import Camera

PACK_JSON = "pack.json"
PACK_FORMAT = "anomaly3d-pack"
PACK_VERSION = 1
#: encode option -> (codec of uint8 images, codec of float arrays)
ENCODINGS = {"raw": ("raw", "raw"), "png": ("png", "zlib"), "webp": ("webp", "zlib")}


@dataclass
class PackSummary:
    out: Path
    packed: dict = field(default_factory=dict)  # split -> its pack.json entry
    skipped: list = field(default_factory=list)  # splits already in the pack
    empty: list = field(default_factory=list)  # splits without query samples

    @property
    def bytes(self) -> int:
        return sum(s["bytes"] for e in self.packed.values() for s in e["shards"])


def source_digest(root: str | os.PathLike) -> str:
    """BLAKE2b (hex) of the dataset's dataset.json: names the source a pack came from."""
    p = Path(root) / F.DATASET_JSON
    try:
        return hashlib.blake2b(p.read_bytes(), digest_size=16).hexdigest()
    except FileNotFoundError:
        raise InputError(p, "file not found") from None


def read_pack_info(root: str | os.PathLike) -> dict:
    """pack.json of a pack folder, checked for format and version."""
    p = Path(root) / PACK_JSON
    info = read_json(p)
    if not isinstance(info, dict) or info.get("format") != PACK_FORMAT or info.get("format_version") != PACK_VERSION:
        raise InputError(p, f"not a {PACK_FORMAT} v{PACK_VERSION} pack")
    return info


def is_pack(root: str | os.PathLike) -> bool:
    return (Path(root) / PACK_JSON).is_file()


def _gray(img: np.ndarray) -> np.ndarray:
    """The trainer's gray: the mean of R, G, B, rounded (a gray image as is)."""
    return img[..., :3].mean(-1).round().astype(np.uint8) if img.ndim == 3 else img


def _resize_image(img: np.ndarray, size: int) -> np.ndarray:
    if img.shape[:2] == (size, size):
        return img
    return np.asarray(Image.fromarray(img).resize((size, size), Image.BILINEAR))


def _resize_depth(depth: np.ndarray, camera: dict, size: int) -> tuple[np.ndarray, dict]:
    """Nearest resample of a depth map to size x size (the source pixel under each new pixel
    centre), with the camera's K scaled to match."""
    H, W = depth.shape
    if (H, W) == (size, size):
        return depth, camera
    rows = np.minimum(((np.arange(size) + 0.5) * H / size).astype(np.int64), H - 1)
    cols = np.minimum(((np.arange(size) + 0.5) * W / size).astype(np.int64), W - 1)
    return depth[rows][:, cols], _scaled_camera(camera, size, W, H)


def _scaled_camera(camera: dict, size: int, W: int, H: int) -> dict:
    K = np.diag([size / W, size / H, 1.0]) @ np.asarray(camera["K"], np.float64)
    return {**camera, "K": K.tolist(), "width": size, "height": size}


def _shape_record(root: Path, shape_id: str, resolution: int | None, image_codec: str, float_codec: str):
    """(fields, arrays) of one reference: what ``trainer.data.AnomalyDataset._view`` reads, per view."""
    vdir = root / F.SHAPES_DIR / shape_id / F.VIEWS_DIR
    cams = read_json(vdir / F.CAMERAS_JSON)
    out_cams, arrays = [], {}
    for v, cam in enumerate(cams):
        stem = F.view_stem(v)
        img = _gray(load_png(vdir / f"{stem}.png"))
        if cam.get("source") == F.SOURCE_LOOKING3D and not (vdir / f"{stem}_depth.npy").is_file():
            pts = load_npy(vdir / f"{stem}_points.npy")
            arrays[f"points{v}"] = (np.ascontiguousarray(pts), float_codec)
            if resolution:
                cam = _scaled_camera(cam, resolution, int(cam["width"]), int(cam["height"]))
        else:
            depth = load_npy(vdir / f"{stem}_depth.npy").astype(np.float32)
            if resolution:
                depth, cam = _resize_depth(depth, cam, resolution)
            arrays[f"depth{v}"] = (np.ascontiguousarray(depth), float_codec)
            H, W = depth.shape
            if H == W and H % F.PATCH_STRIDE == 0:  # the trainer's grid_points at R = H, computed once here
                arrays[f"grid{v}"] = (patch_points(depth, Camera.from_json(cam), F.PATCH_STRIDE), float_codec)
        if resolution:
            img = _resize_image(img, resolution)
        arrays[f"view{v}"] = (img, image_codec if img.dtype == np.uint8 else float_codec)
        out_cams.append(cam)
    return {"cameras": out_cams}, arrays


def _query_record(root: Path, row: dict, resolution: int | None, image_codec: str):
    """(fields, arrays, (H, W)) of one query sample."""
    d = root / F.SAMPLES_DIR / row["id"]
    s = Sample(d, read_json(d / F.META_JSON))
    rgb, bbox = s.rgb, s.bbox
    if resolution and rgb.shape[:2] != (resolution, resolution):
        H, W = rgb.shape[:2]
        rgb = _resize_image(rgb, resolution)
        if bbox is not None:
            sx, sy = resolution / W, resolution / H
            bbox = [bbox[0] * sx, bbox[1] * sy, bbox[2] * sx, bbox[3] * sy]
    fields = {"label": int(row["label"]), "sample_label": s.label, "anomaly_type": row.get("anomaly_type"),
              "shape_id": s.meta["shape_id"], "bbox": bbox}
    return fields, {"rgb": (np.ascontiguousarray(rgb), image_codec)}, rgb.shape[:2]


def _check_out(out: Path, info: dict) -> dict:
    """The existing pack.json in ``out`` when it is a pack of the same source and options; {} for a
    new or empty folder; InputError for anything else."""
    if not out.exists() or not any(out.iterdir()):
        return {}
    if not is_pack(out):
        raise InputError(out, "not empty and not a pack: choose an empty or new --out folder")
    old = read_pack_info(out)
    for k in ("source_digest", "encode", "resolution", "quality"):
        if old.get(k) != info[k]:
            raise InputError(out / PACK_JSON, f"a pack with another {k} ({old.get(k)!r}, now {info[k]!r}): "
                                               "choose another --out folder, or delete this one")
    return old


def _split_done(out: Path, entry: dict) -> bool:
    return all((out / s["file"]).is_file() and (out / s["file"]).stat().st_size == s["bytes"] for s in entry["shards"])


def pack_split(src: Dataset, out: Path, split: str, rows: list[dict], resolution: int | None, encode: str,
               shard_bytes: int, progress: bool = True, quality: int | None = None) -> dict:
    """Write ``rows`` (index rows of ``split``) to ``out/<split>-NNNNN.a3dp``; returns the split's pack.json entry."""
    image_codec, float_codec = ENCODINGS[encode]
    query_codec = image_codec if quality is None else f"webp-q{quality}"
    shards, sizes = [], set()
    counts = {"queries": 0, "shapes": 0, "anomalous": 0}
    seen: set[str] = set()
    writer = None
    try:
        for row in tqdm(rows, desc=f"pack {split}", unit="query", disable=not progress):
            if writer is None:
                writer = ShardWriter(out / f"{split}-{len(shards):05d}{SUFFIX}")
            fields, arrays, size = _query_record(src.root, row, resolution, query_codec)
            if fields["shape_id"] not in seen:
                seen.add(fields["shape_id"])
                sf, sa = _shape_record(src.root, fields["shape_id"], resolution, image_codec, float_codec)
                writer.add("shape", fields["shape_id"], sf, sa)
                counts["shapes"] += 1
            writer.add("query", row["id"], fields, arrays)
            counts["queries"] += 1
            counts["anomalous"] += int(fields["label"] == 1)
            sizes.add(tuple(int(x) for x in size))
            if writer.nbytes >= shard_bytes:
                shards.append({"file": writer.path.name, "records": len(writer.records), "bytes": writer.close()})
                writer = None
        if writer is not None:
            shards.append({"file": writer.path.name, "records": len(writer.records), "bytes": writer.close()})
            writer = None
    finally:
        if writer is not None:
            writer.abort()
    names = {s["file"] for s in shards}
    for stale in out.glob(f"{split}-*{SUFFIX}"):  # shards of an earlier, unfinished run of this split
        if stale.name not in names:
            stale.unlink()
    return {**counts, "query_size": list(sizes.pop()) if len(sizes) == 1 else None, "shards": shards}


def pack_dataset(src: str | os.PathLike, out: str | os.PathLike, splits: list[str] | None = None,
                 resolution: int | None = None, encode: str = "raw", shard_mb: float = 1024, progress: bool = True,
                 quality: int | None = None) -> PackSummary:
    """Pack the query samples of ``splits`` (default: every split with query samples) of dataset
    ``src`` into ``out``. ``encode``: raw | png | webp; ``resolution``: R x R for every image, or
    None (the source's sizes); ``shard_mb``: a shard closes once it holds this many MB; ``quality``:
    1-100 stores the query images as lossy WebP at that quality (None: as ``encode`` says, lossless)."""
    if encode not in ENCODINGS:
        raise ValueError(f"encode must be one of {', '.join(ENCODINGS)}, got {encode!r}")
    if quality is not None and not 1 <= quality <= 100:
        raise ValueError(f"quality must be in 1..100, got {quality}")
    if resolution is not None and resolution < 8:
        raise ValueError(f"resolution must be at least 8, got {resolution}")
    ds = Dataset(src)
    out = Path(out)
    info = {"format": PACK_FORMAT, "format_version": PACK_VERSION, "encode": encode, "resolution": resolution, "quality": quality,
            "source_digest": source_digest(src), "source": str(Path(src).resolve()),
            "source_generator_version": ds.info.get("generator_version"), "datagen_version": __version__}
    old = _check_out(out, info)
    out.mkdir(parents=True, exist_ok=True)
    for tmp in out.glob(f".*{SUFFIX}.*.tmp"):  # shards an interrupted run left half-written
        tmp.unlink()
    present = list(dict.fromkeys(r.get("split") for r in ds.rows() if r.get("split")))
    wanted = splits or [s for s in F.ALL_SPLITS if s in present] + [s for s in present if s not in F.ALL_SPLITS]
    info["splits"] = dict(old.get("splits", {}))
    summary = PackSummary(out)
    for split in wanted:
        if split in info["splits"] and _split_done(out, info["splits"][split]):
            summary.skipped.append(split)
            continue
        rows = ds.rows(split)
        if not rows:
            summary.empty.append(split)
            continue
        if info["splits"].pop(split, None) is not None:  # pack.json never lists a split whose shards are rewritten
            atomic_write_json(out / PACK_JSON, info)
        entry = pack_split(ds, out, split, rows, resolution, encode, int(shard_mb * 2**20), progress, quality)
        info["splits"][split] = summary.packed[split] = entry
        atomic_write_json(out / PACK_JSON, info)
    if not is_pack(out):
        atomic_write_json(out / PACK_JSON, info)
    return summary
