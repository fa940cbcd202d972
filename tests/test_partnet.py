"""PartNet loader on a data_v0-style folder written by hand (Y-up chair made of boxes)."""

import json
from pathlib import Path

import numpy as np
import pytest

from datagen.errors import InputError
from datagen.shapes.library import write_shape
from datagen.shapes.model import Part, Shape
from datagen.shapes.normalize import is_normalized
from datagen.shapes.partnet import (
    iter_partnet,
    list_partnet,
    load_partnet,
    partnet_groups,
    read_partnet_splits,
)


def box_obj(lo, hi, normals=False) -> str:
    """OBJ text of an axis-aligned box (quads), optionally with ``f v//vn`` records."""
    (x0, y0, z0), (x1, y1, z1) = lo, hi
    vs = [(x, y, z) for x in (x0, x1) for y in (y0, y1) for z in (z0, z1)]
    quads = [(1, 2, 4, 3), (5, 7, 8, 6), (1, 5, 6, 2), (3, 4, 8, 7), (1, 3, 7, 5), (2, 6, 8, 4)]
    lines = ["# hand-written box"] + [f"v {x} {y} {z}" for x, y, z in vs]
    if normals:
        lines.append("vn 0 1 0")
        lines += ["f " + " ".join(f"{i}//1" for i in q) for q in quads]
    else:
        lines += ["f " + " ".join(map(str, q)) for q in quads]
    return "\n".join(lines) + "\n"


# Y-up chair, source units (centimetres-ish, not normalized); the back is at -z.
BOXES = {
    "new-0": ((-20, 45, -22), (20, 95, -18)),  # back surface
    "new-1": ((-20, 40, -20), (0, 45, 20)),  # seat, left half
    "new-2": ((0, 40, -20), (20, 45, 20)),  # seat, right half
    "new-3": ((-20, 0, -20), (-16, 40, -16)),  # legs
    "new-4": ((16, 0, -20), (20, 40, -16)),
    "new-5": ((-20, 0, 16), (-16, 40, 20)),
    "new-6": ((16, 0, 16), (20, 40, 20)),
    "new-7": ((-24, 45, -20), (-20, 60, 20)),  # arm (a leaf directly under the root)
}

TREE = [
    {
        "text": "Chair",
        "name": "chair",
        "id": 0,
        "children": [
            {"text": "Chair Back", "name": "chair_back", "id": 1, "children": [{"text": "Back Surface", "name": "back_surface", "id": 2, "objs": ["new-0"]}]},
            {"text": "Chair Seat", "name": "chair_seat", "id": 3, "children": [{"text": "Seat Surface", "name": "seat_surface", "id": 4, "objs": ["new-1", "new-2"]}]},
            {
                "text": "Chair Base",
                "name": "chair_base",
                "id": 5,
                "children": [
                    {
                        "text": "Regular Leg Base",
                        "name": "regular_leg_base",
                        "id": 6,
                        "children": [{"text": "Leg", "name": "leg", "id": 7 + k, "objs": [f"new-{3 + k}"]} for k in range(4)],
                    }
                ],
            },
            {"text": "Chair Arm", "name": "chair_arm", "id": 11, "objs": ["new-7"]},
        ],
    }
]


def make_partnet(root: Path, anno_id="1234", cat="Chair", tree=TREE, boxes=BOXES) -> Path:
    folder = root / anno_id
    (folder / "objs").mkdir(parents=True)
    for stem, (lo, hi) in boxes.items():
        (folder / "objs" / f"{stem}.obj").write_text(box_obj(lo, hi, normals=stem == "new-0"))
    (folder / "result.json").write_text(json.dumps(tree))
    meta = {"model_id": "abcdef", "anno_id": anno_id, "user_id": "u", "time_in_sec": "1", "version": "v0", "model_cat": cat}
    (folder / "meta.json").write_text(json.dumps(meta))
    return folder


@pytest.fixture
def chair(tmp_path):
    return make_partnet(tmp_path / "data_v0")


