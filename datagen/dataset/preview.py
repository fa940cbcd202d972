"""A contact sheet (one PNG) to judge a dataset at a glance.

    make_preview("ds/", "preview.png", n=8, seed=0)

One row per query sample: the RGB query; the query with the anomaly overlays (mask_new
red, mask_old cyan, bbox yellow); the part index mask colorized; the depth colorized
(near = yellow, far = blue, background = black); and up to four reference views of its
shape. Above each row a label: sample id, normal/ANOMALOUS, anomaly type and part, shape,
split, bbox. Odd-One-Out scenes get rows too: several views with every object's 2D box
(green normal, red anomalous), the anomaly's pixels in red, the instance ids and the depth.

Small images are scaled up by an integer factor (nearest) so a 32-64 px dataset is readable;
large ones are scaled down to the cell size.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

import datagen.dataset.format as F
from datagen.dataset.reader import Dataset, load_npy, load_png
from datagen.errors import InputError
from datagen.io import atomic_write_bytes
from datagen.seeding import rng_for

NEW_RGB = (255, 0, 0)  # mask_new overlay
OLD_RGB = (0, 230, 255)  # mask_old overlay
BBOX_RGB = (255, 215, 0)
OVERLAY_ALPHA = 0.6
N_REFS = 4
GAP = 6
MARGIN = 10
LABEL_H = 20
HEADER_H = 64
BG = (255, 255, 255)
CELL_BG = (225, 225, 225)
# distinct colours for part / instance indices 1, 2, ... (0 = background, dark)
PALETTE = np.array([
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (148, 103, 189), (140, 86, 75), (227, 119, 194),
    (127, 127, 127), (188, 189, 34), (23, 190, 207), (174, 199, 232), (255, 187, 120), (152, 223, 138),
], dtype=np.uint8)
# near -> far: yellow, orange, magenta, blue
DEPTH_STOPS = np.array([(253, 231, 37), (245, 130, 40), (190, 40, 120), (70, 30, 140), (20, 20, 90)], dtype=np.float64)


def _font(size: int = 13):
    return ImageFont.load_default(size=size)


def colorize_index(index: np.ndarray, highlight: set[int] | None = None) -> np.ndarray:
    """index : (H, W) int (0 = background) -> (H, W, 3) uint8; indices in ``highlight`` are red."""
    idx = np.asarray(index).astype(np.int64)
    out = PALETTE[(idx - 1) % len(PALETTE)].copy()
    out[idx == 0] = (40, 40, 40)
    for h in highlight or ():
        out[idx == h] = NEW_RGB
    return out


def colorize_depth(depth: np.ndarray) -> np.ndarray:
    """depth : (H, W) float metres (0 = background) -> (H, W, 3) uint8; non-finite or negative = magenta."""
    d = np.asarray(depth, dtype=np.float64)
    bad = ~np.isfinite(d) | (d < 0)
    fg = ~bad & (d > 0)
    out = np.zeros(d.shape + (3,), np.uint8)
    if fg.any():
        lo, hi = d[fg].min(), d[fg].max()
        t = (d[fg] - lo) / (hi - lo) if hi > lo else np.zeros(int(fg.sum()))
        x = t * (len(DEPTH_STOPS) - 1)
        i = np.minimum(x.astype(int), len(DEPTH_STOPS) - 2)
        f = (x - i)[:, None]
        out[fg] = (DEPTH_STOPS[i] * (1 - f) + DEPTH_STOPS[i + 1] * f).round().astype(np.uint8)
    out[bad] = (255, 0, 255)
    return out


def blend(rgb: np.ndarray, mask: np.ndarray, color, alpha: float = OVERLAY_ALPHA) -> np.ndarray:
    """rgb : (H, W, 3) uint8, mask : (H, W) bool -> rgb with ``color`` blended in where mask."""
    out = rgb.astype(np.float64)
    out[mask] = out[mask] * (1 - alpha) + np.array(color, dtype=np.float64) * alpha
    return out.round().astype(np.uint8)


def to_rgb(a: np.ndarray) -> np.ndarray:
    """(H, W) gray, (H, W, 3) or (H, W, 4) (composited over white) -> (H, W, 3) uint8."""
    a = np.asarray(a)
    if a.dtype != np.uint8:
        a = np.clip(a, 0, 255).astype(np.uint8)
    if a.ndim == 2:
        return np.repeat(a[..., None], 3, axis=2)
    if a.shape[2] == 4:
        alpha = a[..., 3:4].astype(np.float64) / 255
        return (a[..., :3] * alpha + 255 * (1 - alpha)).round().astype(np.uint8)
    return a[..., :3]


def _scale_for(h: int, w: int, cell: int) -> float:
    """Scale of a query of h x w pixels: integer (nearest to cell / side) up, cell / side down."""
    side = max(h, w)
    return float(max(1, int(cell / side + 0.5))) if side <= cell else cell / side


def _fit(rgb: np.ndarray, cell: int, exact: bool = False) -> tuple[Image.Image, float]:
    """rgb (H, W, 3) uint8 -> (image scaled to fit the cell, scale). Up: nearest; down: box filter
    (nearest when ``exact``, for label images)."""
    h, w = rgb.shape[:2]
    side = max(h, w)
    s = float(cell // side) if side <= cell else cell / side  # integer factor up, exact fit down
    size = (max(1, round(w * s)), max(1, round(h * s)))
    resample = Image.NEAREST if (s >= 1 or exact) else Image.BOX
    return Image.fromarray(rgb).resize(size, resample), s


def _placeholder(cell: int, text: str) -> Image.Image:
    img = Image.new("RGB", (cell, cell), CELL_BG)
    ImageDraw.Draw(img).text((6, cell // 2 - 8), text, fill=(120, 0, 0), font=_font(12))
    return img


def _draw_bbox(img: Image.Image, bbox, scale: float) -> None:
    x1, y1, x2, y2 = (float(v) * scale for v in bbox)
    width = max(2, round(scale / 2))
    ImageDraw.Draw(img).rectangle([x1, y1, x2 - 1, y2 - 1], outline=BBOX_RGB, width=width)


def _safe(fn, cell):
    try:
        return fn()
    except (InputError, OSError, ValueError, KeyError, IndexError, TypeError) as e:
        return _placeholder(cell, f"n/a: {type(e).__name__}")


def _query_cells(ds: Dataset, row: dict, cell: int) -> tuple[list[Image.Image], str, bool]:
    s = ds.sample(row["id"])
    meta = s.meta
    cells = [_safe(lambda: _fit(to_rgb(s.rgb), cell)[0], cell)]

    def overlay():
        rgb = to_rgb(s.rgb)
        if s.mask_old is not None:
            rgb = blend(rgb, s.mask_old, OLD_RGB)
        if s.mask_new is not None:
            rgb = blend(rgb, s.mask_new, NEW_RGB)
        img, scale = _fit(rgb, cell, exact=True)
        if meta.get("bbox"):
            _draw_bbox(img, meta["bbox"], scale)
        return img

    cells.append(_safe(overlay, cell))
    if meta.get("source") == F.SOURCE_LOOKING3D:  # imported release data: no parts, no depth
        cells += [_placeholder(cell, "not in the release")] * 2
    else:
        cells.append(_safe(lambda: _fit(colorize_index(s.parts), cell, exact=True)[0], cell))
        cells.append(_safe(lambda: _fit(colorize_depth(s.depth), cell, exact=True)[0], cell))
    try:
        ref = ds.reference(meta["shape_id"], cache=False)
        v = len(ref.images)
        picks = sorted({int(i) for i in np.linspace(0, v, min(N_REFS, v), endpoint=False)})
        cells += [_fit(to_rgb(ref.images[i]), cell)[0] for i in picks]
    except (InputError, OSError, ValueError, KeyError) as e:
        cells.append(_placeholder(cell, f"no reference: {type(e).__name__}"))
    anomalous = bool(int(meta.get("label", 0)))
    a = meta.get("anomaly") or {}
    parts = f"{a.get('type')} (part: {a.get('part')})" if anomalous else ""
    text = (f"{row['id']}   {'ANOMALOUS ' + parts if anomalous else 'normal'}   "
            f"shape {meta.get('shape_id')}   {meta.get('split')}"
            + (f"   bbox {meta.get('bbox')}" if meta.get("bbox") else ""))
    return cells, text, anomalous


NORMAL_BOX = (40, 200, 60)
ANOMALY_BOX = (230, 20, 20)


def _scene_instances(scene: dict) -> tuple[set[int], list[str]]:
    """Instance ids of anomalous objects (their ``id``, else their position + 1) and their descriptions."""
    ids, desc = set(), []
    for j, o in enumerate(scene.get("objects", [])):
        if int(o.get("label", 0)):
            ids.add(int(o.get("id", j + 1)))
            a = o.get("anomaly") or {}
            desc.append(f"object {o.get('id', j + 1)}: {a.get('type')} (part {a.get('part')})")
    return ids, desc


def _scene_cells(ds: Dataset, row: dict, cell: int, ncols: int) -> tuple[list[Image.Image], str, bool]:
    """Views with every object's 2D box (green normal, red anomalous; the view where the anomaly shows
    most comes first), the anomaly's pixels in red on that view, the instance ids, the depth."""
    d = ds.root / row.get("path", f"{F.SCENES_DIR}/{row['id']}")
    scene = ds.scene(row["id"])
    bad, desc = _scene_instances(scene)
    n_views = len(list((d / "rgb").glob("*.png")))
    visible = (scene.get("anomaly") or {}).get("visible_px") or []
    best = int(np.argmax(visible)) if visible else 0
    n_boxed = max(1, ncols - 3)
    picks = [best] + [int(k) for k in np.linspace(0, n_views, n_boxed, endpoint=False).round() if int(k) != best]
    picks = list(dict.fromkeys(picks))[:n_boxed]
    boxes = scene.get("boxes2d") or []
    ids = [int(o.get("id", j + 1)) for j, o in enumerate(scene.get("objects", []))]

    def boxed(k):
        img, scale = _fit(to_rgb(load_png(d / "rgb" / f"{F.view_stem(k)}.png")), cell)
        draw = ImageDraw.Draw(img)
        for oid, box in zip(ids, boxes[k] if k < len(boxes) else []):
            if box:
                x1, y1, x2, y2 = (float(v) * scale for v in box)
                draw.rectangle([x1, y1, x2 - 1, y2 - 1], outline=ANOMALY_BOX if oid in bad else NORMAL_BOX,
                               width=max(1, round(scale)))
        return img

    def anomaly():
        rgb = to_rgb(load_png(d / "rgb" / f"{F.view_stem(best)}.png"))
        mask = d / "anomaly" / f"{F.view_stem(best)}.png"
        return _fit(blend(rgb, load_png(mask) > 0, NEW_RGB) if mask.is_file() else rgb, cell, exact=True)[0]

    def instances():
        inst = load_png(d / "instances" / f"{F.view_stem(best)}.png").astype(np.int64)
        return _fit(colorize_index(inst, highlight=bad), cell, exact=True)[0]

    cells = [_safe(lambda k=k: boxed(k), cell) for k in picks]
    cells += [Image.new("RGB", (cell, cell), CELL_BG)] * (n_boxed - len(cells))  # fixed columns
    cells += [_safe(anomaly, cell), _safe(instances, cell),
              _safe(lambda: _fit(colorize_depth(load_npy(d / "depth" / f"{F.view_stem(best)}.npy")), cell, exact=True)[0], cell)]
    n_obj = len(scene.get("objects", []))
    text = (f"{row['id']}   {n_obj} objects, {'ANOMALOUS ' + '; '.join(desc) if desc else 'all normal'}   "
            f"{n_views} views   {scene.get('split')}")
    return cells, text, bool(desc)


