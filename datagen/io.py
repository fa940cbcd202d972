"""Atomic file output: write to a temporary name beside the target, then rename.

A reader never sees a half-written file or sample folder: it either exists complete
or not at all (POSIX ``rename`` is atomic within one file system).

Several processes may write the same outputs at once (two runs of the same plan or shard):
``write_once_bytes`` and ``atomic_dir(..., if_exists="keep")`` keep whichever complete version
arrived first and drop the later one (the same content, by determinism); ``file_lock`` serializes
a read-modify-write of shared files (``fcntl.flock``; a no-op where there is no ``fcntl``).
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np


def _tmp_name(path: Path) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    return Path(tmp)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def dumps_json(obj) -> str:
    """Canonical JSON (sorted keys, 2-space indent, trailing newline): byte-stable."""
    return json.dumps(obj, indent=2, sort_keys=True) + "\n"


def atomic_write_json(path: str | os.PathLike, obj) -> Path:
    return atomic_write_text(path, dumps_json(obj))


def atomic_save_npy(path: str | os.PathLike, array: np.ndarray) -> Path:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    return atomic_write_bytes(path, buf.getvalue())


def write_once_bytes(path: str | os.PathLike, data: bytes) -> bool:
    """Create ``path`` holding ``data`` unless it exists; True when this call created it.

    Atomic and write-once even when several processes race: the data goes to a temporary
    file that is hard-linked to ``path`` (``link`` fails if ``path`` exists). On a file system
    without hard links it falls back to an atomic rename (the last writer wins).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return False
    tmp = _tmp_name(path)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        except OSError as e:
            if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.ENOSYS):
                raise
            os.replace(tmp, path)  # no hard links here: atomic, not write-once
        return True
    finally:
        tmp.unlink(missing_ok=True)


IF_EXISTS = ("replace", "keep", "error")


@contextlib.contextmanager
def atomic_dir(final: str | os.PathLike, overwrite: bool = True, if_exists: str | None = None) -> Iterator[Path]:
    """Yield a temporary folder that becomes ``final`` only if the block succeeds.

    On error the temporary folder is removed and ``final`` is left as it was. When ``final``
    exists at the end of the block, ``if_exists`` decides: ``replace`` (the default; also
    ``overwrite=True``) moves it aside and puts ours in its place; ``keep`` keeps it and drops
    ours (write-once: also when another process renames its copy in at the same moment);
    ``error`` (``overwrite=False``) raises ``FileExistsError``.
    """
    mode = if_exists or ("replace" if overwrite else "error")
    if mode not in IF_EXISTS:
        raise ValueError(f"if_exists must be one of {', '.join(IF_EXISTS)}, got {mode!r}")
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    try:
        yield tmp
        if mode == "keep":
            if not final.exists():
                try:
                    os.rename(tmp, final)  # fails on a non-empty folder: whoever came first stays
                except OSError as e:
                    if e.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                        raise
            shutil.rmtree(tmp, ignore_errors=True)  # gone already when ours was renamed in
        elif final.exists():
            if mode == "error":
                raise FileExistsError(f"{final}: already exists")
            trash = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".old", dir=final.parent))
            os.replace(final, trash / "old")
            os.replace(tmp, final)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextlib.contextmanager
def file_lock(path: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if needed; never deleted, so every process
    locks the same file) for the block. Blocks until the lock is free; a no-op without ``fcntl``."""
    try:
        import fcntl
    except ImportError:  # not POSIX: nothing to lock with
        yield
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def read_json(path: str | os.PathLike):
    """Load JSON; a missing file or bad JSON raises ``InputError`` naming the file."""
    from datagen.errors import InputError

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except OSError as e:
        raise InputError(path, f"cannot read: {e.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(path, f"bad JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
