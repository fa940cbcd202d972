"""A small reader for the OpenEXR files Blender writes (scanline, single part).

Blender renders each view to one multilayer EXR (``Combined``, ``Depth``, ``IndexOB``
passes, 32-bit float); this module reads it back into numpy without bpy or an OpenEXR
binding. Supported: scanline images, compression NONE, ZIPS (1 line per block) and ZIP
(16 lines per block); pixel types UINT, HALF, FLOAT. Tiled and deep files are refused.

Layout facts used (OpenEXR file format spec): magic 20000630, a version int (bit 9 =
tiled, bit 11 = deep, bit 12 = multipart), then ``name\\0 type\\0 size:int32 value``
attributes up to an empty name, then a table of uint64 chunk offsets, then chunks
``y:int32, size:int32, data``. Inside a chunk, scanlines follow each other; inside a
line, channels are stored one after another in alphabetical order. ZIP data is zlib,
then a delta predictor, then the two byte halves interleaved.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np

from datagen.errors import InputError

_MAGIC = 20000630
_PIXEL_DTYPES = {0: np.dtype("<u4"), 1: np.dtype("<f2"), 2: np.dtype("<f4")}
_LINES_PER_BLOCK = {0: 1, 2: 1, 3: 16}  # NONE, ZIPS, ZIP


def _read_attrs(buf: bytes, pos: int) -> tuple[dict, int]:
    """One header: attributes up to an empty name. Returns (attrs, position after it)."""
    attrs: dict = {}
    while True:
        end = buf.index(b"\0", pos)
        name = buf[pos:end].decode("ascii")
        pos = end + 1
        if not name:
            return attrs, pos
        end = buf.index(b"\0", pos)
        typ = buf[pos:end].decode("ascii")
        pos = end + 1
        (size,) = struct.unpack_from("<i", buf, pos)
        pos += 4
        attrs[name] = (typ, buf[pos : pos + size])
        pos += size


def _read_headers(buf: bytes, path) -> tuple[list[dict], int, bool]:
    """All part headers (one unless multipart), the position after them, multipart flag."""
    magic, version = struct.unpack_from("<ii", buf, 0)
    if magic != _MAGIC:
        raise InputError(path, "not an OpenEXR file")
    if version & (0x200 | 0x800):
        raise InputError(path, "tiled or deep EXR is not supported")
    multipart = bool(version & 0x1000)
    pos = 8
    headers = []
    while True:
        attrs, pos = _read_attrs(buf, pos)
        headers.append(attrs)
        if not multipart or buf[pos] == 0:
            return headers, pos + (1 if multipart else 0), multipart


def _channels(raw: bytes) -> list[tuple[str, int]]:
    out = []
    pos = 0
    while raw[pos] != 0:
        end = raw.index(b"\0", pos)
        name = raw[pos:end].decode("utf-8")
        (ptype,) = struct.unpack_from("<i", raw, end + 1)
        out.append((name, ptype))
        pos = end + 1 + 16  # pixel type, pLinear + 3 reserved bytes, xSampling, ySampling
    return out


def _unzip(data: bytes, expected: int) -> bytes:
    raw = np.frombuffer(zlib.decompress(data), dtype=np.uint8)
    if raw.size != expected:
        raise ValueError("bad ZIP block size")
    # undo the predictor: t[i] = t[i-1] + d[i] - 128 (mod 256)
    t = (np.cumsum(np.concatenate([[int(raw[0])], raw[1:].astype(np.int64) - 128])) & 0xFF).astype(np.uint8)
    half = (t.size + 1) // 2
    out = np.empty_like(t)
    out[0::2] = t[:half]
    out[1::2] = t[half:]
    return out.tobytes()


def read_exr(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read every channel of a scanline EXR (single or multipart; parts are merged).

    Returns ``{channel name: (H, W) array}``; FLOAT -> float32, HALF -> float16,
    UINT -> uint32. Rows go top to bottom (row 0 = top of the image).
    """
    path = Path(path)
    try:
        buf = path.read_bytes()
    except OSError as e:
        raise InputError(path, f"cannot read: {e.strerror}") from None
    try:
        headers, pos, multipart = _read_headers(buf, path)
        parts = []
        for attrs in headers:
            chans = sorted(_channels(attrs["channels"][1]))
            (comp,) = struct.unpack("<B", attrs["compression"][1])
            window = struct.unpack("<iiii", attrs["dataWindow"][1])
            if comp not in _LINES_PER_BLOCK:
                raise InputError(path, f"EXR compression {comp} not supported (NONE, ZIPS, ZIP are)")
            H = window[3] - window[1] + 1
            nblocks = (H + _LINES_PER_BLOCK[comp] - 1) // _LINES_PER_BLOCK[comp]
            if "chunkCount" in attrs:
                (nblocks,) = struct.unpack("<i", attrs["chunkCount"][1])
            parts.append((chans, comp, window, nblocks))
        offsets = []
        for _, _, _, nblocks in parts:
            offsets.append(np.frombuffer(buf, dtype="<u8", count=nblocks, offset=pos).tolist())
            pos += 8 * nblocks
        out: dict[str, np.ndarray] = {}
        for k, (chans, comp, window, _) in enumerate(parts):
            out.update(_read_part(buf, offsets[k], chans, comp, window, multipart))
        return out
    except (KeyError, ValueError, struct.error, zlib.error) as e:
        raise InputError(path, f"bad EXR: {type(e).__name__}: {e}") from None


def _read_part(buf, offsets, chans, comp, window, multipart) -> dict[str, np.ndarray]:
    x0, y0, x1, y1 = window
    W, H = x1 - x0 + 1, y1 - y0 + 1
    lpb = _LINES_PER_BLOCK[comp]
    dts = [_PIXEL_DTYPES[p] for _, p in chans]
    line_bytes = sum(d.itemsize for d in dts) * W
    out = {name: np.empty((H, W), dtype=d) for (name, _), d in zip(chans, dts)}
    skip = 4 if multipart else 0  # multipart chunks start with the part number
    for off in offsets:
        y, size = struct.unpack_from("<ii", buf, off + skip)
        start = off + skip + 8
        data = buf[start : start + size]
        nlines = min(lpb, y1 + 1 - y)
        if comp != 0 and size < nlines * line_bytes:
            data = _unzip(data, nlines * line_bytes)
        row = y - y0
        p = 0
        for k in range(nlines):
            for (name, _), d in zip(chans, dts):
                out[name][row + k] = np.frombuffer(data, dtype=d, count=W, offset=p)
                p += W * d.itemsize
    return out
