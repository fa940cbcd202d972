"""Generic mesh-file loader: OBJ groups, GLB nodes, PLY/STL components, bad files."""

import numpy as np
import pytest
import trimesh

from datagen.errors import InputError
from datagen.shapes.meshfile import face_components, load_meshfile, sanitize, unique_names
from datagen.shapes.normalize import is_normalized


def to_source(shape, points):
    """Undo the normalization record: normalized points -> the file's coordinates."""
    n = shape.meta["normalization"]
    return (np.asarray(points) / n["scale"] + n["center"]) @ np.asarray(n["rotation"])


def test_obj_groups(tmp_path):
    p = tmp_path / "table.obj"
    p.write_text(
        "# two groups, Y up\n"
        "v 0 1 0\nv 1 1 0\nv 1 1 1\nv 0 1 1\n"  # top at y=1
        "v 0 0 0\nv 0.1 0 0\nv 0.1 1 0\n"
        "g Table Top\nf 1 2 3 4\n"
        "o leg\nf 5 6 7\n"
    )
    s = load_meshfile(p)
    assert s.id == "table" and s.category == "object" and s.source == "meshfile"
    assert [p.label for p in s.parts] == ["Table_Top", "leg"]
    assert [p.name for p in s.parts] == ["Table_Top_0", "leg_0"]
    top = s.part("Table_Top_0")
    assert top.vertices.shape == (4, 3) and top.faces.shape == (2, 3)  # quad -> 2 triangles, own vertices only
    assert is_normalized(s)
    # auto up for OBJ is Y: the top (y=1) is the highest part in Z
    assert np.isclose(top.bounds[0, 2], s.bounds[1, 2]) and s.meta["up"] == "y"
    assert np.allclose(to_source(s, top.vertices)[:, 1], 1)


def test_obj_without_groups_splits_components(tmp_path):
    a, b = trimesh.creation.box(), trimesh.creation.box().apply_translation([3, 0, 0])
    m = trimesh.util.concatenate([a, b])
    p = tmp_path / "two.obj"
    p.write_text("".join(f"v {x} {y} {z}\n" for x, y, z in m.vertices) + "".join(f"f {i+1} {j+1} {k+1}\n" for i, j, k in m.faces))
    s = load_meshfile(p, up="z")
    assert [p.label for p in s.parts] == ["part_0", "part_1"]


def test_glb_nodes(tmp_path):
    scene = trimesh.Scene()
    seat = trimesh.creation.box(extents=[1.0, 0.1, 1.0])
    leg = trimesh.creation.cylinder(radius=0.05, height=0.5, sections=12)
    t_seat = trimesh.transformations.translation_matrix([0, 0.5, 0])
    t_leg = trimesh.transformations.translation_matrix([0.4, 0.25, 0.4]) @ trimesh.transformations.rotation_matrix(np.pi / 2, [1, 0, 0])
    scene.add_geometry(seat, node_name="seat", geom_name="seat_mesh", transform=t_seat)
    scene.add_geometry(leg, node_name="leg front/left", geom_name="leg_mesh", transform=t_leg)
    p = tmp_path / "stool.glb"
    p.write_bytes(scene.export(file_type="glb"))
    s = load_meshfile(p, category="stool")
    assert sorted(p.label for p in s.parts) == ["leg_front_left", "seat"]
    assert s.category == "stool" and is_normalized(s)
    # the node transforms were applied: back in file coordinates the parts sit where placed
    seat_src = to_source(s, s.part("seat_0").vertices)
    leg_src = to_source(s, s.part("leg_front_left_0").vertices)
    assert np.allclose(seat_src.mean(0), [0, 0.5, 0], atol=1e-6)
    assert np.allclose((leg_src.min(0) + leg_src.max(0)) / 2, [0.4, 0.25, 0.4], atol=1e-6)
    assert np.isclose(np.ptp(leg_src[:, 1]), 0.5, atol=1e-6)  # rotated: the leg's axis is Y
    assert s.part("seat_0").center[2] > s.part("leg_front_left_0").center[2]  # Y up -> Z up


def test_ply_components(tmp_path):
    a = trimesh.creation.box(extents=[2, 2, 2])
    b = trimesh.creation.icosphere(subdivisions=1).apply_translation([5, 0, 0])
    m = trimesh.util.concatenate([a, b])
    p = tmp_path / "scan.ply"
    m.export(p)
    s = load_meshfile(p)
    assert s.meta["up"] == "z"
    assert [p.label for p in s.parts] == ["part_0", "part_1"]
    assert [len(p.faces) for p in s.parts] == [len(b.faces), len(a.faces)]  # largest first


def test_stl_components_are_welded(tmp_path):
    m = trimesh.util.concatenate([trimesh.creation.box(), trimesh.creation.box().apply_translation([2, 0, 0])])
    p = tmp_path / "two.stl"
    m.export(p)  # STL repeats vertices per triangle
    s = load_meshfile(p)
    assert len(s.parts) == 2 and all(len(p.faces) == 12 for p in s.parts)


def test_many_components_capped(tmp_path):
    boxes = [trimesh.creation.box(extents=[1, 1, 1 + k]).apply_translation([3 * k, 0, 0]) for k in range(6)]
    p = tmp_path / "many.off"
    trimesh.util.concatenate(boxes).export(p)
    s = load_meshfile(p, max_parts=3)
    assert [p.label for p in s.parts] == ["part_0", "part_1", "part_rest"]
    assert sum(len(p.faces) for p in s.parts) == 72


def test_bad_files(tmp_path):
    with pytest.raises(InputError, match=r"a\.xyz: unknown mesh file type '\.xyz'"):
        load_meshfile(tmp_path / "a.xyz")
    with pytest.raises(InputError, match=r"missing\.obj: file not found"):
        load_meshfile(tmp_path / "missing.obj")
    broken = tmp_path / "broken.obj"
    broken.write_text("v 0 0 0\nv 1 0\n")
    with pytest.raises(InputError, match=r"broken\.obj: line 2: vertex needs 3 coordinates"):
        load_meshfile(broken)
    empty = tmp_path / "empty.obj"
    empty.write_text("v 0 0 0\n")
    with pytest.raises(InputError, match=r"empty\.obj: no faces"):
        load_meshfile(empty)
    big = tmp_path / "big.ply"
    trimesh.creation.icosphere(subdivisions=2).export(big)
    with pytest.raises(InputError, match=r"big\.ply: mesh too large: 320 faces > limit 100"):
        load_meshfile(big, max_faces=100)
    glb = tmp_path / "bad.glb"
    glb.write_bytes(b"not a glb file at all")
    with pytest.raises(InputError, match=r"bad\.glb: cannot read"):
        load_meshfile(glb)
    ply = tmp_path / "garbage.ply"
    ply.write_text("ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nend_header\n1\n")
    with pytest.raises(InputError, match=r"garbage\.ply"):
        load_meshfile(ply)
    with pytest.raises(InputError, match="up axis"):
        load_meshfile(big, up="w")


def test_helpers():
    assert sanitize("leg front/left (2)") == "leg_front_left_2"
    assert sanitize("///") == "part"
    assert unique_names(["a", "b", "a"]) == ["a_0", "b_0", "a_1"]
    v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [5, 5, 5], [6, 5, 5], [5, 6, 5], [0, 0, 0]], float)
    f = np.array([[3, 4, 5], [0, 1, 2], [6, 2, 1]])
    # face 2 reuses a duplicate of vertex 0: welded, it joins face 1's component
    assert face_components(v, f).tolist() == [1, 0, 0]
    assert face_components(v, f, welded=False).tolist() == [1, 0, 0]  # still shares 1, 2
