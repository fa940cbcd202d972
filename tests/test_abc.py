"""ABC loader on model folders written by hand (OBJ text + features yml)."""

from pathlib import Path

import numpy as np
import pytest
import trimesh

from datagen.errors import InputError
from datagen.shapes.abc import find_abc_files, list_abc, load_abc
from datagen.shapes.normalize import is_normalized

ABC_ID = "00000007"
STEM = f"{ABC_ID}_1ffb81a71e5b402e966b9341"


def obj_text(v, f) -> str:
    """ABC-style OBJ: v, vn and ``f v//vn`` records, 1-based."""
    lines = [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in v] + ["vn 0 0 1"]
    lines += [f"f {a + 1}//1 {b + 1}//1 {c + 1}//1" for a, b, c in f]
    return "\n".join(lines) + "\n"


def cylinder(radius=5.0, height=40.0):
    """A closed cylinder along Z (CAD units), faces split into side / caps by normal."""
    m = trimesh.creation.cylinder(radius=radius, height=height, sections=24)
    v, f = np.asarray(m.vertices), np.asarray(m.faces)
    top = np.flatnonzero(m.face_normals[:, 2] > 0.99)
    bottom = np.flatnonzero(m.face_normals[:, 2] < -0.99)
    side = np.flatnonzero(np.abs(m.face_normals[:, 2]) <= 0.99)
    return v, f, side, (top, bottom)


def features_yml(patches) -> str:
    """Hand-written features yml: [(type, face ids)] -> text in ABC's layout."""
    out = ["curves: []", "surfaces:"]
    for t, ids in patches:
        out += [
            f"- type: {t}",
            "  coefficients: [0, 0, 0]",
            "  face_indices: [" + ", ".join(str(int(i)) for i in ids) + "]",
            "  vert_indices: [0, 1, 2]",
            "  vert_parameters: [[0, 0], [0, 1], [1, 0]]",
        ]
    return "\n".join(out) + "\n"


def make_model(root: Path, v, f, patches=None, model_id=ABC_ID, features_dir=None) -> Path:
    folder = root / model_id
    folder.mkdir(parents=True)
    stem = f"{model_id}_1ffb81a71e5b402e966b9341"
    (folder / f"{stem}_trimesh_001.obj").write_text(obj_text(v, f))
    if patches is not None:
        ydir = folder if features_dir is None else features_dir / model_id
        ydir.mkdir(parents=True, exist_ok=True)
        (ydir / f"{stem}_features_001.yml").write_text(features_yml(patches))
    return folder


def box(lo, hi):
    m = trimesh.creation.box(bounds=[lo, hi])
    return np.asarray(m.vertices), np.asarray(m.faces)


def two_bodies():
    """A long bar (shaft-like) and a thin plate, disjoint."""
    v1, f1 = box([0, 0, 0], [60, 6, 6])
    v2, f2 = box([0, 20, 0], [30, 50, 2])
    return np.concatenate([v1, v2]), np.concatenate([f1, f2 + len(v1)])


def test_patches_from_features(tmp_path):
    v, f, side, caps = cylinder()
    folder = make_model(tmp_path, v, f, [("Cylinder", side), ("Plane", caps[0]), ("Plane", caps[1])])
    s = load_abc(folder, parts="patches")
    assert s.id == ABC_ID and s.category == "mechanical" and s.source == "abc"
    assert is_normalized(s)
    assert sorted(p.label for p in s.parts) == ["plate", "plate", "shaft"]
    assert s.part("shaft_0").faces.shape == (len(side), 3)
    assert s.part("plate_0").faces.shape == (len(caps[0]), 3)
    assert s.part("plate_0").extents[2] < 1e-9  # a flat cap
    # Z up kept (ABC is Z up): the cylinder axis stays vertical
    ext = s.bounds[1] - s.bounds[0]
    assert ext[2] > 3 * ext[0]
    assert s.meta["abc"]["patches"] == 3 and s.meta["abc"]["features"].endswith("_features_001.yml")
    # components: the two patches are one connected body; the larger patch names it
    c = load_abc(folder, parts="components")
    assert [p.label for p in c.parts] == ["shaft"] and c.parts[0].faces.shape == (len(f), 3)


def test_concave_cylinder_is_a_hole(tmp_path):
    v, f, side, caps = cylinder()
    f = f.copy()
    f[side] = f[side][:, ::-1]  # normals point to the axis: an inner (hole) surface
    folder = make_model(tmp_path, v, f, [("Cylinder", side), ("Plane", caps[0]), ("Plane", caps[1])])
    assert sorted(p.label for p in load_abc(folder, parts="patches").parts) == ["hole", "plate", "plate"]


