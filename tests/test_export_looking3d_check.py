"""The conformance check of a BrokenChairs-180K layout (datagen.export.looking3d_check) on real
exports (every sample and shape passes), on exports broken one requirement at a time (each is
found, by name), and the export's refusal of a shape whose views the official loader cannot pair."""

import json
import math
import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from datagen.dataset.reader import Dataset
from datagen.dataset.writer import DatasetWriter
from datagen.export import export_looking3d
from datagen.export import looking3d_layout as L
from datagen.export.looking3d_check import check_looking3d, crop_drop_chance
from datagen.spec import Camera
from synth_chairs import make_synthetic, random_chair, rasterize

R = 64


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    make_synthetic(root, np.random.default_rng(3), shapes=4, queries_per_shape=4, resolution=R, ref_views=8,
                   splits=(0.5, 0.25, 0.25))
    return root


@pytest.fixture(scope="module")
def exported(synth, tmp_path_factory):
    out = tmp_path_factory.mktemp("exp") / "bc_like"
    assert export_looking3d(synth, out, progress=False).failed == 0
    return out


def test_every_check_passes_on_every_sample_and_shape(synth, exported, tmp_path):
    ds = Dataset(synth)
    n_images, n_anomalies = len(ds.rows()), sum(int(r["label"]) for r in ds.rows())
    for out, size in ((exported, 512), (tmp_path / "bc256", 256)):
        if size != 512:
            assert export_looking3d(synth, out, query_size=size, progress=False).failed == 0
        rep = check_looking3d(out)
        assert rep.failed == 0, "\n".join(rep.lines())
        assert (rep.items["images"], rep.items["annotations"], rep.items["shapes"]) == (n_images, n_anomalies, 4)
        # each per-item check ran on every item
        assert rep.checks[("M", "image-background")] == rep.checks[("L", "image-read")] == n_images
        assert rep.checks[("L", "bbox")] == rep.checks[("M", "bbox-crop")] == n_anomalies
        assert rep.checks[("L", "view-arrays")] == rep.checks[("M", "xyz-projection")] == 4 * 8
        assert rep.checks[("L", "covisible")] == rep.checks[("L", "shape-views")] == 4
        # the only differences from the release: synthetic shapes have no ShapeNet id, 8 views not 20
        assert {f.check for f in rep.notes} == {"model-id", "views-20"} | ({"image-512"} if size != 512 else set())


def _first(root, pattern):
    return sorted(root.glob(pattern))[0]


