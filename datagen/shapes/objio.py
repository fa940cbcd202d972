"""Minimal, strict Wavefront OBJ I/O for part meshes (``v`` and ``f`` records).

Written files are byte-stable: coordinates are printed with ``%.9g`` so that the same
mesh always gives the same bytes (determinism tests compare them). The reader accepts
``f v``, ``f v/vt``, ``f v//vn``, ``f v/vt/vn``, negative (relative) indices, polygons
(triangulated as fans) and ``g``/``o`` groups; anything malformed raises ``InputError``
naming the file and the line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datagen.errors import InputError
from datagen.io import atomic_write_text


def format_obj(vertices: np.ndarray, faces: np.ndarray, header: str | None = None) -> str:
    """OBJ text for ``vertices`` (n, 3) float and ``faces`` (k, 3) int (0-based)."""
    v = np.asarray(vertices, dtype=np.float64).reshape(-1, 3)
    f = np.asarray(faces, dtype=np.int64).reshape(-1, 3) + 1
    lines = [f"# {header}"] if header else []
    lines += ["v %.9g %.9g %.9g" % tuple(row) for row in v.tolist()]
    lines += ["f %d %d %d" % tuple(row) for row in f.tolist()]
    return "\n".join(lines) + "\n"


def write_obj(path: str | os.PathLike, vertices: np.ndarray, faces: np.ndarray, header: str | None = None) -> Path:
    """Atomically write a triangle mesh as OBJ."""
    return atomic_write_text(path, format_obj(vertices, faces, header))


@dataclass
class ObjData:
    """vertices : (n, 3) float64; faces : (k, 3) int64 (0-based); groups : (k,) names."""

    vertices: np.ndarray
    faces: np.ndarray
    groups: list[str]


def _fast_parse(text: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(vertices, 0-based faces) for the common case, parsed with numpy string splitting:
    ``v x y z`` and triangle ``f`` records with plain or ``a/b/c`` indices, no groups.
    None when the file needs the strict line-by-line reader (groups, polygons, negative or
    out-of-range indices, vertex colours, malformed records); both give the same arrays."""
    vlines = []
    flines = []
    for line in text.splitlines():
        if line.startswith("v "):
            vlines.append(line[2:])
        elif line.startswith("f "):
            flines.append(line[2:])
        elif line.startswith(("g ", "o ")):
            return None
    try:
        v = np.array(" ".join(vlines).split(), dtype=np.float64)
    except ValueError:
        return None
    if v.size != 3 * len(vlines):
        return None
    v = v.reshape(-1, 3)
    if not flines:
        return v, np.zeros((0, 3), dtype=np.int64)
    tokens = " ".join(flines).split()
    if len(tokens) != 3 * len(flines):  # polygons: the strict reader fans them
        return None
    if "/" in flines[0]:
        tokens = [t.split("/", 1)[0] for t in tokens]
    try:
        f = np.array(tokens, dtype=np.int64).reshape(-1, 3)
    except ValueError:
        return None
    if f.size and (f.min() < 1 or f.max() > len(v)):
        return None
    return v, f - 1


def read_obj(path: str | os.PathLike, max_faces: int | None = None) -> ObjData:
    """Read an OBJ file's geometry. Raises ``InputError`` on any malformed record."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except OSError as e:
        raise InputError(path, f"cannot read: {e.strerror}") from None
    fast = _fast_parse(text)
    if fast is not None:
        v, f = fast
        if max_faces is not None and len(f) > max_faces:
            raise InputError(path, f"mesh too large: more than {max_faces} faces (limit)")
        if not np.all(np.isfinite(v)):
            raise InputError(path, "non-finite vertex coordinates")
        return ObjData(v, f, [""] * len(f))
    verts: list[list[float]] = []
    faces: list[tuple[int, int, int]] = []
    groups: list[str] = []
    group = ""
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] == "#":
            continue
        tag, _, rest = line.partition(" ")
        if tag == "v":
            parts = rest.split()
            if len(parts) < 3:
                raise InputError(path, f"line {lineno}: vertex needs 3 coordinates: {raw!r}")
            try:
                verts.append([float(parts[0]), float(parts[1]), float(parts[2])])
            except ValueError:
                raise InputError(path, f"line {lineno}: bad vertex coordinates: {raw!r}") from None
        elif tag == "f":
            idx = []
            for tok in rest.split():
                s = tok.split("/", 1)[0]
                try:
                    i = int(s)
                except ValueError:
                    raise InputError(path, f"line {lineno}: bad face index {tok!r}") from None
                if i == 0:
                    raise InputError(path, f"line {lineno}: face index 0 (OBJ indices start at 1)")
                idx.append(i - 1 if i > 0 else len(verts) + i)
            if len(idx) < 3:
                raise InputError(path, f"line {lineno}: face needs at least 3 vertices: {raw!r}")
            for k in range(1, len(idx) - 1):
                faces.append((idx[0], idx[k], idx[k + 1]))
                groups.append(group)
            if max_faces is not None and len(faces) > max_faces:
                raise InputError(path, f"mesh too large: more than {max_faces} faces (limit)")
        elif tag in ("g", "o"):
            group = rest.strip()
    v = np.array(verts, dtype=np.float64).reshape(-1, 3)
    f = np.array(faces, dtype=np.int64).reshape(-1, 3)
    if len(f) and (f.min() < 0 or f.max() >= len(v)):
        raise InputError(path, f"face index out of range (file has {len(v)} vertices)")
    if not np.all(np.isfinite(v)):
        raise InputError(path, "non-finite vertex coordinates")
    return ObjData(v, f, groups)
