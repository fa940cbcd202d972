"""The output folder of an export: empty, or one of our earlier exports of the same dataset (resume)."""

from __future__ import annotations

from pathlib import Path

from datagen.errors import InputError
from datagen.io import read_json


def previous_export(out: Path, marker_name: str, marker_format: str, fingerprint: str) -> dict | None:
    """The marker dict of our earlier export in ``out`` (format ``marker_format``, same source dataset
    ``fingerprint``), or None when ``out`` is absent or empty. Anything else: ``InputError`` naming it
    (a non-empty foreign folder, another kind of export, another dataset). The caller checks its options."""
    if not out.exists():
        return None
    if not out.is_dir():
        raise InputError(out, "exists and is not a folder")
    if not any(out.iterdir()):
        return None
    marker = out / marker_name
    if not marker.is_file():
        raise InputError(out, f"folder is not empty and holds no {marker_name} (not a previous export): choose an empty --out")
    m = read_json(marker)
    if not isinstance(m, dict) or m.get("format") != marker_format:
        raise InputError(marker, f"not a {marker_format} marker (another kind of export): choose another --out")
    if m.get("source_fingerprint") != fingerprint:
        raise InputError(marker, f"a previous export of another dataset ({m.get('source')}): choose another --out")
    return m
