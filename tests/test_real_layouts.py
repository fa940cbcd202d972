"""Real-layout folders a user will hit: PartNet-Mobility models and ABC folders holding only an STL."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from datagen.commands.shapes_import import import_group
from datagen.errors import InputError
from datagen.shapes.abc import find_abc_files, list_abc, load_abc
from datagen.shapes.library import list_shapes, read_shape
from datagen.shapes.normalize import is_normalized
from datagen.shapes.partnet import list_partnet, load_partnet
from datagen.shapes.partnet_mobility import load_partnet_mobility
from real_fixtures import ABC_STL_ID, make_abc_stl, make_mobility


def run(*args):
    return CliRunner().invoke(import_group, [*map(str, args), "--no-progress"])


# --- PartNet-Mobility ---------------------------------------------------------------------
@pytest.fixture
def cabinet(tmp_path):
    return make_mobility(tmp_path / "dataset")


def test_mobility_leaf_parts_labels_and_hierarchy(cabinet):
    s = load_partnet_mobility(cabinet)
    assert s.id == "45135" and s.category == "storagefurniture" and s.source == "partnet-mobility"
    assert [p.label for p in s.parts] == ["vertical_side_panel", "vertical_side_panel", "top_panel", "door_surface", "drawer_box", "handle"]
    assert s.part("handle_0").path == "storage_furniture/cabinet/drawer/handle"
    assert s.part("door_surface_0").path == "storage_furniture/cabinet/cabinet_door/door_surface"
    assert is_normalized(s)
    # Y up -> Z up: the top panel is the highest part, the drawer below the door
    assert np.isclose(s.part("top_panel_0").bounds[1, 2], s.bounds[1, 2])
    assert s.part("drawer_box_0").center[2] < s.part("door_surface_0").center[2]
    # mobility links per part, and the joints in our frame
    mob = s.meta["mobility"]
    assert mob["part_links"] == {"vertical_side_panel_0": [2], "vertical_side_panel_1": [2], "top_panel_0": [2],
                                 "door_surface_0": [0], "drawer_box_0": [1], "handle_0": [1]}
    door = next(ln for ln in mob["links"] if ln["name"] == "rotation_door")
    assert door["joint"] == "hinge" and door["limit"]["b"] == 90
    assert np.allclose(door["direction"], [0, 0, 1])  # a vertical hinge (source +Y) is +Z here
    n = s.meta["normalization"]
    src = (np.asarray(door["origin"]) / n["scale"] + n["center"]) @ np.asarray(n["rotation"])
    assert np.allclose(src, [-0.46, 0.75, 0.3])
    slider = next(ln for ln in mob["links"] if ln["name"] == "drawer")
    assert np.allclose(slider["direction"], [0, -1, 0])  # source +Z (out of the front) -> -Y


def test_mobility_cleans_double_sided_panels(cabinet):
    s = load_partnet_mobility(cabinet)
    rep = s.meta["clean"]["parts"]
    assert rep["vertical_side_panel_0"]["two_sided"] == 12 and rep["vertical_side_panel_0"]["faces_out"] == 12
    assert rep["handle_0"]["two_sided"] == 0
    for p in s.parts:
        assert len(p.faces) == 12 and p.mesh().is_watertight and p.mesh().volume > 0
    raw = load_partnet_mobility(cabinet, clean=False)
    assert len(raw.part("top_panel_0").faces) == 24 and "clean" not in raw.meta


def test_mobility_levels(cabinet):
    links = load_partnet_mobility(cabinet, level="link")
    assert [(p.label, len(p.faces)) for p in links.parts] == [("rotation_door", 12), ("drawer", 24), ("furniture_body", 36)]
    assert links.part("drawer_0").path == "storage_furniture/drawer"
    assert links.meta["mobility"]["part_links"]["furniture_body_0"] == [2]
    d2 = load_partnet_mobility(cabinet, level=2)
    assert [p.label for p in d2.parts] == ["cabinet_frame", "cabinet_door", "drawer"]
    assert d2.meta["mobility"]["part_links"]["drawer_0"] == [1]
    d1 = load_partnet_mobility(cabinet, level=1)  # one part over every link
    assert d1.meta["mobility"]["part_links"]["cabinet_0"] == [0, 1, 2]
    assert np.allclose(d1.bounds, links.bounds)
    with pytest.raises(InputError, match="level must be"):
        load_partnet_mobility(cabinet, level="links")


def test_mobility_through_load_partnet_and_list(cabinet):
    """``import partnet`` used to fail with 'objs/original-3.obj: file not found' here."""
    s = load_partnet(cabinet)
    assert s.source == "partnet-mobility" and len(s.parts) == 6
    assert [p.name for p in list_partnet(cabinet.parent, category="storagefurniture")] == ["45135"]
    assert list_partnet(cabinet.parent, category="Chair") == []


def test_mobility_bad_input(cabinet):
    (cabinet / "textured_objs" / "new-6.obj").unlink()
    with pytest.raises(InputError, match=r"textured_objs/new-6\.obj: file not found"):
        load_partnet_mobility(cabinet)
    (cabinet / "mobility_v2.json").write_text('{"links": []}')
    with pytest.raises(InputError, match=r"mobility_v2\.json: expected a list of links"):
        load_partnet_mobility(cabinet)
    (cabinet / "mobility_v2.json").unlink()
    (cabinet / "result.json").unlink()
    with pytest.raises(InputError, match=r"result\.json: file not found"):
        load_partnet_mobility(cabinet)


def test_mobility_cli(tmp_path):
    root = tmp_path / "dataset"
    make_mobility(root, "100")
    make_mobility(root, "200", cat="Faucet")
    out = tmp_path / "shapes"
    r = run("partnet-mobility", root, "--category", "StorageFurniture", "--level", "link", "--out", out)
    assert r.exit_code == 0, r.output
    assert [p.name for p in list_shapes(out)] == ["100"]
    s = read_shape(out / "100")
    assert [p.label for p in s.parts] == ["rotation_door", "drawer", "furniture_body"]
    info = json.loads((out / "100" / "parts.json").read_text())
    assert info["parts"][2]["clean"]["two_sided"] == 36 and info["meta"]["mobility"]["links"][0]["joint"] == "hinge"
    # the plain partnet importer reads the same folders; --no-clean keeps the double-sided panels
    r = run("partnet", root, "--out", tmp_path / "raw", "--no-clean")
    assert r.exit_code == 0, r.output
    raw = read_shape(tmp_path / "raw" / "200")
    assert raw.source == "partnet-mobility" and len(raw.part("top_panel_0").faces) == 24
    assert run("partnet-mobility", root, "--level", "coarse", "--out", out).exit_code != 0


# --- ABC: a folder with only the STL --------------------------------------------------------
def test_abc_stl_only_folder(tmp_path):
    folder = make_abc_stl(tmp_path / "abc")
    assert list_abc(tmp_path / "abc") == [folder]  # no longer skipped
    mesh, yml = find_abc_files(folder)
    assert mesh.suffix == ".stl" and yml is None
    s = load_abc(folder)
    assert s.id == ABC_STL_ID and s.source == "abc" and is_normalized(s)
    assert sorted(p.label for p in s.parts) == ["plate", "shaft"]  # two bodies, geometry labels
    for p in s.parts:
        assert len(p.vertices) == 8 and len(p.faces) == 12  # STL repeats vertices: welded
        assert p.mesh().is_watertight and p.mesh().volume > 0
    assert s.meta["abc"]["mesh"] == "stl" and s.meta["abc"]["features"] is None
    assert s.meta["clean"]["parts"]["shaft_0"]["welded"] == 36 - 8
    # patches need the OBJ's face order: an STL falls back to components
    assert len(load_abc(folder, parts="patches").parts) == 2


def test_abc_folder_without_mesh_is_reported(tmp_path):
    root = tmp_path / "abc"
    make_abc_stl(root, "00000001")
    step_only = root / "00000002"
    step_only.mkdir()
    (step_only / "00000002_1ffb81a71e5b402e966b9341_step_000.step").write_text("ISO-10303-21;\n")
    (root / "notes").mkdir()  # not a model folder: not listed
    assert [p.name for p in list_abc(root)] == ["00000001", "00000002"]
    with pytest.raises(InputError, match=r"00000002: no ABC mesh .*holds only \.step files"):
        load_abc(step_only)
    assert list_abc(step_only) == [step_only]  # one model folder given directly: listed, not skipped
    (root / "00000003").mkdir()
    (root / "00000003" / "00000003_80d90bfdd2e74e709956122a_trimesh_000.stl").write_bytes(b"garbage")
    with pytest.raises(InputError, match=r"trimesh_000\.stl: (cannot read STL|no triangles in STL)"):
        load_abc(root / "00000003")
    r = run("abc", root, "--out", tmp_path / "shapes")
    assert r.exit_code == 0, r.output
    assert "no ABC mesh" in r.output and "trimesh_000.stl: " in r.output
    assert [p.name for p in list_shapes(tmp_path / "shapes")] == ["00000001"]