def test_leaf_level(chair):
    s = load_partnet(chair, level="leaf")
    assert s.id == "1234" and s.category == "chair" and s.source == "partnet"
    assert [p.label for p in s.parts] == ["back_surface", "seat_surface", "leg", "leg", "leg", "leg", "chair_arm"]
    assert [p.name for p in s.parts] == ["back_surface_0", "seat_surface_0", "leg_0", "leg_1", "leg_2", "leg_3", "chair_arm_0"]
    assert s.part("leg_2").path == "chair/chair_base/regular_leg_base/leg"
    assert s.part("back_surface_0").path == "chair/chair_back/back_surface"
    # the seat leaf owns two OBJs, two boxes touching at x = 0: concatenated (2 x 8 vertices,
    # 2 x 12 triangles); cleaning welds the 4 shared corners and drops the two-sided wall
    # between the boxes (2 triangles each side): one closed 12-vertex, 20-triangle solid
    raw = load_partnet(chair, level="leaf", clean=False).part("seat_surface_0")
    assert raw.vertices.shape == (16, 3) and raw.faces.shape == (24, 3)
    seat = s.part("seat_surface_0")
    assert seat.vertices.shape == (12, 3) and seat.faces.shape == (20, 3)
    assert seat.mesh().is_watertight and seat.mesh().volume > 0
    rep = s.meta["clean"]["parts"]["seat_surface_0"]
    assert (rep["welded"], rep["two_sided"], rep["internal_walls"]) == (4, 2, 4)
    assert s.meta["model_cat"] == "Chair" and s.meta["partnet_level"] == "leaf"


def test_z_up_normalization(chair):
    s = load_partnet(chair)
    assert is_normalized(s)
    seat = s.part("seat_surface_0")
    legs = s.parts_with_label("leg")
    back = s.part("back_surface_0")
    # Y up -> Z up: the seat is above every leg, the back above the seat
    assert seat.bounds[0, 2] >= max(leg.bounds[1, 2] for leg in legs) - 1e-9
    assert back.center[2] > seat.center[2]
    # source height 95 maps to the top of the shape
    assert np.isclose(s.bounds[1, 2], back.bounds[1, 2])
    # the normalization record maps back to source units
    n = s.meta["normalization"]
    src = (seat.vertices / n["scale"] + n["center"]) @ np.asarray(n["rotation"])
    assert np.isclose(src[:, 1].min(), 40) and np.isclose(src[:, 1].max(), 45)


def test_depth_levels(chair):
    s1 = load_partnet(chair, level=1)
    assert [p.label for p in s1.parts] == ["chair_back", "chair_seat", "chair_base", "chair_arm"]
    assert [p.path for p in s1.parts] == ["chair/chair_back", "chair/chair_seat", "chair/chair_base", "chair/chair_arm"]
    base = s1.part("chair_base_0")
    assert base.faces.shape == (4 * 12, 3)  # four legs merged
    s2 = load_partnet(chair, level="2")
    # chair_arm is a leaf at depth 1: it stays as it is
    assert [p.label for p in s2.parts] == ["back_surface", "seat_surface", "regular_leg_base", "chair_arm"]
    assert load_partnet(chair, level=0, clean=False).parts[0].faces.shape == (8 * 12, 3)
    assert load_partnet(chair, level=0).parts[0].faces.shape == (8 * 12 - 4, 3)  # the seat's inner wall
    # deeper than the tree = leaves
    assert len(load_partnet(chair, level=9).parts) == 7
    # same geometry whatever the level
    assert np.allclose(s1.bounds, load_partnet(chair).bounds)


def test_merged_level(chair):
    s = load_partnet(chair, level="merged")  # no result_after_merging.json: result.json leaves
    assert s.meta["partnet_file"] == "result.json" and len(s.parts) == 7
    merged = [
        {
            "text": "Chair",
            "name": "chair",
            "id": 1,
            "ori_id": 0,
            "objs": list(BOXES),
            "children": [
                {"name": "chair_back", "text": "Chair Back", "id": 2, "ori_id": 1, "objs": ["new-0"]},
                {"name": "chair_seat", "text": "Chair Seat", "id": 3, "ori_id": 3, "objs": ["new-1", "new-2"]},
                {"name": "chair_base", "text": "Chair Base", "objs": ["new-3", "new-4", "new-5", "new-6"]},
                {"name": "chair_arm", "text": "Chair Arm", "id": 5, "ori_id": 11, "objs": ["new-7"]},
            ],
        }
    ]
    (chair / "result_after_merging.json").write_text(json.dumps(merged))
    s = load_partnet(chair, level="merged")
    assert s.meta["partnet_file"] == "result_after_merging.json"
    assert [p.label for p in s.parts] == ["chair_back", "chair_seat", "chair_base", "chair_arm"]


