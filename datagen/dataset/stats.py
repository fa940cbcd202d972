"""Dataset statistics in the form of the Looking 3D paper's Table 1.

    st = compute_stats("ds/")        # dict, JSON-serializable
    print(format_table(st))          # fixed-width text table

Only ``dataset.json``, ``splits.json``, ``index.jsonl``, the samples' ``meta.json`` (for the
query resolution) and the references' ``cameras.json`` are read; no image is decoded.

"Views per shape" is the number of query images of one shape: per anomaly type it counts
the images of that type per shape (the paper's [min 1, max 8, median 4] for anomalies is per
shape and type); for normals it counts the normal images per shape.
"""

from __future__ import annotations

import json
import os
import statistics
from collections import Counter, defaultdict
from pathlib import Path

import datagen.dataset.format as F
from datagen.errors import InputError
from datagen.io import read_json


def _spread(counts) -> dict | None:
    """Counts -> {"min", "max", "median"} (ints; the median may be x.5) or None when empty."""
    counts = list(counts)
    if not counts:
        return None
    med = statistics.median(counts)
    return {"min": int(min(counts)), "max": int(max(counts)), "median": int(med) if med == int(med) else float(med)}


def _group(rows: list[dict]) -> dict:
    per_shape = Counter(r["shape_id"] for r in rows)
    return {"shapes": len(per_shape), "images": len(rows), "views_per_shape": _spread(per_shape.values())}


def read_index(root: str | os.PathLike) -> list[dict]:
    """index.jsonl rows (dicts). A missing index or a bad line raises ``InputError``."""
    p = Path(root) / F.INDEX_JSONL
    if not p.is_file():
        raise InputError(p, "index not found: the dataset was not finalized")
    rows = []
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as e:
            raise InputError(p, f"line {n}: bad JSON: {e.msg}") from None
    return rows


def _resolution(meta: dict, path: Path) -> str:
    cam = meta.get("camera") or {}
    try:
        return f"{int(cam['width'])}x{int(cam['height'])}"
    except (KeyError, TypeError, ValueError):
        raise InputError(path, "camera lacks width/height") from None


