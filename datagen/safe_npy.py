"""Read ``.npy`` files that hold a pickled object, without running code from the file.

``np.load(path, allow_pickle=True)`` unpickles whatever the file asks for, so a crafted ``.npy``
runs arbitrary code. The BrokenChairs-180K release stores each reference view's data that way:
``np.save(path, {"pxy": ..., "is_visible": ..., "xyz": ...})``, a 0-d object array holding a dict,
with ``is_visible`` pickled as ``trimesh.caching.TrackedArray`` (released_layouts.md, A.5.2).

    d = load_npy_dict("shape_183/mv_images/183_2.0_18_20.npy")   # {"pxy": (P, 2) int64, ...}
    a = load_npy("any.npy")                                      # any .npy, pickled or not

The header is read with numpy's own ``numpy.lib.format`` functions; a file without objects is read
by ``np.load(allow_pickle=False)``. An object array's pickle is read by an unpickler that allows
only these globals:

- ``numpy.ndarray`` and ``numpy.core.multiarray._reconstruct`` (``numpy._core`` in numpy 2): arrays,
  only the way numpy pickles them (``_reconstruct`` then the state); calling the class
  (``ndarray(shape, "O", buffer)`` would read raw bytes as object pointers) is refused;
- ``numpy.dtype``: plain dtypes only (bool, integer, float, complex, bytes, str, object; byte order
  may be set; no fields, sub-arrays, datetimes: a crafted dtype state could otherwise make numpy read
  raw bytes as object pointers);
- ``numpy.core.multiarray.scalar``: numpy scalars of those dtypes;
- ``trimesh.caching.TrackedArray``: rebuilt as a plain ``numpy.ndarray`` (trimesh is never imported).

Dicts, lists, tuples, str, bytes, int, float, bool and None need no global. Anything else (``os.system``,
``builtins.exec``, any other class) is refused before it is called: ``InputError(path, problem)``,
one line. What comes back holds plain ``numpy.ndarray`` objects only.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

from datagen.errors import InputError

PLAIN_KINDS = "biufcSUO"  # bool, int, uint, float, complex, bytes, str, object
_MULTIARRAY = ("numpy.core.multiarray", "numpy._core.multiarray")
_ARRAY_CLASSES = {("numpy", "ndarray"), ("trimesh.caching", "TrackedArray")}
try:
    from numpy._core.multiarray import scalar as _np_scalar
except ImportError:  # numpy < 2
    from numpy.core.multiarray import scalar as _np_scalar


class _Refused(pickle.UnpicklingError):
    """The pickle asks for something this reader does not rebuild."""


class _DType:
    """A dtype as the pickle describes it: ``numpy.dtype(spec, align, copy)`` then ``__setstate__``
    (version, byte order, subarray, names, fields, elsize, alignment, flags[, metadata]). Only a
    plain kind and the byte order are taken; ``.dtype`` is a fresh numpy dtype."""

    def __init__(self, spec, align=False, copy=True):
        try:
            dt = np.dtype(spec) if isinstance(spec, str) else None
        except TypeError:
            dt = None
        if dt is None or dt.fields is not None or dt.subdtype is not None or dt.kind not in PLAIN_KINDS:
            raise _Refused(f"dtype {spec!r} (only plain bool / number / bytes / str / object dtypes)")
        self.dtype = dt

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) < 8 or any(x is not None for x in state[2:5]):
            raise _Refused(f"dtype {self.dtype} with fields or a sub-array")
        if state[5] not in (-1, self.dtype.itemsize) or len(state) > 8 and state[8]:
            raise _Refused(f"dtype {self.dtype} with item size {state[5]} or metadata")
        if state[1] in ("<", ">"):
            self.dtype = self.dtype.newbyteorder(state[1])


def _resolve(spec) -> np.dtype:
    if not isinstance(spec, _DType):
        raise _Refused(f"{type(spec).__name__} where a dtype should be")
    return spec.dtype


class _Array(np.ndarray):
    """The array being unpickled (``ndarray`` or ``TrackedArray`` in the file); ``_plain`` makes it a
    plain ``numpy.ndarray``. Its state's dtype is checked before numpy reads the data."""

    def __new__(cls, *args, **kwargs):  # ndarray(shape, dtype, buffer) would read raw bytes as object pointers
        raise _Refused("an array built from a constructor call (numpy pickles arrays with _reconstruct)")

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise _Refused("an array state that numpy does not write")
        *head, spec, fortran, raw = state
        dt = _resolve(spec)
        if dt.kind == "O" and not isinstance(raw, list) or dt.kind != "O" and not isinstance(raw, bytes):
            raise _Refused(f"array data of type {type(raw).__name__} for dtype {dt}")
        super().__setstate__((*head, dt, fortran, raw))


