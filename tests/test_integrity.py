"""Integrity: per-folder and root manifests (BLAKE2b + size) checked by verify; write-once folders and
markers; two real ``datagen generate`` processes on one --out give the dataset one process gives."""

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from datagen.commands.inspect import verify as verify_cmd
from datagen.dataset.manifest import MANIFEST_JSON, files_of, read_manifest, write_manifest
from datagen.dataset.verify import verify
from datagen.io import atomic_dir, file_lock, write_once_bytes
from datagen.jobs import WORK_DIR, clean_work, make_work_dir
from synth_dataset import build_dataset

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
FAKE = f"{sys.executable} {HERE / 'fake_worker.py'}"


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    root = tmp_path_factory.mktemp("good")
    build_dataset(root)
    return root


@pytest.fixture
def ds(good, tmp_path):
    root = tmp_path / "ds"
    shutil.copytree(good, root)
    return root


def check(root, **kw):
    """verify as ``datagen verify`` runs it (manifests on, also without pixels)."""
    return verify(root, manifests=True, **kw)


def _one(problems, *needles):
    hits = [p for p in problems if all(n in p for n in needles)]
    assert hits, f"no problem with {needles} in {problems}"
    return hits


# --- what is written --------------------------------------------------------------------------------
def test_every_folder_has_a_manifest_of_all_its_files(good):
    info = json.loads((good / "dataset.json").read_text())
    assert info["checksums"] == "blake2b" and info["format_version"] == 1
    folders = [p for sub in ("samples", "shapes", "scenes") for p in sorted((good / sub).iterdir())]
    assert len(folders) == 20 + 4 + 1  # samples, references, scenes
    for d in folders:
        m = read_manifest(d)
        assert m is not None and sorted(m) == files_of(d) and MANIFEST_JSON not in m
        for rel, e in m.items():
            data = (d / rel).read_bytes()
            assert e == {"blake2b": hashlib.blake2b(data).hexdigest(), "bytes": len(data)}
    assert {"views/0000.png", "views/cameras.json", "parts.json"} <= set(read_manifest(good / "shapes" / "A"))
    assert {"rgb/0000.png", "depth/0002.npy", "instances/0001.png", "scene.json"} <= set(read_manifest(good / "scenes" / "scene_0"))
    root = read_manifest(good)
    assert sorted(root) == ["dataset.json", "index.jsonl", "splits.json"]
    assert check(good) == [] and check(good, pixels=False) == []


# --- what verify finds ------------------------------------------------------------------------------
def test_altered_appended_truncated_missing_added(ds):
    s = ds / "samples"
    # a changed value, same size: only the digest sees it (the depth stays finite and >= 0)
    d = s / "A_normal_1" / "depth.npy"
    raw = bytearray(d.read_bytes())
    raw[-1] ^= 0x01
    d.write_bytes(bytes(raw))
    # a PNG with changed pixels (re-encoded) and one with bytes appended: both still decode
    from PIL import Image

    from datagen.dataset.writer import save_png

    p = s / "B_normal_0" / "rgb.png"
    a = np.asarray(Image.open(p)).copy()
    a[0, 0] = 255 - a[0, 0]
    save_png(p, a)
    with open(s / "C_normal_0" / "rgb.png", "ab") as f:
        f.write(b"\0" * 16)
    cams = ds / "shapes" / "A" / "views" / "cameras.json"
    cams.write_bytes(cams.read_bytes()[:-1])  # the final newline gone: valid JSON, one byte shorter
    (s / "D_normal_0" / "mask_new.png").write_bytes(b"")  # a mask in a normal sample (also not in its manifest)
    (s / "D_normal_1" / "notes.txt").write_text("hi")
    (ds / "scenes" / "scene_0" / "rgb" / "0001.png").unlink()
    for pixels in (True, False):
        probs = check(ds, pixels=pixels)
        _one(probs, "A_normal_1/depth.npy", "content differs")
        _one(probs, "B_normal_0/rgb.png", "manifest.json")
        _one(probs, "C_normal_0/rgb.png", "bytes added")
        _one(probs, "A/views/cameras.json", "truncated")
        _one(probs, "D_normal_0/mask_new.png")
        _one(probs, "D_normal_1/notes.txt", "not listed in manifest.json")
        _one(probs, "scene_0/rgb/0001.png", "missing")
    # --no-checksums (digests=False): sizes, missing and added files only
    probs = check(ds, pixels=False, digests=False)
    assert not [p for p in probs if "A_normal_1" in p]
    _one(probs, "C_normal_0/rgb.png", "bytes added")
    _one(probs, "D_normal_1/notes.txt", "not listed")


