import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import trimesh
from click.testing import CliRunner

from datagen.cli import main
from datagen.corrupt import TYPES, read_record
from datagen.corrupt.run import corrupt_library
from toy_shapes import box_chair
from datagen.shapes.library import read_shape, write_shape


def _library(root: Path, n: int = 3) -> Path:
    for i in range(n):
        s = box_chair(f"chair{i}", np.random.default_rng(i), cylinder_legs=bool(i % 2))
        if i == 1:  # a visibly different back, so swapped has a real donor
            back = s.part("back")
            sph = trimesh.creation.icosphere(subdivisions=2)
            s = s.replace_part("back", back.with_geometry(sph.vertices * back.extents / 2 + back.center, sph.faces))
        write_shape(s, root)
    bad = write_shape(box_chair("zbad", np.random.default_rng(9)), root)
    (bad / "objs" / "seat.obj").write_text("v 0 0 0\nf 1 2 x\n")
    return root


def _all_bytes(root: Path) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and p.suffix != ".jsonl"}


def test_cli_deterministic_resumable(tmp_path):
    lib = _library(tmp_path / "shapes")
    args = ["corrupt", str(lib), "--types", ",".join(TYPES), "--per-shape", "2", "--seed", "0", "--no-progress"]
    r = CliRunner().invoke(main, args + ["--out", str(tmp_path / "a")])
    assert r.exit_code == 0, r.output
    line = r.output.strip().splitlines()[-1]
    assert line.startswith("corruptions: done ")
    counts = dict(
        (k, int(v)) for k, v in (part.strip().split(" ")[-2:] for part in line.split("(")[0][len("corruptions:"):].split(","))
    )
    n = len(TYPES)
    assert counts["failed"] == 2 * n  # the bad shape: every type x 2
    assert counts["done"] + counts["refused"] == 6 * n and counts["done"] >= 4 * n
    failures = [json.loads(x) for x in (tmp_path / "a" / "failures.jsonl").read_text().splitlines()]
    assert all("zbad" in f["item"] and "seat.obj" in f["error"] for f in failures)
    if counts["refused"]:
        refusals = [json.loads(x) for x in (tmp_path / "a" / "refusals.jsonl").read_text().splitlines()]
        assert len(refusals) == counts["refused"] and all(r["reason"] for r in refusals)

    # a second, separate process gives byte-identical outputs
    proc = subprocess.run(
        [sys.executable, "-m", "datagen.cli", *args, "--out", str(tmp_path / "b")], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    a, b = _all_bytes(tmp_path / "a"), _all_bytes(tmp_path / "b")
    assert a.keys() == b.keys() and a == b
    assert any(k.endswith("corruption.json") for k in a)

    # resume: everything done is skipped
    r2 = CliRunner().invoke(main, args + ["--out", str(tmp_path / "a")])
    assert f"skipped {counts['done']}" in r2.output


def test_output_folder_layout(tmp_path):
    lib = _library(tmp_path / "shapes", n=2)
    s = corrupt_library(lib, tmp_path / "out", types=TYPES, per_shape=1, seed=1, progress=False)
    assert s.failed == len(TYPES) and s.done >= 4
    assert set(s.by_group) == set(TYPES) and sum(g["failed"] for g in s.by_group.values()) == len(TYPES)
    for folder in sorted((tmp_path / "out").iterdir()):
        if not folder.is_dir():
            continue
        rec = read_record(folder)
        assert folder.name == f"{rec.shape_id}__{rec.type}__0"
        shape = read_shape(folder)
        assert shape.id == folder.name and shape.meta["corrupted_from"] == rec.shape_id
        assert (folder / "anomaly" / "before.obj").is_file()
        assert (folder / "anomaly" / "after.obj").is_file() == (rec.type != "missing")
        names = [p.name for p in shape.parts]
        assert (rec.part in names) == (rec.type != "missing")
    assert not list((tmp_path / "out").glob(".*.tmp"))


def test_cli_bad_options(tmp_path):
    lib = _library(tmp_path / "shapes", n=1)
    r = CliRunner().invoke(main, ["corrupt", str(lib), "--out", str(tmp_path / "o"), "--types", "position,melted"])
    assert r.exit_code != 0 and "melted" in r.output
    out = ["--out", str(tmp_path / "o")]
    r = CliRunner().invoke(main, ["corrupt", str(lib), *out, "--set", "rotation.min_deg=50", "--set", "rotation.max_deg=10"])
    assert r.exit_code != 0 and "rotation.min_deg" in r.output
    r = CliRunner().invoke(main, ["corrupt", str(lib), *out, "--set", "broken.min_fraction"])
    assert r.exit_code != 0 and "TYPE.OPTION=VALUE" in r.output
    r = CliRunner().invoke(main, ["corrupt", str(lib), *out, "--set", "broken.size=3"])
    assert r.exit_code != 0 and "unknown option" in r.output and "min_fraction" in r.output
    r = CliRunner().invoke(main, ["corrupt", "--list-options"])
    assert r.exit_code == 0 and "scale.up_min = 1.25" in r.output and "broken.min_removed_fraction" in r.output


def test_cli_options_reach_the_corruption(tmp_path):
    lib = _library(tmp_path / "shapes", n=1)
    r = CliRunner().invoke(main, ["corrupt", str(lib), "--out", str(tmp_path / "o"), "--types", "scale", "--no-progress",
                                  "--set", "scale.max_axes=1", "--set", "scale.grow_prob=1.0"])
    assert r.exit_code == 0, r.output
    rec = read_record(next(p for p in (tmp_path / "o").iterdir() if p.is_dir()))
    assert rec.type == "scale" and len(rec.params["axes"]) == 1 and rec.params["grow"] is True


@pytest.mark.parametrize("max_faces,expect_failed", [(None, 0), (4, len(TYPES))])
def test_max_faces(tmp_path, max_faces, expect_failed):
    lib = tmp_path / "shapes"
    write_shape(box_chair("c", np.random.default_rng(0)), lib)
    s = corrupt_library(lib, tmp_path / "o", max_faces=max_faces, progress=False)
    assert s.failed == expect_failed
