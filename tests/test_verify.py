import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from datagen.commands.inspect import verify as verify_cmd
from datagen.dataset.verify import verify
from datagen.dataset.writer import save_png
from synth_dataset import build_dataset


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


def _meta(ds, sid):
    return ds / "samples" / sid / "meta.json"


def _edit_meta(ds, sid, **changes):
    p = _meta(ds, sid)
    meta = json.loads(p.read_text())
    meta.update(changes)
    p.write_text(json.dumps(meta))


def _one(problems, *needles):
    hits = [p for p in problems if all(n in p for n in needles)]
    assert hits, f"no problem with {needles} in {problems}"
    return hits


def test_good_dataset_has_no_problems(good):
    assert verify(good) == []
    assert verify(good, pixels=False) == []


def test_missing_files(ds):
    (ds / "samples" / "A_normal_0" / "rgb.png").unlink()
    (ds / "samples" / "B_position_0" / "mask_old.png").unlink()
    (ds / "samples" / "D_broken_0" / "mask_new.png").unlink()
    (ds / "samples" / "C_normal_0" / "depth.npy").unlink()
    probs = verify(ds)
    _one(probs, "A_normal_0/rgb.png", "missing")
    _one(probs, "B_position_0/mask_old.png", "missing")
    _one(probs, "D_broken_0/mask_new.png", "missing")
    _one(probs, "C_normal_0/depth.npy", "missing")
    assert len(probs) == 4, probs  # missing: mask_old is not required (A_missing_0, D_missing_0)


def test_broken_json(ds):
    _meta(ds, "A_broken_0").write_text("{not json")
    (ds / "shapes" / "B" / "views" / "cameras.json").write_text("[{")
    probs = verify(ds)
    _one(probs, "A_broken_0/meta.json", "bad JSON")
    _one(probs, "B/views/cameras.json", "bad JSON")
    (ds / "dataset.json").write_text("nope")
    _one(verify(ds), "dataset.json", "bad JSON")
    (ds / "index.jsonl").write_text((ds / "index.jsonl").read_text() + "{oops\n")
    _one(verify(ds), "index.jsonl", "bad JSON")


def test_format_version(ds):
    info = json.loads((ds / "dataset.json").read_text())
    info["format_version"] = 2
    (ds / "dataset.json").write_text(json.dumps(info))
    assert verify(ds) == [f"{ds / 'dataset.json'}: format_version 2 != 1"]


def test_bbox_outside_or_inconsistent(ds):
    _edit_meta(ds, "A_position_0", bbox=[30, 4, 60, 25])  # 48 px image
    _edit_meta(ds, "B_swapped_0", bbox=[0, 0, 10, 10])  # inside, but not around the masks
    _edit_meta(ds, "D_broken_0", bbox=[0, 0, 48, 48])  # much larger than the masks
    _edit_meta(ds, "D_broken_1", bbox=None)
    probs = verify(ds)
    _one(probs, "A_position_0/meta.json", "outside the 48x48 image")
    _one(probs, "B_swapped_0/meta.json", "does not contain mask_new")
    _one(probs, "D_broken_0/meta.json", "larger than the masks")
    _one(probs, "D_broken_1/meta.json", "without bbox")
    assert len(probs) == 4, probs
    # without pixels the bbox is still checked against the image (the altered files' digests aside)
    probs = verify(ds, pixels=False, manifests=False)
    _one(probs, "A_position_0/meta.json", "outside")
    assert not [p for p in probs if "B_swapped_0" in p]


def test_leftover_temporary_folders(ds):
    (ds / "samples" / ".A_normal_9.k3j2.tmp").mkdir()
    (ds / "shapes" / ".E.x1.tmp").mkdir()
    (ds / "scenes" / ".scene_1.q.old").mkdir()
    (ds / ".index.jsonl.abc.tmp").write_text("")
    probs = verify(ds)
    for name in (".A_normal_9.k3j2.tmp", ".E.x1.tmp", ".scene_1.q.old", ".index.jsonl.abc.tmp"):
        _one(probs, name, "leftover temporary")
    assert len(probs) == 4, probs


def test_overlapping_and_incomplete_splits(ds):
    (ds / "splits.json").write_text(json.dumps({"train": ["A", "B"], "val": ["C", "A"], "test": []}))
    probs = verify(ds)
    _one(probs, "splits.json", "'A' is in both train and val")
    _one(probs, "splits.json", "1 sample shape(s) in no split: D")
    (ds / "splits.json").write_text(json.dumps({"train": ["A"], "val": ["C", "B"], "test": ["D"]}))
    _one(verify(ds), "B_normal_0", "split 'train' but its shape 'B' is in val")