def test_finds_each_broken_requirement(exported, tmp_path):
    out = tmp_path / "bc"
    shutil.copytree(exported, out)
    expected = set()
    group = _first(out, "images/*")
    (group / "README.txt").write_text("notes")  # the loader's split('_')[1] raises for every split
    expected.add(("L", "name", f"images/{group.name}/README.txt"))
    split = json.loads((out / "split.json").read_text())
    split["test"] = [7 for _ in split["test"]]  # integer ids never match a file name: no test image
    (out / "split.json").write_text(json.dumps(split))
    expected |= {("L", "split", "split.json"), ("L", "split-images", "test")}
    normal = _first(out, "images/*/*_normal.png")
    Image.new("RGB", (512, 512), (180, 180, 180)).save(normal)  # a gray floor: the model's mask = everything
    expected.add(("M", "image-background", str(normal.relative_to(out))))
    info = _first(out, "annotations/*/info_*.json")
    d = json.loads(info.read_text())
    d["2d_bbox"] = [500.0, 10.0, 40.0, 20.0]  # past the 512 frame: albumentations raises
    info.write_text(json.dumps(d))
    image = out / "images" / info.parent.name / info.name.replace("info_", "render_").replace(".json", ".png")
    expected.add(("L", "bbox", str(image.relative_to(out))))
    shapes = sorted((out / "shapes").glob("shape_*"))
    mv = shapes[0] / "mv_images"
    Image.new("L", (256, 256)).save(mv / "x_depth.png")  # drawn as a view; its .npy is missing
    expected.add(("L", "mv-files", str(shapes[0].relative_to(out))))
    npy = _first(shapes[1], "mv_images/*.npy")
    d = np.load(npy, allow_pickle=True).item()
    d["xyz"] = d["xyz"][:16, :16]
    np.save(npy, d, allow_pickle=True)
    expected.add(("L", "view-arrays", str(npy.with_suffix(".png").relative_to(out))))
    for npy in shapes[2].glob("mv_images/*.npy"):  # nothing visible: no pair shares 32 points
        d = np.load(npy, allow_pickle=True).item()
        d["is_visible"] = np.zeros_like(d["is_visible"])
        np.save(npy, d, allow_pickle=True)
    expected.add(("L", "covisible", str(shapes[2].relative_to(out))))
    png = _first(shapes[3], "mv_images/*.png")
    Image.open(png).resize((200, 200)).save(png)  # not 256: pxy / xyz no longer on the image
    expected |= {("M", "view-256", str(png.relative_to(out))), ("L", "views-alike", str(shapes[3].relative_to(out)))}
    npy = sorted(shapes[3].glob("mv_images/*.npy"))[1]
    d = np.load(npy, allow_pickle=True).item()
    d["xyz"] = np.ascontiguousarray(d["xyz"].transpose(1, 0, 2))  # (col, row) cells: the wrong frame
    np.save(npy, d, allow_pickle=True)
    transposed = str(npy.with_suffix(".png").relative_to(out))
    expected.add(("M", "xyz-projection", transposed))

    rep = check_looking3d(out)
    found = {(f.tag, f.check, f.where) for f in rep.failures}
    assert expected <= found, "\n".join(rep.lines(examples=20))
    # nothing else fails
    assert found - expected == {("M", "xyz-on-object", transposed)}  # its cells also land off the object
    assert rep.lines()[0].startswith(f"check looking3d {out}: ") and f"{rep.failed} failed" in rep.lines()[0]


def test_crop_drop_chance():
    assert crop_drop_chance([200, 200, 50, 50]) == 0.0  # the centre survives every crop
    # a box in the outer 6 px (of 256) on the right: kept by the 6 crop offsets (of 33) reaching it
    assert crop_drop_chance([500, 200, 10, 10]) == pytest.approx(27 / 33)
    assert crop_drop_chance([0, 0, 512, 512]) == 0.0


def test_export_refuses_a_shape_whose_views_share_no_points(tmp_path):
    """Two reference views, the second looking away from the chair: no pair shares 32 visible points,
    so the official loader would return None for every sample of the shape; the export says so."""
    w = DatasetWriter(tmp_path / "ds", config={"generator": "test"}, seed=0)
    shape = random_chair("lonely", np.random.default_rng(0))
    fx = 355.0 * R / 256
    views = []
    for target in ((0.0, 0.0, 0.0), (0.0, 0.0, 30.0)):
        cam = Camera.orbit(2.0, 0.3, math.radians(20), fx, R, R, target=target)
        depth, _, shade = rasterize([(p.vertices, p.faces) for p in shape.parts], cam)
        views.append({"image": (shade * 255).round().astype(np.uint8), "depth": depth, "camera": cam})
    assert (views[0]["depth"] > 0).any() and not (views[1]["depth"] > 0).any()
    w.write_reference(shape, views)
    w.write_splits({"train": ["lonely"], "test": []})
    w.finalize()
    s = export_looking3d(tmp_path / "ds", tmp_path / "bc", progress=False)
    assert s.failed == 1 and not (tmp_path / "bc" / "shapes" / "shape_lonely").exists()
    assert "share < 32 visible points" in s.failures[0]["error"] and "returns None" in s.failures[0]["error"]
    assert L.covisible_miss([np.ones(40, bool), np.ones(40, bool)]) == (0.0, 0.0)


def test_cli_export_with_check(synth, tmp_path):
    from datagen.cli import main

    r = CliRunner().invoke(main, ["export", "looking3d", str(synth), "--out", str(tmp_path / "bc"), "--check",
                                  "--no-progress"])
    assert r.exit_code == 0, r.output
    assert "check looking3d" in r.output and ": 0 failed" not in r.output and ", 0 failed," in r.output
    assert "NOTE [R] views-20: 4 of 4" in r.output and "FAIL" not in r.output