def _reconstruct(cls, shape, typecode):
    if cls is not _Array:
        raise _Refused(f"array class {cls!r}")
    return np.ndarray.__new__(_Array, (0,), np.uint8)


def _scalar(spec, data=None):
    dt = _resolve(spec)
    if dt.kind == "O":
        return data
    if not isinstance(data, bytes):
        raise _Refused(f"scalar data of type {type(data).__name__}")
    return _np_scalar(dt, data)


_ALLOWED = {**{(m, "_reconstruct"): _reconstruct for m in _MULTIARRAY}, **{(m, "scalar"): _scalar for m in _MULTIARRAY},
            ("numpy", "dtype"): _DType, **{k: _Array for k in _ARRAY_CLASSES}}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise _Refused(f"the pickle asks for {module}.{name}; only numpy arrays, dtypes, scalars, dicts, "
                           "lists and trimesh TrackedArray are read") from None


def _plain(obj):
    """``obj`` with every ``_Array`` (also inside dicts, lists, tuples, object arrays) as a plain ndarray."""
    if isinstance(obj, np.ndarray):
        a = obj.view(np.ndarray)
        if a.dtype.kind != "O":
            return a
        out = np.empty(a.shape, dtype=object)
        for i in np.ndindex(a.shape):
            out[i] = _plain(a[i])
        return out
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_plain(v) for v in obj)
    return obj


def load_npy(path: str | os.PathLike) -> np.ndarray:
    """The array of a ``.npy`` file; an object array's pickle is read with the allow-list of the module
    doc (never running code from the file). Raises ``InputError(path, problem)`` (one line) for a missing,
    malformed or refused file."""
    path = Path(path)
    try:
        with open(path, "rb") as fp:
            version = npy_format.read_magic(fp)
            if version == (1, 0):
                shape, _, dtype = npy_format.read_array_header_1_0(fp)
            elif version == (2, 0):
                shape, _, dtype = npy_format.read_array_header_2_0(fp)
            else:
                raise InputError(path, f".npy format version {version[0]}.{version[1]} is not read (1.0 and 2.0 are)")
            if not dtype.hasobject:
                return np.load(path, allow_pickle=False)
            if dtype.kind != "O":
                raise InputError(path, f"dtype {dtype} mixes objects into a structured dtype (not read)")
            arr = _plain(_Unpickler(fp, encoding="ASCII", fix_imports=True).load())
    except InputError:
        raise
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except _Refused as e:
        raise InputError(path, f"refused: {' '.join(str(e).split())}") from None
    except Exception as e:  # noqa: BLE001 - a malformed file of any kind is the same user error
        raise InputError(path, f"not a readable .npy: {type(e).__name__}: {' '.join(str(e).split())}"[:400]) from None
    if not isinstance(arr, np.ndarray) or arr.shape != tuple(shape):
        raise InputError(path, f"the pickle holds {type(arr).__name__}, not the {shape} object array of the header")
    return arr


def load_npy_dict(path: str | os.PathLike) -> dict:
    """The dict of ``np.save(path, a_dict)`` (a 0-d object array holding it), read as ``load_npy`` does."""
    arr = load_npy(path)
    if arr.shape != () or not isinstance(arr.item(), dict):
        raise InputError(path, f"not a saved dict (an array of shape {arr.shape}, dtype {arr.dtype})")
    return arr.item()