def test_pixel_problems(ds):
    d = ds / "samples" / "A_normal_1"
    depth = np.load(d / "depth.npy")
    depth[3, 3] = np.nan
    np.save(d / "depth.npy", depth)
    d = ds / "samples" / "B_normal_0"
    depth = np.load(d / "depth.npy")
    depth[5, 5] = -1.0
    np.save(d / "depth.npy", depth)
    d = ds / "samples" / "C_normal_0"
    parts = np.asarray(Image.open(d / "parts.png")).astype(np.uint16)
    parts[0, 0] = 9  # 4 parts
    save_png(d / "parts.png", parts)
    d = ds / "samples" / "D_normal_0"
    Image.open(d / "rgb.png").resize((40, 40)).save(d / "rgb.png")
    probs = verify(ds)
    _one(probs, "A_normal_1/depth.npy", "1 non-finite")
    _one(probs, "B_normal_0/depth.npy", "1 negative")
    _one(probs, "C_normal_0/parts.png", "part index 9 > len(meta.parts) = 4")
    _one(probs, "D_normal_0/rgb.png", "size 40x40 != camera 48x48")
    assert len(probs) == 4, probs
    assert verify(ds, pixels=False, manifests=False) == [p for p in probs if "rgb.png" in p]


def test_anomaly_records(ds):
    _edit_meta(ds, "C_rotation_0", anomaly={"type": "melted", "part": "leg_left"})
    _edit_meta(ds, "A_normal_2", anomaly={"type": "broken"})
    probs = verify(ds)
    _one(probs, "C_rotation_0/meta.json", "anomaly type 'melted' is not one of")
    _one(probs, "index.jsonl", "C_rotation_0: anomaly_type 'rotation' != meta.json 'melted'")
    _one(probs, "A_normal_2/meta.json", "normal sample (label 0) with an anomaly record")


def test_references(ds):
    v = ds / "shapes" / "A" / "views"
    (v / "0003.png").unlink()
    (v / "0001_points.npy").unlink()
    np.save(v / "0002_depth.npy", np.zeros((8, 8), np.float32))
    shutil.rmtree(ds / "shapes" / "C")
    probs = verify(ds)
    _one(probs, "A/views", "3 view images but 4 cameras")
    _one(probs, "A/views/0003.png", "missing")
    _one(probs, "A/views/0001_points.npy", "missing")
    _one(probs, "A/views/0002_depth.npy", "shape (8, 8) != (32, 32)")
    _one(probs, "shapes/C", "reference views missing")


def test_index_and_folders_disagree(ds):
    shutil.rmtree(ds / "samples" / "D_normal_1")
    shutil.copytree(ds / "samples" / "D_normal_0", ds / "samples" / "D_normal_7")
    probs = verify(ds)
    _one(probs, "D_normal_1", "indexed sample folder missing")
    _one(probs, "D_normal_7", "folder not in index.jsonl")
    (ds / "index.jsonl").unlink()
    _one(verify(ds), "index.jsonl", "missing")


def test_scenes(ds):
    (ds / "scenes" / "scene_0" / "instances" / "0002.png").unlink()
    probs = verify(ds)
    _one(probs, "scene_0", "view counts differ")


def test_counts_not_finalized(ds):
    lines = (ds / "index.jsonl").read_text().splitlines()
    (ds / "index.jsonl").write_text("\n".join(ln for ln in lines if "A_normal_0" not in ln) + "\n")
    probs = verify(ds)
    _one(probs, "dataset.json", "differ from index.jsonl")
    _one(probs, "A_normal_0", "folder not in index.jsonl")


def test_cli(good, ds):
    r = CliRunner().invoke(verify_cmd, [str(good)])
    assert r.exit_code == 0 and r.output.strip().endswith(": ok")
    for sid in ("A_normal_0", "A_normal_1", "B_normal_0"):
        (ds / "samples" / sid / "rgb.png").unlink()
    r = CliRunner().invoke(verify_cmd, [str(ds)])
    assert r.exit_code == 1
    assert r.output.count("rgb.png: missing") == 3 and "3 problem(s)" in r.output
    r = CliRunner().invoke(verify_cmd, [str(ds), "--limit", "1", "--no-pixels"])
    assert r.exit_code == 1 and r.output.count("rgb.png: missing") == 1 and "and 2 more" in r.output