def test_a_file_is_listed_once(ds):
    (ds / "samples" / "A_normal_0" / "rgb.png").unlink()
    probs = check(ds)
    assert [p for p in probs if "A_normal_0" in p] == [f"{ds / 'samples' / 'A_normal_0' / 'rgb.png'}: missing"]


def test_root_manifest(ds):
    idx = ds / "index.jsonl"
    lines = idx.read_text().splitlines()
    idx.write_text("\n".join(reversed(lines)) + "\n")  # same rows, same size, another order
    probs = check(ds)
    assert probs == [f"{idx}: content differs from manifest.json (blake2b digest; altered or corrupted)"]
    m = json.loads((ds / "manifest.json").read_text())
    del m["splits.json"]
    (ds / "manifest.json").write_text(json.dumps(m))
    _one(check(ds), "splits.json", "not listed in manifest.json")
    (ds / "manifest.json").write_text("{oops")
    _one(check(ds), "manifest.json", "bad JSON")


def test_bad_manifest_is_a_problem(ds):
    (ds / "samples" / "A_normal_0" / MANIFEST_JSON).write_text('{"rgb.png": "abc"}')
    _one(check(ds), "A_normal_0/manifest.json", "not a manifest")


def test_folders_without_manifest_are_warnings(ds, tmp_path):
    for d in (ds / "samples").iterdir():
        (d / MANIFEST_JSON).unlink()
    (ds / MANIFEST_JSON).unlink()
    warnings = []
    assert check(ds, warnings=warnings) == []
    assert len(warnings) == 20 + 1 and all("no manifest.json" in w for w in warnings)
    r = CliRunner().invoke(verify_cmd, [str(ds), "--limit", "3"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert r.stdout.count("warning: ") == 3 and "and 18 more warnings" in r.stdout
    assert r.stdout.strip().endswith("ok (21 warning(s))")
    write_manifest(ds / "samples" / "A_normal_0")  # a tool that wrote the files itself can add one
    assert check(ds) == []


def test_cli_no_pixels_still_checks_digests(ds):
    d = ds / "samples" / "A_normal_1" / "depth.npy"
    raw = bytearray(d.read_bytes())
    raw[-2] ^= 0x01
    d.write_bytes(bytes(raw))
    r = CliRunner().invoke(verify_cmd, [str(ds), "--no-pixels"])
    assert r.exit_code == 1 and "A_normal_1/depth.npy: content differs" in r.stdout
    r = CliRunner().invoke(verify_cmd, [str(ds), "--no-pixels", "--no-checksums"])
    assert r.exit_code == 0 and r.stdout.strip().endswith(": ok")


# --- write-once ---------------------------------------------------------------------------------------
def test_atomic_dir_keep_is_write_once(tmp_path):
    final = tmp_path / "s"
    with atomic_dir(final, if_exists="keep") as tmp:
        (tmp / "a").write_text("first")
    with atomic_dir(final, if_exists="keep") as tmp:
        (tmp / "a").write_text("second")
    assert (final / "a").read_text() == "first" and [p.name for p in tmp_path.iterdir()] == ["s"]
    with atomic_dir(final) as tmp:  # the default still replaces
        (tmp / "a").write_text("third")
    assert (final / "a").read_text() == "third"
    with pytest.raises(FileExistsError):
        with atomic_dir(final, overwrite=False) as tmp:
            pass


def test_atomic_dir_keep_when_racing(tmp_path):
    final = tmp_path / "s"
    barrier = threading.Barrier(8)
    errors = []

    def write(k):
        try:
            with atomic_dir(final, if_exists="keep") as tmp:
                (tmp / "a").write_text(str(k))
                barrier.wait()
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and [p.name for p in tmp_path.iterdir()] == ["s"]
    assert (final / "a").read_text() in {str(k) for k in range(8)}


def test_write_once_bytes(tmp_path):
    p = tmp_path / "d" / "m.done"
    assert write_once_bytes(p, b"one") is True
    assert write_once_bytes(p, b"two") is False
    assert p.read_bytes() == b"one" and [x.name for x in p.parent.iterdir()] == ["m.done"]


def test_file_lock_serializes(tmp_path):
    lock = tmp_path / ".lock"
    order = []

    def hold(k):
        with file_lock(lock):
            order.append(("in", k))
            threading.Event().wait(0.05)
            order.append(("out", k))

    # flock locks are per open file description: threads opening the file separately exclude each other
    threads = [threading.Thread(target=hold, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(order[i][0] == "in" and order[i + 1] == ("out", order[i][1]) for i in range(0, 6, 2))


def test_clean_work_keeps_live_and_foreign_folders(tmp_path):
    work = tmp_path / WORK_DIR
    mine = make_work_dir(work, "chair_0/ref")  # this process: alive
    host = socket.gethostname()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    gone = work / f"chair_0__normal+{host}+{int(dead.stdout)}+abc"
    other = work / f"chair_0__normal+elsewhere.example+{int(dead.stdout)}+abc"
    for d in (gone, other):
        d.mkdir()
    clean_work(tmp_path)
    assert mine.is_dir() and other.is_dir() and not gone.exists()
    shutil.rmtree(mine)
    shutil.rmtree(other)
    clean_work(tmp_path)
    assert not work.exists()
    assert make_work_dir(work, "x").is_dir()  # recreated on demand


# --- two real processes on one --out ---------------------------------------------------------------------
def _tree(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.relative_to(root).parts[0] not in ("jobs", "logs")}


def test_two_processes_same_out_make_the_dataset_of_one(tmp_path):
    from datagen.shapes.procedural import generate_library

    lib = tmp_path / "lib"
    generate_library("chair", 3, lib, seed=0, progress=False)
    # --retries 0: any job that fails (e.g. its work folder deleted by the other process) fails the run
    args = [sys.executable, "-m", "datagen.cli", "generate", "--preset", "demo", "--shapes", str(lib), "--seed", "3",
            "--resolution", "32", "--types", "position,missing,rotation", "--quiet", "--retries", "0", "--worker-cmd", FAKE]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    one = tmp_path / "one"
    r = subprocess.run(args + ["--out", str(one)], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    two = tmp_path / "two"
    # started at once; 2 workers against 1, so one finishes (and finalizes) while the other still works
    procs = [subprocess.Popen(args + ["--out", str(two), "--workers", str(w)], cwd=REPO, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for w in (2, 1)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, out + err
    a, b = _tree(one), _tree(two)
    assert sorted(a) == sorted(b)
    assert any(k.startswith("samples/") for k in a) and "index.jsonl" in a and "splits.json" in a
    for k in a:
        assert a[k] == b[k], k  # samples, references, manifests, index.jsonl, splits.json, dataset.json
    assert verify(two, manifests=True) == []
    assert not (two / WORK_DIR).exists() and not list(two.glob("**/.*.tmp"))
    markers = sorted(p.relative_to(two / "jobs").as_posix() for p in (two / "jobs").rglob("*.done"))
    assert markers == sorted(p.relative_to(one / "jobs").as_posix() for p in (one / "jobs").rglob("*.done"))
