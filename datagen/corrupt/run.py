"""Corrupt a whole shape library: every shape x type x k, resumable, refusals counted apart.

For shape ``s``, type ``t`` and ``k < per_shape`` the rng is
``datagen.seeding.rng_for(seed, s, t, k)``, so a result depends only on (seed, shape,
type, k), not on order, sharding or which outputs already exist. Outputs go to
``<out>/<s>__<t>__<k>/`` (``output.write_corrupted``); an existing folder is skipped
(folders are written atomically, so an existing one is complete). A refusal is expected
(e.g. no donor, a part too small): it goes to ``<out>/refusals.jsonl``, not to
``failures.jsonl`` (bad input files, bugs).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from datagen.batch import SKIPPED, run_batch
from datagen.corrupt.base import TYPES, corrupt
from datagen.corrupt.checks import Thresholds
from datagen.corrupt.output import RECORD_FILE, corrupted_id, write_corrupted
from datagen.errors import InputError, Refused
from datagen.io import atomic_write_text, read_json
from datagen.seeding import rng_for, stable_seed
from datagen.shapes.library import PARTS_JSON, list_shapes, read_shape
from datagen.shapes.model import Part
from datagen.shapes.objio import read_obj

REFUSED = "refused"


class LibraryDonors:
    """``label -> [(shape_id, Part)]`` over a shape library, loaded lazily, once per label.

    Only ``parts.json`` of every shape is read up front (on the first call); the OBJ files
    of a label's parts are read the first time that label is asked for. Shapes or parts
    that fail to load are left out (their own items report the error).
    """

    def __init__(self, folders: list[Path], max_faces: int | None = None):
        self.folders = list(folders)
        self.max_faces = max_faces
        self._entries: list[tuple[str, Path, dict]] | None = None
        self._by_label: dict[str, list[tuple[str, Part]]] = {}

    def _index(self) -> list[tuple[str, Path, dict]]:
        if self._entries is None:
            entries = []
            for folder in self.folders:
                try:
                    info = read_json(folder / PARTS_JSON)
                    for e in info["parts"]:
                        entries.append((str(info["shape_id"]), folder, e))
                except (InputError, KeyError, TypeError):
                    continue
            self._entries = entries
        return self._entries

    def __call__(self, label: str) -> list[tuple[str, Part]]:
        if label not in self._by_label:
            found = []
            for sid, folder, e in self._index():
                if not isinstance(e, dict) or e.get("label") != label:
                    continue
                try:
                    data = read_obj(folder / e["obj"], max_faces=self.max_faces)
                    if len(data.faces):
                        found.append((sid, Part(e["name"], label, data.vertices, data.faces, e.get("path", ""))))
                except (InputError, KeyError, TypeError, ValueError):
                    continue
            self._by_label[label] = found
        return self._by_label[label]


@dataclass
class CorruptSummary:
    done: int = 0
    skipped: int = 0
    refused: int = 0
    failed: int = 0
    failures_path: str | None = None
    refusals_path: str | None = None
    refusals: list = field(default_factory=list)
    by_type: dict = field(default_factory=dict)  # type -> {"done", "refused", "failed", "skipped"}

    def line(self) -> str:
        s = f"corruptions: done {self.done}, skipped {self.skipped}, refused {self.refused}, failed {self.failed}"
        extra = []
        if self.refused and self.refusals_path:
            extra.append(f"refusals in {self.refusals_path}")
        if self.failed and self.failures_path:
            extra.append(f"failures in {self.failures_path}")
        return s + (f" ({'; '.join(extra)})" if extra else "")


def corrupt_library(
    shapes_root: str | os.PathLike,
    out: str | os.PathLike,
    types: tuple[str, ...] = TYPES,
    per_shape: int = 1,
    seed: int = 0,
    params: dict | None = None,
    thresholds: Thresholds | None = None,
    max_faces: int | None = None,
    attempts: int = 3,
    progress: bool = True,
) -> CorruptSummary:
    """Corrupt every shape of ``shapes_root`` into ``out``; returns the counts.

    params : type -> that type's ``Params`` (defaults for missing types).
    """
    for t in types:
        if t not in TYPES:
            raise ValueError(f"--types: unknown corruption type {t!r}; expected some of {', '.join(TYPES)}")
    if per_shape < 0:
        raise ValueError(f"--per-shape={per_shape}: must be >= 0")
    params = dict(params or {})
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    folders = list_shapes(shapes_root)
    donors = LibraryDonors(folders, max_faces=max_faces)
    items = [(f, t, k) for f in folders for t in types for k in range(per_shape)]
    cache: dict[str, object] = {}
    summary = CorruptSummary(by_type={t: {"done": 0, "skipped": 0, "refused": 0, "failed": 0} for t in types})

    def load(folder: Path):
        key = str(folder)
        if key not in cache:
            cache.clear()  # items are grouped by shape: keep one
            try:
                cache[key] = read_shape(folder, max_faces=max_faces)
            except InputError as e:
                cache[key] = e
        value = cache[key]
        if isinstance(value, Exception):
            raise value
        return value

    def one(item) -> str:
        folder, kind, k = item
        if (out / corrupted_id(folder.name, kind, k) / RECORD_FILE).is_file():
            summary.by_type[kind]["skipped"] += 1
            return SKIPPED
        shape = load(folder)
        if shape.id != folder.name and (out / corrupted_id(shape.id, kind, k) / RECORD_FILE).is_file():
            summary.by_type[kind]["skipped"] += 1
            return SKIPPED
        s = stable_seed(seed, shape.id, kind, k)
        try:
            corrupted, record = corrupt(
                shape, kind, rng_for(seed, shape.id, kind, k), params=params.get(kind), donors=donors,
                thresholds=thresholds, seed=s, attempts=attempts,
            )
        except Refused as e:
            summary.refusals.append({"item": name(item), "shape_id": shape.id, "type": kind, "k": k, "reason": str(e)})
            summary.by_type[kind]["refused"] += 1
            return REFUSED
        write_corrupted(out, shape, corrupted, record, k)
        summary.by_type[kind]["done"] += 1
        return "done"

    def counted(item) -> str:
        try:
            return one(item)
        except Exception:
            summary.by_type[item[1]]["failed"] += 1
            raise

    def name(item) -> str:
        folder, kind, k = item
        return corrupted_id(folder.name, kind, k)

    b = run_batch(items, counted, desc="corrupt", failures_path=out / "failures.jsonl", name=name, progress=progress)
    summary.skipped = b.skipped
    summary.failed = b.failed
    summary.failures_path = b.failures_path
    summary.refused = len(summary.refusals)
    summary.done = b.done - summary.refused  # run_batch counts every non-skip return as done
    refusals_path = out / "refusals.jsonl"
    if summary.refusals:
        atomic_write_text(refusals_path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in summary.refusals))
        summary.refusals_path = str(refusals_path)
    elif refusals_path.exists():
        refusals_path.unlink()
    return summary
