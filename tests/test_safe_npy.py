"""``datagen.safe_npy``: the BrokenChairs views' pickled ``.npy`` dicts are read through an allow-list,
and a crafted file is refused (one line naming it) without running anything, also in ``datagen import
looking3d``."""

import builtins
import json
import os
import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from trimesh.caching import tracked_array

from datagen.errors import InputError
from datagen.safe_npy import load_npy, load_npy_dict


def _view_dict(rng):
    return {"pxy": rng.integers(0, 256, (50, 2)).astype(np.int64), "is_visible": rng.random(50) > 0.5,
            "xyz": np.where(rng.random((32, 32, 1)) > 0.5, rng.normal(size=(32, 32, 3)), -1.0)}


class _Exec:
    """Unpickled, it runs ``code`` through builtins.exec (what a crafted .npy can do under allow_pickle=True)."""

    def __init__(self, code):
        self.code = code

    def __reduce__(self):
        return (builtins.exec, (self.code,))


class _System:
    def __init__(self, cmd):
        self.cmd = cmd

    def __reduce__(self):
        return (os.system, (self.cmd,))


class _Open:
    """A __reduce__ that creates ``path`` through builtins.open."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (builtins.open, (self.path, "w"))


def _malicious(path, marker, how):
    payload = {"exec": _Exec(f"open({str(marker)!r}, 'w').write('pwned')"), "system": _System(f"touch '{marker}'"),
               "open": _Open(str(marker))}[how]
    np.save(path, {"pxy": np.zeros((2, 2), np.int64), "is_visible": payload, "xyz": np.zeros((32, 32, 3))},
            allow_pickle=True)


def test_saved_view_dicts_load_also_with_a_trimesh_tracked_array(tmp_path):
    rng = np.random.default_rng(0)
    d = _view_dict(rng)
    np.save(tmp_path / "plain.npy", d, allow_pickle=True)
    # the authors' files: is_visible pickled as trimesh.caching.TrackedArray
    np.save(tmp_path / "tracked.npy", dict(d, is_visible=tracked_array(d["is_visible"])), allow_pickle=True)
    assert b"TrackedArray" in (tmp_path / "tracked.npy").read_bytes()
    for name in ("plain.npy", "tracked.npy"):
        got = load_npy_dict(tmp_path / name)
        assert sorted(got) == ["is_visible", "pxy", "xyz"]
        for k, v in d.items():
            assert type(got[k]) is np.ndarray and got[k].dtype == v.dtype and np.array_equal(got[k], v), (name, k)
    # numpy scalars, lists, tuples, strings and a big-endian array come back as np.load gives them
    extra = {"n": np.float64(2.5), "i": np.int32(-3), "l": [1, "a", (2.0, None)], "s": np.array(["ab", "c"]),
             "be": np.arange(3, dtype=">f4")}
    np.save(tmp_path / "extra.npy", extra, allow_pickle=True)
    got = load_npy_dict(tmp_path / "extra.npy")
    want = np.load(tmp_path / "extra.npy", allow_pickle=True).item()
    assert got["n"] == 2.5 and got["i"] == -3 and got["l"] == [1, "a", (2.0, None)]
    assert np.array_equal(got["s"], want["s"]) and np.array_equal(got["be"], want["be"])
    # a plain array is read without pickle
    np.save(tmp_path / "a.npy", np.arange(6.0).reshape(2, 3))
    assert np.array_equal(load_npy(tmp_path / "a.npy"), np.arange(6.0).reshape(2, 3))


@pytest.mark.parametrize("how", ["exec", "system", "open"])
def test_a_pickle_that_runs_code_is_refused_and_nothing_runs(tmp_path, how):
    path, marker = tmp_path / "183_2.0_18_20.npy", tmp_path / "MARKER"
    _malicious(path, marker, how)
    with pytest.raises(InputError) as e:
        load_npy_dict(path)
    msg = str(e.value)
    assert msg.startswith(f"{path}: refused") and "\n" not in msg, msg
    assert not marker.exists()


def test_a_crafted_dtype_with_hidden_object_fields_is_refused(tmp_path):
    """A dtype state can add object fields without numpy's object flag; numpy would then read raw
    bytes as object pointers. Only plain dtypes are rebuilt."""

    class Dtype:
        def __reduce__(self):
            return (np.dtype, ("V8", False, True), (3, "|", None, ("a",), {"a": (np.dtype("O"), 0)}, 8, 1, 0))

    class Array:
        def __reduce__(self):
            return (np.ndarray.__reduce__(np.zeros(1))[0], (np.ndarray, (0,), b"b"), (1, (1,), Dtype(), False, b"A" * 8))

    path = tmp_path / "v.npy"
    np.save(path, {"xyz": Array()}, allow_pickle=True)
    with pytest.raises(InputError, match=r"refused: dtype 'V8'"):
        load_npy_dict(path)

    class Buffer:  # ndarray((1,), "O", bytes): an object array over raw bytes
        def __reduce__(self):
            return (np.ndarray, ((1,), "O", b"A" * 8))

    np.save(path, {"xyz": Buffer()}, allow_pickle=True)
    with pytest.raises(InputError, match=r"refused: an array built from a constructor call"):
        load_npy_dict(path)
    # the same through NEWOBJ (cls.__new__(cls, *args)), written by hand
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "|O", "fortran_order": False, "shape": ()})
        f.write(b"\x80\x03cnumpy\nndarray\nK\x01\x85X\x01\x00\x00\x00OC\x08AAAAAAAA\x87\x81.")
    with pytest.raises(InputError, match=r"refused: an array built from a constructor call"):
        load_npy(path)
    (tmp_path / "junk.npy").write_bytes(b"junk")
    with pytest.raises(InputError, match="not a readable .npy"):
        load_npy(tmp_path / "junk.npy")


def test_import_looking3d_lists_a_crafted_view_as_a_failure_without_running_it(tmp_path):
    from datagen.cli import main
    from datagen.export import export_looking3d
    from synth_chairs import make_synthetic

    src = tmp_path / "synth"
    make_synthetic(src, np.random.default_rng(0), shapes=2, queries_per_shape=2, resolution=64, ref_views=4,
                   splits=(0.5, 0.5, 0.0))
    bc = tmp_path / "bc"
    assert export_looking3d(src, bc, progress=False).failed == 0
    views = sorted((bc / "shapes").glob("*/mv_images/*.npy"))
    evil, marker = views[0], tmp_path / "MARKER"
    _malicious(evil, marker, "exec")
    r = CliRunner().invoke(main, ["import", "looking3d", str(bc), "--out", str(tmp_path / "ds"), "--no-progress"])
    assert not marker.exists()
    assert r.exit_code == 0, r.output  # one bad view of a shape with others: listed, the import goes on
    rows = [json.loads(x) for x in (tmp_path / "ds" / "failures.jsonl").read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["error"].startswith(f"{evil}: refused: the pickle asks for builtins.exec")
    assert "failed 1" in r.output
    # the same file as the shape's only readable-looking view: the shape fails, the batch goes on
    shutil.rmtree(tmp_path / "ds")
    for v in views[1:4]:
        v.with_suffix(".png").unlink()
    r = CliRunner().invoke(main, ["import", "looking3d", str(bc), "--out", str(tmp_path / "ds"), "--no-progress"])
    assert not marker.exists() and r.exit_code == 0, r.output
    errors = (tmp_path / "ds" / "failures.jsonl").read_text()
    assert str(evil) in errors and "no readable reference view" in errors
