"""Checksums of a dataset's files (``manifest.json``), written with the files, checked by ``verify``.

Every sample / reference shape / scene folder holds a ``manifest.json`` written inside the folder
before its atomic rename, and the root holds one for ``dataset.json``, ``splits.json`` and
``index.jsonl`` (rewritten by ``DatasetWriter.finalize``)::

    {"rgb.png": {"blake2b": "<128 hex digits>", "bytes": 48213}, "views/0000.png": {...}, ...}

Keys are paths relative to the folder (``/`` separators), every file of the folder and its
subfolders except ``manifest.json`` itself. The digest is BLAKE2b-512 (``hashlib.blake2b()``;
``b2sum FILE`` prints the same hex digits).

    fw = FolderWriter(tmp)                 # inside an atomic_dir block
    fw.write("rgb.png", png_bytes)         # writes the file, hashes the bytes it was given
    fw.save()                              # files written by others are hashed from disk, then manifest.json
    problems = check_folder(folder, digests=True)   # [(path, problem)]; None if there is no manifest
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import datagen.dataset.format as F
from datagen.errors import InputError
from datagen.io import dumps_json, read_json

ALGORITHM = F.CHECKSUMS
MANIFEST_JSON = F.MANIFEST_JSON
_CHUNK = 1 << 20


def entry(data: bytes) -> dict:
    """``{"blake2b": hex, "bytes": n}`` of ``data``."""
    return {ALGORITHM: hashlib.blake2b(data).hexdigest(), "bytes": len(data)}


def file_entry(path: str | os.PathLike) -> dict:
    """``entry`` of a file on disk, read in 1 MiB chunks."""
    h = hashlib.blake2b()
    n = 0
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
            n += len(chunk)
    return {ALGORITHM: h.hexdigest(), "bytes": n}


def files_of(folder: Path) -> list[str]:
    """Relative posix paths of every file under ``folder`` except its manifest, sorted."""
    out = []
    for dirpath, _, names in os.walk(folder):
        for name in names:
            rel = (Path(dirpath) / name).relative_to(folder).as_posix()
            if rel != MANIFEST_JSON:
                out.append(rel)
    return sorted(out)


class FolderWriter:
    """Writes files into ``folder`` and records their digests from the bytes written (no re-read)."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.files: dict[str, dict] = {}

    def write(self, rel: str, data: bytes) -> Path:
        """Write ``data`` to ``folder/rel`` (parents created) and record its digest."""
        path = self.folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.files[Path(rel).as_posix()] = entry(data)
        return path

    def save(self) -> dict:
        """Hash the files not written through ``write`` (from disk), write ``manifest.json``; return it."""
        for rel in files_of(self.folder):
            if rel not in self.files:
                self.files[rel] = file_entry(self.folder / rel)
        manifest = dict(sorted(self.files.items()))
        (self.folder / MANIFEST_JSON).write_text(dumps_json(manifest), encoding="utf-8")
        return manifest


def write_manifest(folder: str | os.PathLike) -> dict:
    """Write ``folder/manifest.json`` for files already on disk (for code that wrote them itself)."""
    return FolderWriter(folder).save()


def read_manifest(folder: str | os.PathLike) -> dict | None:
    """The manifest of ``folder``; None when it has none; ``InputError`` when it is unreadable."""
    path = Path(folder) / MANIFEST_JSON
    if not path.is_file():
        return None
    m = read_json(path)
    if not isinstance(m, dict) or not all(
            isinstance(v, dict) and isinstance(v.get(ALGORITHM), str) and isinstance(v.get("bytes"), int) for v in m.values()):
        raise InputError(path, f'not a manifest {{"<file>": {{"{ALGORITHM}": hex, "bytes": n}}}}')
    return m


def check_files(folder: Path, manifest: dict, digests: bool = True, extra: bool = True) -> list[tuple[Path, str]]:
    """``(path, problem)`` for every file of ``manifest`` that is missing, of another size or (``digests``)
    another content, and (``extra``) every file under ``folder`` the manifest does not list."""
    out = []
    for rel, want in sorted(manifest.items()):
        p = folder / rel
        try:
            size = p.stat().st_size
        except FileNotFoundError:
            out.append((p, f"missing (listed in {MANIFEST_JSON})"))
            continue
        except OSError as e:
            out.append((p, f"cannot read: {e.strerror}"))
            continue
        if size != want["bytes"]:
            how = "truncated" if size < want["bytes"] else "bytes added"
            out.append((p, f"{size} bytes, {MANIFEST_JSON} says {want['bytes']} ({how})"))
        elif digests:
            try:
                got = file_entry(p)[ALGORITHM]
            except OSError as e:
                out.append((p, f"cannot read: {e.strerror}"))
                continue
            if got != want[ALGORITHM]:
                out.append((p, f"content differs from {MANIFEST_JSON} ({ALGORITHM} digest; altered or corrupted)"))
    if extra:
        for rel in files_of(folder):
            if rel not in manifest:
                out.append((folder / rel, f"not listed in {MANIFEST_JSON} (added after the folder was written)"))
    return out


def check_folder(folder: str | os.PathLike, digests: bool = True) -> list[tuple[Path, str]] | None:
    """``check_files`` against the folder's own manifest; None when the folder has no manifest."""
    folder = Path(folder)
    m = read_manifest(folder)
    if m is None:
        return None
    return check_files(folder, m, digests=digests)
