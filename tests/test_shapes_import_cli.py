"""``datagen shapes import {partnet,abc,mesh}`` through click's CliRunner."""

import json

import numpy as np
import trimesh
from click.testing import CliRunner

from datagen.commands.shapes_import import import_group
from datagen.shapes.library import list_shapes, read_shape
from test_abc import make_model, two_bodies
from test_partnet import make_partnet


def run(*args):
    result = CliRunner().invoke(import_group, [*map(str, args), "--no-progress"])
    return result


def test_partnet_import_with_splits_and_resume(tmp_path):
    root = tmp_path / "data_v0"
    for anno, cat in [("101", "Chair"), ("102", "Chair"), ("103", "Table"), ("104", "Chair")]:
        make_partnet(root, anno, cat)
    (root / "104" / "result.json").write_text("[")  # one broken annotation
    sp = tmp_path / "split"
    sp.mkdir()
    (sp / "Chair.train.json").write_text(json.dumps([{"model_id": "m", "anno_id": "101"}, {"model_id": "m", "anno_id": "999"}]))
    (sp / "Chair.val.json").write_text(json.dumps([{"model_id": "m", "anno_id": "102"}]))
    (sp / "Chair.test.json").write_text(json.dumps([{"model_id": "m", "anno_id": "104"}]))
    out = tmp_path / "shapes"
    r = run("partnet", root, "--category", "Chair", "--level", "1", "--out", out, "--splits", sp)
    assert r.exit_code == 0, r.output
    assert "shapes: done 2, skipped 0, refused 0, dropped 0, failed 1" in r.output
    assert "104" in r.output and "bad JSON" in r.output
    assert [p.name for p in list_shapes(out)] == ["101", "102"]
    s = read_shape(out / "101")
    assert [p.label for p in s.parts] == ["chair_back", "chair_seat", "chair_base", "chair_arm"]
    failures = [json.loads(line) for line in (out / "failures.jsonl").read_text().splitlines()]
    assert len(failures) == 1 and "result.json" in failures[0]["error"]
    # splits.json lists the imported shapes per official split
    assert json.loads((out / "splits.json").read_text()) == {"train": ["101"], "val": ["102"], "test": []}
    # resume: the same command skips what is there
    r = run("partnet", root, "--category", "chair", "--level", "1", "--out", out)
    assert r.exit_code == 0 and "done 0, skipped 2, refused 0, dropped 0, failed 1" in r.output


def test_partnet_limit_and_bad_root(tmp_path):
    root = tmp_path / "data_v0"
    for anno in ("1", "2", "3"):
        make_partnet(root, anno)
    r = run("partnet", root, "--out", tmp_path / "o", "--limit", "2")
    assert r.exit_code == 0 and "done 2" in r.output
    assert not (tmp_path / "o" / "failures.jsonl").exists()
    r = run("partnet", tmp_path / "nope", "--out", tmp_path / "o")
    assert r.exit_code != 0 and "not found" in r.output
    r = run("partnet", root, "--out", tmp_path / "o", "--level", "coarse")
    assert r.exit_code != 0 and "level" in r.output
    r = run("partnet", root, "--out", tmp_path / "o", "--splits", tmp_path)
    assert r.exit_code != 0 and "--category" in r.output


def test_abc_import(tmp_path):
    root = tmp_path / "abc"
    v, f = two_bodies()
    make_model(root, v, f, model_id="00000001")
    make_model(root, v, f, model_id="00000002")
    (root / "00000003").mkdir()
    (root / "00000003" / "00000003_x_trimesh_000.obj").write_text("v 0 0 0\nf 1 2 3\n")
    out = tmp_path / "shapes"
    r = run("abc", root, "--out", out, "--max-parts", "1")
    assert r.exit_code == 0, r.output
    assert "done 2, skipped 0, refused 0, dropped 0, failed 1" in r.output and "face index out of range" in r.output
    s = read_shape(out / "00000001")
    assert s.source == "abc" and s.category == "mechanical" and len(s.parts) == 1
    assert run("abc", tmp_path / "missing", "--out", out).exit_code != 0


def test_mesh_import(tmp_path):
    a = tmp_path / "chair.obj"
    a.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\ng seat\nf 1 2 3\ng back\nf 1 2 4\n")
    scene = trimesh.Scene()
    scene.add_geometry(trimesh.creation.box(), node_name="body")
    scene.add_geometry(trimesh.creation.box().apply_translation([0, 2, 0]), node_name="lid")
    b = tmp_path / "chair.glb"
    b.write_bytes(scene.export(file_type="glb"))
    c = tmp_path / "bad.xyz"
    c.write_text("?")
    out = tmp_path / "shapes"
    r = run("mesh", a, b, c, "--category", "thing", "--up", "y", "--out", out)
    assert r.exit_code == 0, r.output
    assert "done 2, skipped 0, refused 0, dropped 0, failed 1" in r.output and "unknown mesh file type" in r.output
    assert [p.name for p in list_shapes(out)] == ["chair_glb", "chair_obj"]  # same stem: suffix added
    s = read_shape(out / "chair_glb")
    assert sorted(p.label for p in s.parts) == ["body", "lid"] and s.category == "thing"
    assert np.isclose(np.linalg.norm(s.bounds[1] - s.bounds[0]), 1)
    r = run("mesh", tmp_path, "--out", out)  # a folder: its mesh files; already there -> skipped
    assert r.exit_code == 0 and "skipped 2" in r.output
    assert run("mesh", tmp_path / "none.obj", "--out", out).exit_code != 0
