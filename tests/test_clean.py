"""``datagen.shapes.clean`` on hand-built meshes that look like real (ShapeNet/PartNet) data."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import trimesh

from datagen.corrupt import corrupt
from datagen.shapes.clean import CleanReport, clean_part, clean_shape
from datagen.shapes.library import read_shape, write_shape
from datagen.shapes.model import Part, Shape
from datagen.shapes.normalize import normalize
from real_fixtures import box, cylinder, double_sided, flip_patch, merge, seat_sheet, soup, with_degenerate


def _mesh(v, f):
    return trimesh.Trimesh(v, f, process=False)


def _check_idempotent(v, f):
    v2, f2, rep = clean_part(v, f)
    assert np.array_equal(v2, v) and np.array_equal(f2, f)
    assert not rep.changed
    assert rep.welded == rep.degenerate == rep.duplicates == rep.two_sided == rep.internal_walls == rep.flipped == 0


def _same_surface(v1, f1, v2, f2):
    """Same triangles, same winding (as vertex-coordinate triples up to rotation)."""

    def canon(v, f):
        tris = []
        for t in np.round(v[f], 9).tolist():
            k = min(range(3), key=lambda i: t[i])
            tris.append(tuple(map(tuple, t[k:] + t[:k])))
        return sorted(tris)

    return canon(v1, f1) == canon(v2, f2)


def test_double_sided_box_becomes_the_single_sided_box():
    v0, f0 = box((0, 0, 0), (2, 1, 0.5))
    v, f = double_sided(v0, f0)  # the back copy on its own vertices, like ShapeNet
    v2, f2, rep = clean_part(v, f)
    assert (rep.vertices_in, rep.faces_in, rep.vertices_out, rep.faces_out) == (16, 24, 8, 12)
    assert rep.welded == 8 and rep.two_sided == 12 and rep.duplicates == 0 and rep.degenerate == 0
    assert (rep.components, rep.closed_components, rep.open_components) == (1, 1, 0)
    m = _mesh(v2, f2)
    assert m.is_watertight and m.is_winding_consistent and m.volume == pytest.approx(1.0)
    assert _same_surface(v2, f2, v0, f0)
    _check_idempotent(v2, f2)
    # on shared vertices: nothing to weld, the same result
    v3, f3, rep3 = clean_part(*double_sided(v0, f0, shared_vertices=True))
    assert rep3.welded == 0 and rep3.two_sided == 12 and _same_surface(v3, f3, v0, f0)


def test_double_sided_with_inward_copy_first_is_oriented_outward():
    v0, f0 = cylinder()
    v, f = double_sided(v0, f0[:, ::-1])  # the inward copy comes first in the file
    v2, f2, rep = clean_part(v, f)
    assert rep.two_sided == len(f0) and rep.flipped == len(f0)
    assert _mesh(v2, f2).volume > 0 and _same_surface(v2, f2, v0, f0)


def test_flipped_patches():
    v0, f0 = cylinder(sections=16)
    patch = np.arange(0, 12)  # a band of side faces
    v, f = flip_patch(v0, f0, patch)
    assert not _mesh(v, f).is_winding_consistent
    v2, f2, rep = clean_part(v, f)
    assert rep.flipped == len(patch) and rep.faces_out == len(f0) and rep.inconsistent_edges == 0
    m = _mesh(v2, f2)
    assert m.is_watertight and m.is_winding_consistent and m.volume > 0
    assert _same_surface(v2, f2, v0, f0)
    # the majority reversed (all but 3 faces): the closed body still ends outward, so those
    # 61 faces are the ones turned back
    most = np.setdiff1d(np.arange(len(f0)), [0, 5, 9])
    v3, f3, rep3 = clean_part(*flip_patch(v0, f0, most))
    assert _same_surface(v3, f3, v0, f0) and rep3.flipped == len(most)


def test_thin_open_sheet_stays_one_sheet():
    v0, f0 = seat_sheet()
    # double-sided seat surface: one layer left, still open, winding of the first copy
    v2, f2, rep = clean_part(*double_sided(v0, f0))
    assert rep.two_sided == len(f0) and rep.faces_out == len(f0)
    assert (rep.closed_components, rep.open_components) == (0, 1)
    assert _same_surface(v2, f2, v0, f0)
    _check_idempotent(v2, f2)
    # flipped faces in an open sheet: the minority is flipped, the sheet is not turned over
    v3, f3, rep3 = clean_part(*flip_patch(v0, f0, [0, 3, 7]))
    assert rep3.flipped == 3 and _same_surface(v3, f3, v0, f0)
    assert _mesh(v3, f3).is_winding_consistent


def test_triangle_soup_is_welded():
    v0, f0 = cylinder()
    v, f = soup(v0, f0)
    v2, f2, rep = clean_part(v, f)
    assert rep.welded == len(v) - len(v0) and rep.vertices_out == len(v0) and rep.faces_out == len(f0)
    assert _mesh(v2, f2).is_watertight and _same_surface(v2, f2, v0, f0)
    # a near-duplicate (within the relative tolerance) welds too; a real offset does not
    v_near = v.copy()
    v_near[5] += 1e-9
    assert clean_part(v_near, f)[2].vertices_out == len(v0)
    assert clean_part(v_near, f, weld_tol=0.0)[2].vertices_out == len(v0) + 1


def test_degenerate_faces_dropped():
    v0, f0 = box()
    v, f = with_degenerate(v0, f0)
    v2, f2, rep = clean_part(v, f)
    assert rep.degenerate == 3 and rep.faces_out == 12
    assert rep.welded == 1 and rep.unreferenced == 1  # the copy of a corner; the midpoint
    assert _mesh(v2, f2).is_watertight and _same_surface(v2, f2, v0, f0)
    _check_idempotent(v2, f2)


def test_exact_duplicates_and_touching_solids():
    v0, f0 = box()
    v, f = v0, np.concatenate([f0, f0[:4]])  # four faces stored twice, same winding
    v2, f2, rep = clean_part(v, f)
    assert rep.duplicates == 4 and rep.two_sided == 0 and rep.faces_out == 12
    # two boxes stacked face to face in one part: the wall between them goes, one solid is left
    v, f = merge(box((0, 0, 0), (1, 1, 1)), box((1, 0, 0), (2, 1, 1)))
    v2, f2, rep = clean_part(v, f)
    assert rep.two_sided == 2 and rep.internal_walls == 4 and rep.faces_out == 20
    m = _mesh(v2, f2)
    assert m.is_watertight and m.volume == pytest.approx(2.0)
    # double-sided solids that touch along an edge are not walls: nothing but copies goes
    v, f = merge(double_sided(*box((0, 0, 0), (1, 1, 1))), double_sided(*box((0, 1, 1), (1, 2, 2))))
    v2, f2, rep = clean_part(v, f)
    assert rep.internal_walls == 0 and rep.faces_out == 24 and rep.closed_components == 2


def test_everything_at_once_and_report_roundtrip():
    v, f = merge(
        double_sided(*box((0, 0, 0), (1, 1, 1))),
        flip_patch(*soup(*cylinder(center=(3, 0, 0))), [1, 2, 3]),
        double_sided(*seat_sheet(z=2.0)),
        with_degenerate(*box((5, 0, 0), (6, 1, 1))),
    )
    v2, f2, rep = clean_part(v, f)
    assert rep.components == 4 and rep.closed_components == 3 and rep.open_components == 1
    assert rep.two_sided == 12 + 40 and rep.degenerate == 3 and rep.flipped == 3
    assert CleanReport.from_dict(json.loads(json.dumps(rep.to_dict()))) == rep
    _check_idempotent(v2, f2)
    # deterministic: same input, same bytes
    v3, f3, rep3 = clean_part(v, f)
    assert np.array_equal(v3, v2) and np.array_equal(f3, f2) and rep3 == rep


def test_bad_input():
    with pytest.raises(ValueError, match="out of range"):
        clean_part(np.zeros((3, 3)), np.array([[0, 1, 3]]))
    with pytest.raises(ValueError, match="expected vertices"):
        clean_part(np.zeros((3, 2)), np.array([[0, 1, 2]]))
    v, f, rep = clean_part(np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64))
    assert len(f) == 0 and rep.faces_out == 0


def test_speed_100k_faces():
    """A 100K-face double-sided triangle soup (300K vertices, the worst case) cleans well under a second."""
    m = trimesh.creation.icosphere(subdivisions=6)  # 81,920 faces
    v, f = double_sided(*soup(m.vertices, m.faces[:50_000]))  # 100K faces, 300K vertices
    clean_part(*double_sided(*soup(m.vertices, m.faces[:100])))  # warm up imports
    t = time.perf_counter()
    _, f2, rep = clean_part(v, f)
    dt = time.perf_counter() - t
    print(f"clean_part: {len(f)} faces, {len(v)} vertices in {dt:.3f} s")
    assert rep.faces_in == 100_000 and rep.two_sided == 50_000 and rep.faces_out == 50_000
    assert dt < 1.5  # measured ~0.35 s on one core of the dev machine; slack for shared CI


# --- shapes and the library ----------------------------------------------------------------
def _ds_shape():
    body = merge(box((-0.35, -0.3, -0.25), (0.05, 0.3, 0.15)), cylinder(0.15, 0.5, 24, (0.2, 0.0, 0.0)))
    legs = [box((x, y, -0.8), (x + 0.06, y + 0.06, -0.25)) for x in (-0.3, 0.2) for y in (-0.25, 0.2)]
    parts = [Part("body", "chair_seat", *double_sided(*body))]
    parts += [Part(f"leg_{k}", "leg", *double_sided(*leg)) for k, leg in enumerate(legs)]
    parts += [Part("back", "chair_back", *double_sided(*seat_sheet(z=0.0)))]
    return Shape("ds-chair", "chair", parts, source="partnet")


def test_clean_shape_records_and_library_roundtrip(tmp_path):
    shape = normalize(clean_shape(_ds_shape()), up="z")
    rec = shape.meta["clean"]
    assert rec["version"] == 1 and set(rec["parts"]) == {p.name for p in shape.parts}
    assert rec["parts"]["body"]["two_sided"] == 12 + 96
    folder = write_shape(shape, tmp_path)
    info = json.loads((folder / "parts.json").read_text())
    assert info["parts"][0]["clean"]["two_sided"] == 108  # per part, in its entry
    assert "parts" not in info["meta"]["clean"] and info["meta"]["clean"]["weld_tol"] == 1e-6
    back = read_shape(folder)
    assert back.meta["clean"] == json.loads(json.dumps(rec))
    # an older parts.json without reports still loads
    for e in info["parts"]:
        e.pop("clean")
    info["meta"].pop("clean")
    (folder / "parts.json").write_text(json.dumps(info))
    old = read_shape(folder)
    assert "clean" not in old.meta and len(old.parts) == len(shape.parts)


def test_clean_shape_drops_all_degenerate_part():
    v, f = box()
    junk = Part("junk", "junk", np.zeros((3, 3)), np.array([[0, 1, 2]]))
    s = clean_shape(Shape("s", "thing", [Part("a", "a", v, f), junk]))
    assert [p.name for p in s.parts] == ["a"] and s.meta["clean"]["dropped_parts"] == ["junk"]
    with pytest.raises(ValueError, match="no faces left"):
        clean_shape(Shape("s", "thing", [junk]))


@pytest.mark.parametrize("kind", ["broken", "position", "rotation", "missing"])
def test_corruptions_work_on_the_cleaned_double_sided_part(kind):
    shape = normalize(clean_shape(_ds_shape()), up="z")
    body = shape.part("body")
    assert body.mesh().is_watertight
    out, rec = corrupt(shape, kind, np.random.default_rng(3), part="body")
    assert rec.part == "body"
    if kind == "missing":
        assert "body" not in [p.name for p in out.parts]
        return
    after = out.part("body")
    if kind == "broken":
        assert rec.params["repair"] == "none"  # cleaned: watertight as it is, no repair step
        m = after.mesh()
        assert m.is_watertight and 0 < m.volume < body.mesh().volume
    else:
        assert not np.allclose(after.vertices, body.vertices)
        assert np.array_equal(after.faces, body.faces)