def choose_samples(rows: list[dict], n: int, rng: np.random.Generator) -> list[dict]:
    """n query rows, covering each anomaly type present and normals first (round robin over
    the groups: position, rotation, broken, swapped, missing, other types, normal), grouped in
    that order. The choice within a group is a permutation drawn from ``rng``."""
    groups: dict[str, list[dict]] = {}
    for r in rows:
        key = (r.get("anomaly_type") or "unknown") if int(r.get("label", 0)) else "normal"
        groups.setdefault(key, []).append(r)
    order = [t for t in F.ANOMALY_TYPES if t in groups]
    order += sorted(t for t in groups if t not in F.ANOMALY_TYPES and t != "normal")
    order += ["normal"] if "normal" in groups else []
    queues = {}
    for t in order:
        g = sorted(groups[t], key=lambda r: r["id"])
        queues[t] = [g[i] for i in rng.permutation(len(g))]
    picked: list[tuple[int, int, dict]] = []
    rnd = 0
    while len(picked) < n and any(len(q) > rnd for q in queues.values()):
        for gi, t in enumerate(order):
            if len(picked) < n and rnd < len(queues[t]):
                picked.append((gi, rnd, queues[t][rnd]))
        rnd += 1
    return [r for _, _, r in sorted(picked, key=lambda x: (x[0], x[1]))]