def compute_stats(root: str | os.PathLike, max_meta: int | None = None) -> dict:
    """Counts of a format-v1 dataset (JSON-serializable dict).

    root : dataset folder. max_meta : read the ``meta.json`` of at most this many query
    samples (evenly spaced in the index) to find the query resolutions; None = all, 0 = none.

    Returns a dict with
    - ``samples``, ``anomalous``, ``normal``, ``shapes`` (distinct shapes of query samples);
    - ``by_type``: {type: {"shapes", "images", "views_per_shape": {"min", "max", "median"} | None}}
      for the five anomaly types (always present, in paper order) and any other type seen;
    - ``anomalous_all`` (views per shape and type) and ``normals``: the same three keys;
    - ``by_split``: {split: {"images", "anomalous", "normal", "shapes", "split_shapes", "scenes"}},
      ``split_shapes`` = shapes listed in splits.json;
    - ``reference``: {"shapes", "views_per_shape", "resolutions"}; ``resolutions``:
      {"query": {"WxH": images}, "reference": {"WxH": shapes}} (query counts cover the
      ``meta_read`` samples read);
    - ``scenes``: {"count", "anomalous", "normal", "by_type", "by_split"};
    - ``format_version``, ``generator_version``, ``seed`` from dataset.json.
    """
    root = Path(root)
    info = read_json(root / F.DATASET_JSON)
    sp = root / F.SPLITS_JSON
    splits = read_json(sp) if sp.is_file() else {}
    rows = read_index(root)
    queries = [r for r in rows if r.get("kind", "query") == "query"]
    scenes = [r for r in rows if r.get("kind") == "scene"]

    by_type_rows: dict[str, list[dict]] = defaultdict(list)
    for r in queries:
        if int(r.get("label", 0)):
            by_type_rows[r.get("anomaly_type") or "unknown"].append(r)
    types = list(F.ANOMALY_TYPES) + sorted(t for t in by_type_rows if t not in F.ANOMALY_TYPES)
    by_type = {t: _group(by_type_rows.get(t, [])) for t in types}
    anomalous = [r for r in queries if int(r.get("label", 0))]
    normals = [r for r in queries if not int(r.get("label", 0))]
    pair_counts = Counter((r["shape_id"], r.get("anomaly_type")) for r in anomalous)
    anomalous_all = {
        "shapes": len({r["shape_id"] for r in anomalous}),
        "images": len(anomalous),
        "views_per_shape": _spread(pair_counts.values()),
    }

    split_names = list(F.SPLITS) + sorted(
        {str(r.get("split")) for r in rows if r.get("split") not in F.SPLITS} | (set(splits) - set(F.SPLITS))
    )
    by_split = {}
    for s in split_names:
        q = [r for r in queries if str(r.get("split")) == s]
        by_split[s] = {
            "images": len(q),
            "anomalous": sum(int(r.get("label", 0)) for r in q),
            "normal": sum(1 - int(r.get("label", 0)) for r in q),
            "shapes": len({r["shape_id"] for r in q}),
            "split_shapes": len(splits.get(s, [])) if isinstance(splits.get(s), list) else 0,
            "scenes": sum(1 for r in scenes if str(r.get("split")) == s),
        }

    # query resolutions from meta.json (no image decoded)
    picked = queries
    if max_meta is not None and len(queries) > max_meta:
        step = len(queries) / max_meta if max_meta else 0
        picked = [queries[int(i * step)] for i in range(max_meta)]
    query_res: Counter = Counter()
    for r in picked:
        mp = root / r.get("path", f"{F.SAMPLES_DIR}/{r['id']}") / F.META_JSON
        query_res[_resolution(read_json(mp), mp)] += 1

    # reference shapes: views per shape and resolution from cameras.json
    ref_views, ref_res = [], Counter()
    shapes_dir = root / F.SHAPES_DIR
    if shapes_dir.is_dir():
        for d in sorted(p for p in shapes_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
            cp = d / F.VIEWS_DIR / F.CAMERAS_JSON
            if not cp.is_file():
                continue
            cams = read_json(cp)
            ref_views.append(len(cams))
            if cams:
                ref_res[f"{int(cams[0]['width'])}x{int(cams[0]['height'])}"] += 1

    scene_types = Counter(r.get("anomaly_type") or "normal" for r in scenes)
    return {
        "root": str(root),
        "format_version": info.get("format_version"),
        "generator_version": info.get("generator_version"),
        "seed": info.get("seed"),
        "samples": len(queries),
        "anomalous": len(anomalous),
        "normal": len(normals),
        "shapes": len({r["shape_id"] for r in queries}),
        "by_type": by_type,
        "anomalous_all": anomalous_all,
        "normals": _group(normals),
        "by_split": by_split,
        "reference": {
            "shapes": len(ref_views),
            "views_per_shape": _spread(ref_views),
            "resolutions": {"query": dict(sorted(query_res.items())), "reference": dict(sorted(ref_res.items()))},
            "meta_read": len(picked),
        },
        "scenes": {
            "count": len(scenes),
            "anomalous": sum(int(r.get("label", 0)) for r in scenes),
            "normal": sum(1 - int(r.get("label", 0)) for r in scenes),
            "by_type": dict(sorted(scene_types.items())),
            "by_split": {s: by_split[s]["scenes"] for s in split_names},
        },
    }


def _fmt_spread(v: dict | None) -> str:
    if v is None:
        return "-"
    med = v["median"]
    med = f"{med:g}" if isinstance(med, float) else str(med)
    return f"[{v['min']}, {v['max']}, {med}]"


def _fmt_res(res: dict) -> str:
    return ", ".join(f"{k} ({v})" for k, v in res.items()) or "-"


def format_table(stats: dict) -> str:
    """A fixed-width text table of ``compute_stats`` output, laid out like the paper's Table 1."""
    lines = [
        f"dataset {stats['root']} (format v{stats['format_version']}, generator {stats['generator_version']}, "
        f"seed {stats['seed']})",
        "",
        f"{'type':<12}{'shapes':>9}{'images':>9}   views per shape [min, max, median]",
    ]
    for t, g in stats["by_type"].items():
        lines.append(f"{t:<12}{g['shapes']:>9,}{g['images']:>9,}   {_fmt_spread(g['views_per_shape'])}")
    a, n = stats["anomalous_all"], stats["normals"]
    lines.append("-" * 64)
    lines.append(f"{'anomalous':<12}{a['shapes']:>9,}{a['images']:>9,}   {_fmt_spread(a['views_per_shape'])}"
                 "  (per shape and type)")
    lines.append(f"{'normal':<12}{n['shapes']:>9,}{n['images']:>9,}   {_fmt_spread(n['views_per_shape'])}")
    lines.append(f"{'total':<12}{stats['shapes']:>9,}{stats['samples']:>9,}")
    lines += ["", f"{'split':<12}{'images':>9}{'anomal.':>9}{'normal':>9}{'shapes':>9}{'listed':>9}{'scenes':>9}"]
    for s, g in stats["by_split"].items():
        lines.append(f"{s:<12}{g['images']:>9,}{g['anomalous']:>9,}{g['normal']:>9,}{g['shapes']:>9,}"
                     f"{g['split_shapes']:>9,}{g['scenes']:>9,}")
    ref = stats["reference"]
    lines += [
        "",
        f"reference shapes: {ref['shapes']:,}, views per shape {_fmt_spread(ref['views_per_shape'])}",
        f"resolution: query {_fmt_res(ref['resolutions']['query'])}; reference {_fmt_res(ref['resolutions']['reference'])}"
        + (f"  (query: {ref['meta_read']:,} of {stats['samples']:,} samples read)"
           if ref["meta_read"] != stats["samples"] else ""),
    ]
    sc = stats["scenes"]
    if sc["count"]:
        types = ", ".join(f"{k} {v:,}" for k, v in sc["by_type"].items())
        lines.append(f"scenes (Odd-One-Out): {sc['count']:,} ({sc['anomalous']:,} with an anomaly; {types})")
    return "\n".join(lines) + "\n"
