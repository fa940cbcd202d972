"""Corrupt a whole shape library: every shape x type x k, resumable, refusals counted apart.

For shape ``s``, type ``t`` and ``k < per_shape`` the rng is
``datagen.seeding.rng_for(seed, s, t, k)``, so a result depends only on (seed, shape,
type, k), not on order, sharding or which outputs already exist. Outputs go to
``<out>/<s>__<t>__<k>/`` (``output.write_corrupted``); an existing folder is skipped
(folders are written atomically, so an existing one is complete). A refusal is expected
(e.g. no donor, a part too small): it goes to ``<out>/refusals.jsonl``, not to
``failures.jsonl`` (bad input files, bugs). A donor shape that fails to load is left out of
the donor pool (its own items report the error).
"""

from __future__ import annotations

import os
from pathlib import Path

from datagen.batch import DONE, SKIPPED, Summary, run_batch
import datagen.corrupt.registry as registry
from datagen.corrupt.api import corrupt
from datagen.corrupt.output import RECORD_FILE, corrupted_id, write_corrupted
from datagen.corrupt.registry import TYPES
from datagen.errors import InputError
from datagen.io import read_json
from datagen.seeding import rng_for, stable_seed
from datagen.shapes.library import PARTS_JSON, list_shapes, read_shape
from datagen.shapes.model import Part
from datagen.shapes.objio import read_obj


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


def corrupt_library(
    shapes_root: str | os.PathLike,
    out: str | os.PathLike,
    types: tuple[str, ...] = TYPES,
    per_shape: int = 1,
    seed: int = 0,
    options: dict | None = None,
    max_faces: int | None = None,
    attempts: int = 3,
    progress: bool = True,
) -> Summary:
    """Corrupt every shape of ``shapes_root`` into ``out``; returns the batch ``Summary``
    (``by_group`` per type; refusals in ``out/refusals.jsonl``, failures in ``out/failures.jsonl``).

    options : type -> {field: value} overrides of that type's ``Params`` / ``Thresholds``.
    """
    for t in types:
        if t not in TYPES:
            raise ValueError(f"--types: unknown corruption type {t!r}; expected some of {', '.join(TYPES)}")
    if per_shape < 0:
        raise ValueError(f"--per-shape={per_shape}: must be >= 0")
    configured = {t: registry.get(t).configure((options or {}).get(t)) for t in types}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    folders = list_shapes(shapes_root)
    donors = LibraryDonors(folders, max_faces=max_faces)
    items = [(f, t, k) for f in folders for t in types for k in range(per_shape)]
    cache: dict[str, object] = {}

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
            return SKIPPED
        shape = load(folder)
        if shape.id != folder.name and (out / corrupted_id(shape.id, kind, k) / RECORD_FILE).is_file():
            return SKIPPED
        params, thresholds = configured[kind]
        corrupted, record = corrupt(
            shape, kind, rng_for(seed, shape.id, kind, k), params=params, donors=donors,
            thresholds=thresholds, seed=stable_seed(seed, shape.id, kind, k), attempts=attempts,
        )
        write_corrupted(out, shape, corrupted, record, k)
        return DONE

    return run_batch(
        items, one, desc="corrupt", failures_path=out / "failures.jsonl", refusals_path=out / "refusals.jsonl",
        name=lambda it: corrupted_id(it[0].name, it[1], it[2]),
        describe=lambda it: {"shape_id": it[0].name, "type": it[1], "k": it[2]},
        group=lambda it: it[1], progress=progress,
    )
