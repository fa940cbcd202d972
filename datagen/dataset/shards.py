"""Shard files of a packed dataset (``datagen pack``): records of named arrays in one file, read
through a memory map, each array checked by CRC-32 when it is read.

Layout of a shard (``<split>-NNNNN.a3dp``)::

    data    the encoded arrays of every record, back to back, each at a 64-byte aligned offset
    footer  JSON, utf-8: {"format": "anomaly3d-shard", "version": 1, "records": [record, ...]}
    tail    16 bytes: the footer's length (uint64, little-endian) + the magic b"A3DSHRD1"

A record is a JSON object (``kind``, ``key`` and any small fields) whose ``arrays`` maps a name to
``[offset, nbytes, codec, dtype, shape, crc32]``. The footer comes last so that a writer streams:
records go straight to disk, only their descriptors stay in memory until the shard is closed.

Codecs: ``raw`` (the array's C-order bytes; read without a copy from the map), ``png`` / ``webp``
(lossless images, uint8 (H, W) or (H, W, 3)), ``zlib`` (bytes shuffled by significance, then
deflated: float depth compresses about 2x better than plain deflate), all lossless; and
``webp-qNN`` (lossy WebP at quality NN, RGB images only).
"""

from __future__ import annotations

import io
import json
import os
import struct
import tempfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from datagen.errors import InputError

MAGIC = b"A3DSHRD1"
SHARD_FORMAT = "anomaly3d-shard"
SHARD_VERSION = 1
SUFFIX = ".a3dp"
ALIGN = 64
CODECS = ("raw", "png", "webp", "zlib", "webp-qNN")
_TAIL = struct.Struct("<Q8s")


def encode(array: np.ndarray, codec: str) -> bytes:
    """array -> bytes in ``codec`` (lossless). Image codecs take uint8 (H, W) or (H, W, 3)."""
    a = np.ascontiguousarray(array)
    if codec == "raw":
        return a.tobytes()
    if codec == "zlib":
        shuffled = a.view(np.uint8).reshape(-1, a.dtype.itemsize).T  # byte planes: sign/exponent apart from mantissa
        return zlib.compress(np.ascontiguousarray(shuffled).tobytes(), 6)
    if codec in ("png", "webp") or codec.startswith("webp-q"):
        if a.dtype != np.uint8 or not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] == 3)):
            raise ValueError(f"{codec} stores uint8 (H, W) or (H, W, 3) images, got {a.dtype} {a.shape}")
        buf = io.BytesIO()
        rgb = a if a.ndim == 3 else np.repeat(a[..., None], 3, -1)  # WebP has no gray mode: read back as one channel
        if codec == "png":
            Image.fromarray(a).save(buf, "PNG", compress_level=6)
        elif codec == "webp":
            Image.fromarray(rgb).save(buf, "WEBP", lossless=True, quality=80, method=4)
        else:
            Image.fromarray(rgb).save(buf, "WEBP", quality=int(codec[6:]), method=6)
        return buf.getvalue()
    raise ValueError(f"unknown codec {codec!r}; choose from {', '.join(CODECS)}")


def decode(buf, codec: str, dtype: str, shape: tuple) -> np.ndarray:
    """bytes (or a memory-map slice) in ``codec`` -> array of ``dtype`` and ``shape`` (read-only for raw)."""
    if codec == "raw":
        return np.frombuffer(buf, dtype=dtype).reshape(shape)
    if codec == "zlib":
        itemsize = np.dtype(dtype).itemsize
        planes = np.frombuffer(zlib.decompress(buf), np.uint8).reshape(itemsize, -1)
        return np.ascontiguousarray(planes.T).view(dtype).reshape(shape)
    with Image.open(io.BytesIO(buf)) as img:
        a = np.asarray(img)
    if len(shape) == 2 and a.ndim == 3:
        a = a[..., 0]
    if a.shape != tuple(shape):
        raise ValueError(f"decoded {a.shape}, expected {tuple(shape)}")
    return a