def test_components_without_features(tmp_path):
    v, f = two_bodies()
    folder = make_model(tmp_path, v, f)
    s = load_abc(folder)
    assert [p.label for p in s.parts] == ["shaft", "plate"] or [p.label for p in s.parts] == ["plate", "shaft"]
    assert sorted(len(p.faces) for p in s.parts) == [12, 12]
    assert s.meta["abc"]["features"] is None
    # asking for patches without a yml falls back to components
    assert len(load_abc(folder, parts="patches").parts) == 2


def test_tiny_parts_and_cap(tmp_path):
    v, f = two_bodies()
    vt, ft = box([100, 100, 100], [100.5, 100.5, 100.5])  # a speck
    v, f = np.concatenate([v, vt]), np.concatenate([f, ft + len(v)])
    folder = make_model(tmp_path, v, f)
    s = load_abc(folder)
    assert len(s.parts) == 2 and s.meta["abc"]["dropped_faces"] == 12
    assert len(load_abc(folder, min_area_frac=0.0).parts) == 3
    capped = load_abc(folder, min_area_frac=0.0, max_parts=1)
    assert len(capped.parts) == 1 and capped.parts[0].label == "plate"  # the largest area is kept
    assert capped.meta["abc"]["dropped_faces"] == 24


def test_patch_merging_keeps_surface_closed(tmp_path):
    v, f, side, caps = cylinder()
    # many one-face patches: tiny ones merge into neighbours, nothing is dropped
    patches = [("Cylinder", side)] + [("Plane", [i]) for i in np.concatenate(caps)]
    folder = make_model(tmp_path, v, f, patches)
    s = load_abc(folder, parts="patches", max_parts=4)
    assert 1 <= len(s.parts) <= 4
    assert sum(len(p.faces) for p in s.parts) == len(f)
    assert s.meta["abc"]["dropped_faces"] == 0 and s.meta["abc"]["merged"] > 0


def test_unclaimed_faces_and_features_root(tmp_path):
    v, f, side, caps = cylinder()
    feats = tmp_path / "feat_v00"
    folder = make_model(tmp_path / "obj_v00", v, f, [("Cylinder", side)], features_dir=feats)
    obj, yml = find_abc_files(folder)
    assert yml is None
    obj, yml = find_abc_files(folder, features_root=feats)
    assert yml == feats / ABC_ID / f"{STEM}_features_001.yml"
    s = load_abc(folder, parts="patches", features_root=feats)
    # the caps are in no patch: they form an extra 'Other' patch (label freeform)
    assert sorted(p.label for p in s.parts) == ["freeform", "shaft"]
    assert sum(len(p.faces) for p in s.parts) == len(f)


def test_list_abc(tmp_path):
    v, f = box([0, 0, 0], [1, 1, 1])
    make_model(tmp_path, v, f, model_id="00000002")
    make_model(tmp_path, v, f, model_id="00000001")
    (tmp_path / "empty").mkdir()
    assert [p.name for p in list_abc(tmp_path)] == ["00000001", "00000002"]
    assert [p.name for p in list_abc(tmp_path / "00000001")] == ["00000001"]
    with pytest.raises(InputError, match="not found"):
        list_abc(tmp_path / "missing")


def test_bad_inputs(tmp_path):
    v, f, side, caps = cylinder()
    folder = make_model(tmp_path, v, f, [("Cylinder", side), ("Plane", caps[0]), ("Plane", caps[1])])
    yml = next(folder.glob("*.yml"))
    obj = next(folder.glob("*.obj"))
    with pytest.raises(InputError, match="mesh too large"):
        load_abc(folder, max_faces=10)
    with pytest.raises(InputError, match="parts must be"):
        load_abc(folder, parts="bodies")
    yml.write_text("surfaces: [\n  - type: Plane\n    face_indices: [0, 1\n")
    with pytest.raises(InputError, match=r"features_001\.yml: bad YAML"):
        load_abc(folder)
    yml.write_text(features_yml([("Plane", [0, 10_000])]))
    with pytest.raises(InputError, match=r"features_001\.yml: surface 0: face index out of range"):
        load_abc(folder)
    yml.unlink()
    obj.write_text("v 0 0 0\nf 1 2 3 4\n")
    with pytest.raises(InputError, match=r"trimesh_001\.obj: face index out of range"):
        load_abc(folder)
    obj.write_text("v 0 0 0\n")
    with pytest.raises(InputError, match=r"trimesh_001\.obj: no faces"):
        load_abc(folder)
    obj.unlink()
    with pytest.raises(InputError, match="no ABC mesh"):
        load_abc(folder)