def test_max_faces(chair):
    assert len(load_partnet(chair, max_faces=96).parts) == 7
    with pytest.raises(InputError, match="mesh too large"):
        load_partnet(chair, max_faces=95)


def test_splits(tmp_path):
    d = tmp_path / "train_val_test_split"
    d.mkdir()
    (d / "Chair.train.json").write_text(json.dumps([{"model_id": "m1", "anno_id": "1"}, {"model_id": "m2", "anno_id": 2}]))
    (d / "Chair.val.json").write_text(json.dumps([{"model_id": "m3", "anno_id": "3"}]))
    (d / "Chair.test.json").write_text(json.dumps([]))
    (d / "Table.train.json").write_text(json.dumps([{"model_id": "t", "anno_id": "9"}]))
    assert read_partnet_splits(d, "Chair") == {"train": ["1", "2"], "val": ["3"], "test": []}
    assert read_partnet_splits(d, "chair")["val"] == ["3"]  # case-insensitive file names
    assert read_partnet_splits(d, "Table") == {"train": ["9"], "val": [], "test": []}
    with pytest.raises(InputError, match="no split files"):
        read_partnet_splits(d, "Lamp")
    (d / "Chair.test.json").write_text(json.dumps([{"model_id": "x"}]))
    with pytest.raises(InputError, match="Chair.test.json.*anno_id"):
        read_partnet_splits(d, "Chair")


def test_list_and_iter_by_category(tmp_path):
    root = tmp_path / "data_v0"
    make_partnet(root, "1", "Chair")
    make_partnet(root, "2", "Table")
    make_partnet(root, "3", "chair")
    (root / "not_an_annotation").mkdir()
    assert [p.name for p in list_partnet(root)] == ["1", "2", "3"]
    assert [p.name for p in list_partnet(root, "CHAIR")] == ["1", "3"]
    assert [s.id for s in iter_partnet(root, "table", level=1)] == ["2"]
    assert [p.name for p in list_partnet(root / "2")] == ["2"]
    with pytest.raises(InputError, match="not found"):
        list_partnet(tmp_path / "nope")


# --- bad input: each names the file and the problem --------------------------------
def test_broken_obj(chair):
    bad = chair / "objs" / "new-4.obj"
    bad.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 x\n")
    with pytest.raises(InputError) as e:
        load_partnet(chair)
    assert e.value.path == str(bad) and "bad face index" in e.value.problem


def test_missing_obj(chair):
    (chair / "objs" / "new-5.obj").unlink()
    with pytest.raises(InputError, match=r"new-5\.obj: file not found"):
        load_partnet(chair)


def test_empty_part(chair):
    (chair / "objs" / "new-0.obj").write_text("v 0 0 0\nv 1 0 0\n")
    with pytest.raises(InputError, match=r"new-0\.obj: empty part 'back_surface'"):
        load_partnet(chair)


def test_missing_result_json(chair):
    (chair / "result.json").unlink()
    with pytest.raises(InputError, match=r"result\.json: file not found"):
        load_partnet(chair)


def test_bad_json(chair):
    (chair / "result.json").write_text('[{"name": "chair", "children": [}]')
    with pytest.raises(InputError, match=r"result\.json: bad JSON at line 1"):
        load_partnet(chair)
    (chair / "result.json").write_text('{"name": "chair"}')
    with pytest.raises(InputError, match=r"result\.json: expected a non-empty list"):
        load_partnet(chair)