class ShardWriter:
    """Write one shard: ``add`` records, then ``close`` (footer, then rename into place). Written to
    a temporary file beside ``path``; ``abort`` (or an exception inside ``with``) removes it."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        self.tmp = Path(tmp)
        self.file = os.fdopen(fd, "wb")
        self.records: list[dict] = []
        self.nbytes = 0

    def add(self, kind: str, key: str, fields: dict, arrays: dict[str, tuple[np.ndarray, str]]) -> None:
        """One record: ``fields`` (JSON-serializable) and ``arrays`` {name: (array, codec)}."""
        desc = {}
        for name, (array, codec) in arrays.items():
            data = encode(array, codec)
            pad = -self.nbytes % ALIGN
            self.file.write(b"\0" * pad + data)
            self.nbytes += pad
            desc[name] = [self.nbytes, len(data), codec, np.dtype(array.dtype).str, list(array.shape), zlib.crc32(data)]
            self.nbytes += len(data)
        self.records.append({"kind": kind, "key": key, **fields, "arrays": desc})

    def close(self) -> int:
        """Write the footer, rename the file into place; returns its size in bytes."""
        footer = json.dumps({"format": SHARD_FORMAT, "version": SHARD_VERSION, "records": self.records},
                            separators=(",", ":")).encode("utf-8")
        self.file.write(footer + _TAIL.pack(len(footer), MAGIC))
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        os.chmod(self.tmp, 0o644)  # (mkstemp made it private)
        os.replace(self.tmp, self.path)
        return self.path.stat().st_size

    def abort(self) -> None:
        self.file.close()
        self.tmp.unlink(missing_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.abort()


class ShardReader:
    """Read a shard: ``records`` from the footer (checked on opening), ``array(record, name)``
    through a memory map opened on first use (not pickled: each DataLoader worker maps its own).
    Any damage raises ``InputError`` naming the file, one line."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._map = None
        try:
            size = self.path.stat().st_size
            with open(self.path, "rb") as f:
                if size < _TAIL.size:
                    raise ValueError("shorter than its tail")
                f.seek(size - _TAIL.size)
                n, magic = _TAIL.unpack(f.read(_TAIL.size))
                if magic != MAGIC:
                    raise ValueError("no shard tail (truncated or not a shard)")
                if n > size - _TAIL.size:
                    raise ValueError("footer length past the start of the file")
                f.seek(size - _TAIL.size - n)
                footer = json.loads(f.read(n))
        except FileNotFoundError:
            raise InputError(self.path, "shard not found") from None
        except (OSError, ValueError, UnicodeDecodeError) as e:  # json.JSONDecodeError is a ValueError
            raise InputError(self.path, f"corrupted shard: {e}") from None
        if not isinstance(footer, dict) or footer.get("format") != SHARD_FORMAT or footer.get("version") != SHARD_VERSION:
            raise InputError(self.path, f"not a {SHARD_FORMAT} v{SHARD_VERSION} file")
        self.data_bytes = size - _TAIL.size - n
        self.records: list[dict] = footer["records"]
        for r in self.records:
            for name, (off, nb, *_rest) in r["arrays"].items():
                if off < 0 or off + nb > self.data_bytes:
                    raise InputError(self.path, f"corrupted shard: {r['key']} {name} lies past the data")

    def __getstate__(self):
        return {**self.__dict__, "_map": None}

    def array(self, record: dict, name: str) -> np.ndarray:
        """The decoded array ``name`` of ``record`` (a record of this shard's ``records``)."""
        off, nb, codec, dtype, shape, crc = record["arrays"][name]
        if self._map is None:
            self._map = np.memmap(self.path, np.uint8, "r", shape=(self.data_bytes,)) if self.data_bytes else np.zeros(0, np.uint8)
        buf = self._map[off : off + nb]
        if zlib.crc32(buf) != crc:
            raise InputError(self.path, f"corrupted shard: {record['key']} {name}: checksum mismatch")
        try:
            return decode(buf, codec, dtype, tuple(shape))
        except (OSError, ValueError, zlib.error) as e:
            raise InputError(self.path, f"corrupted shard: {record['key']} {name}: {e}") from None