def cell_origin(row: int, col: int, cell: int) -> tuple[int, int]:
    """Top-left pixel (x, y) of the cell in ``row``, ``col`` of the sheet (images are centred in it)."""
    return MARGIN + col * (cell + GAP), MARGIN + HEADER_H + row * (LABEL_H + cell + GAP) + LABEL_H


def make_preview(
    root: str | os.PathLike,
    out_png: str | os.PathLike,
    n: int = 8,
    seed: int = 0,
    split: str | None = None,
    scenes: int | None = None,
    cell: int = 160,
) -> Path:
    """Write a contact sheet of ``n`` query samples (and up to ``scenes`` scenes; default: ``n`` for a
    dataset of scenes only, else 2; chosen like the queries, covering every anomaly type) to ``out_png``.

    root : dataset folder (format v1). n : query rows; the choice is deterministic in ``seed``
    and covers every anomaly type present plus normals when n allows. split : only rows of
    this split. cell : target cell size in pixels (queries smaller than this are scaled up by
    an integer factor, nearest). Returns the path written (atomically).
    """
    ds = Dataset(root)
    rng = rng_for("preview", int(seed))
    queries = choose_samples(ds.rows(split=split, kind="query"), n, rng)
    if scenes is None:  # a scenes dataset: n scene rows; a query dataset: 2 (if it has any)
        scenes = 2 if queries else n
    scene_rows = choose_samples(ds.rows(split=split, kind="scene"), scenes, rng) if scenes else []
    if not queries and not scene_rows:
        raise InputError(ds.root / F.INDEX_JSONL, f"no samples{' in split ' + split if split else ''} to preview")

    # cell size from the first query (or scene) resolution
    size = None
    if queries:
        cam = ds.sample(queries[0]["id"]).meta.get("camera") or {}
        size = max(int(cam.get("width", cell)), int(cam.get("height", cell)))
    c = int(round(size * _scale_for(size, size, cell))) if size else cell
    ncols = 4 + N_REFS
    rows = [_query_cells(ds, r, c) for r in queries]
    rows += [_scene_cells(ds, r, c, ncols) for r in scene_rows]

    width = 2 * MARGIN + ncols * c + (ncols - 1) * GAP
    height = cell_origin(len(rows), 0, c)[1] - LABEL_H + MARGIN
    sheet = Image.new("RGB", (width, height), BG)
    draw = ImageDraw.Draw(sheet)
    font, small = _font(14), _font(12)
    title = (f"{ds.root.resolve().name}: {len(ds.rows())} query samples, {len(ds.rows(kind='scene'))} scene(s)"
             + (f", split {split}" if split else "") + f"   (preview seed {seed})")
    draw.text((MARGIN, MARGIN), title, fill=(0, 0, 0), font=font)
    legend = ("overlay: mask_new red, mask_old cyan, bbox yellow.  parts: one colour per part.  "
              "depth: near yellow -> far blue, background black.  scenes: boxes green = normal, red = anomalous.")
    draw.text((MARGIN, MARGIN + 20), legend, fill=(60, 60, 60), font=small)
    if queries:
        heads = ["query", "overlay", "parts", "depth"] + [f"reference view {i + 1}" for i in range(N_REFS)]
    else:  # a scenes dataset
        heads = [f"view {i + 1} (boxes)" for i in range(ncols - 3)] + ["anomaly (red)", "instances", "depth"]
    for k, h in enumerate(heads):
        draw.text((cell_origin(0, k, c)[0], MARGIN + 40), h, fill=(0, 0, 0), font=small)
    for i, (cells, text, anomalous) in enumerate(rows):
        x0, y0 = cell_origin(i, 0, c)
        draw.text((x0, y0 - LABEL_H + 2), text, fill=(190, 0, 0) if anomalous else (0, 120, 0), font=font)
        for k, im in enumerate(cells[:ncols]):
            x, y = cell_origin(i, k, c)
            draw.rectangle([x, y, x + c - 1, y + c - 1], fill=CELL_BG)
            sheet.paste(im, (x + (c - im.width) // 2, y + (c - im.height) // 2))
            draw.rectangle([x - 1, y - 1, x + c, y + c], outline=(170, 170, 170))
    buf = io.BytesIO()
    sheet.save(buf, format="PNG")
    return atomic_write_bytes(out_png, buf.getvalue())