def test_node_without_children_or_objs(chair):
    tree = json.loads(json.dumps(TREE))
    tree[0]["children"].append({"text": "Footrest", "name": "footrest", "id": 99})
    (chair / "result.json").write_text(json.dumps(tree))
    with pytest.raises(InputError, match=r"result\.json: node 'footrest' \(id 99\) has neither"):
        load_partnet(chair)
    with pytest.raises(InputError, match="has neither"):  # also when merged at depth 1
        load_partnet(chair, level=1)


def test_bad_meta_and_level(chair):
    with pytest.raises(InputError, match="level must be"):
        load_partnet(chair, level="coarse")
    (chair / "meta.json").unlink()
    with pytest.raises(InputError, match=r"meta\.json: file not found"):
        load_partnet(chair)
    assert load_partnet(chair, category="chair").category == "chair"
    with pytest.raises(InputError, match="PartNet folder not found"):
        load_partnet(chair / "nope")


def test_groups_walk_children_first():
    tree = [{"name": "a", "children": [{"name": "b", "objs": ["x"], "children": [{"name": "c", "objs": ["y"]}]}]}]
    assert partnet_groups(tree, "leaf", Path("t.json")) == [("c", "a/b/c", ["y"])]


# --- our own library folders --------------------------------------------------------
def test_reads_write_shape_folder(chair, tmp_path):
    src = load_partnet(chair)
    folder = write_shape(src, tmp_path / "lib")
    s = load_partnet(folder)
    assert s.id == src.id and s.category == "chair" and s.source == "partnet"
    assert [p.name for p in s.parts] == [p.name for p in src.parts]
    assert [p.label for p in s.parts] == [p.label for p in src.parts]
    assert [p.path for p in s.parts] == [p.path for p in src.parts]
    for a, b in zip(s.parts, src.parts):  # not rotated again
        assert np.allclose(a.vertices, b.vertices, atol=1e-8)
        assert np.array_equal(a.faces, b.faces)
    assert s.meta["normalization"] == src.meta["normalization"]
    s1 = load_partnet(folder, level=1)
    assert [p.label for p in s1.parts] == ["chair_back", "chair_seat", "chair_base", "chair_arm"]
    assert np.allclose(s1.bounds, src.bounds, atol=1e-8)


def test_reads_write_shape_folder_with_custom_names(tmp_path):
    # a procedural-style shape: paths without the category prefix, names not <label>_<k>
    box = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], dtype=float)
    faces = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1], [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    parts = [
        Part("seat", "chair_seat", box * [1, 1, 0.1] + [0, 0, 0.5], faces, "chair_seat"),
        Part("leg.front-left", "leg", box * 0.1, faces, "chair_base/leg"),
    ]
    from datagen.shapes.normalize import normalize

    shape = normalize(Shape("proc-0001", "chair", parts, source="procedural", meta={"seed": 7}), up="z")
    s = load_partnet(write_shape(shape, tmp_path))
    assert [p.name for p in s.parts] == ["seat", "leg.front-left"]
    assert [p.path for p in s.parts] == ["chair_seat", "chair_base/leg"]
    assert s.source == "procedural" and s.meta["seed"] == 7
    assert np.allclose(s.part("seat").vertices, shape.part("seat").vertices)


def test_write_shape_folder_keeps_part_order(tmp_path):
    # parts interleave two branches (leg, wheel, leg, wheel): the tree groups them, the
    # loaded shape keeps the library order
    box = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], dtype=float)
    faces = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1], [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    parts = []
    for k in range(2):
        parts.append(Part(f"leg_{k}", "leg", box + [3 * k, 0, 0], faces, "chair/chair_base/star_leg_base/leg"))
        parts.append(Part(f"wheel_{k}", "wheel", box * 0.5 + [3 * k, 0, -1], faces, "chair/chair_base/star_leg_base/caster/wheel"))
    from datagen.shapes.normalize import normalize

    shape = normalize(Shape("c1", "chair", parts), up="z")
    s = load_partnet(write_shape(shape, tmp_path))
    assert [p.name for p in s.parts] == ["leg_0", "wheel_0", "leg_1", "wheel_1"]
    for a, b in zip(s.parts, shape.parts):
        assert np.allclose(a.vertices, b.vertices)
