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
from pathlib import Path

import datagen.dataset.format as F
from datagen.dataset.manifest import MANIFEST_JSON, check_files, read_manifest
from datagen.dataset.verify_checks import Problems, check_reference, check_sample, check_scene, load_json_object
from datagen.dataset.writer import count_rows
from datagen.errors import InputError

ROW_KEYS = ("id", "kind", "shape_id", "split", "label", "anomaly_type", "path")


def _check_temp(root: Path, out: Problems) -> None:
    for sub in (None, F.SAMPLES_DIR, F.SHAPES_DIR, F.SCENES_DIR):
        d = root if sub is None else root / sub
        if not d.is_dir():
            continue
        for p in sorted(d.iterdir()):
            if p.name.startswith(".") and (p.name.endswith(".tmp") or p.name.endswith(".old")):
                kind = "folder" if p.is_dir() else "file"
                out.add(p, f"leftover temporary {kind} from an interrupted write (delete it)")


def _check_info(root: Path, rows: list[dict] | None, out: Problems) -> None:
    p = root / F.DATASET_JSON
    if not p.is_file():
        out.add(p, "missing: not a dataset root")
        return
    info = load_json_object(p, out)
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


def _read_rows(root: Path, out: Problems) -> list[dict] | None:
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


def _check_splits(root: Path, rows: list[dict], out: Problems) -> None:
    p = root / F.SPLITS_JSON
    if not p.is_file():
        out.add(p, "missing")
        return
    splits = load_json_object(p, out)
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


class _Integrity:
    """Checks folders against their manifest.json; ``on`` False checks nothing."""

    def __init__(self, on: bool, digests: bool, out: Problems, warnings: list | None):
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
    out = Problems()
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
        sid = check_sample(root, r, pixels, out)
        integrity.folder(root / r["path"])
        if sid is not None:
            shape_ids.add(sid)
    on_disk = set()
    if (root / F.SHAPES_DIR).is_dir():
        on_disk = {p.name for p in (root / F.SHAPES_DIR).iterdir() if p.is_dir() and not p.name.startswith(".")}
    for sid in sorted(shape_ids | on_disk, key=str):
        check_reference(root, str(sid), pixels, out)
        integrity.folder(root / F.SHAPES_DIR / str(sid))
    for r in rows:
        if r["kind"] == "scene":
            check_scene(root, r, pixels, out)
            integrity.folder(root / r["path"])
    integrity.root(root)
    return list(out)
