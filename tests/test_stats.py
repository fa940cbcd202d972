import json

import pytest
from click.testing import CliRunner

from datagen.commands.inspect import stats as stats_cmd
from datagen.corrupt.registry import ANOMALY_TYPES
from datagen.dataset.stats import compute_stats, format_table
from synth_dataset import build_dataset


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    root = tmp_path_factory.mktemp("ds")
    build_dataset(root)
    return root


def test_counts_by_type_like_table1(ds):
    st = compute_stats(ds)
    assert list(st["by_type"]) == list(ANOMALY_TYPES)  # every anomaly type, in registry order (zeros when absent)
    expect = {  # type: (shapes, images, [min, max, median] views per shape)
        "position": (2, 3, (1, 2, 1.5)),
        "rotation": (1, 1, (1, 1, 1)),
        "broken": (2, 4, (1, 3, 2)),
        "swapped": (1, 2, (2, 2, 2)),
        "missing": (2, 2, (1, 1, 1)),
    }
    for t, (shapes, images, (lo, hi, med)) in expect.items():
        g = st["by_type"][t]
        assert (g["shapes"], g["images"]) == (shapes, images), t
        assert g["views_per_shape"] == {"min": lo, "max": hi, "median": med}, t
    assert st["normals"] == {"shapes": 4, "images": 8, "views_per_shape": {"min": 1, "max": 3, "median": 2}}
    # anomalies: views per (shape, type) = 2,1,1,1,3,2,1,1 -> median 1
    assert st["anomalous_all"] == {"shapes": 4, "images": 12, "views_per_shape": {"min": 1, "max": 3, "median": 1}}
    assert (st["samples"], st["anomalous"], st["normal"], st["shapes"]) == (20, 12, 8, 4)


def test_splits_references_resolutions_scenes(ds):
    st = compute_stats(ds)
    assert st["by_split"]["train"] == {"images": 12, "anomalous": 7, "normal": 5, "shapes": 2, "split_shapes": 2, "scenes": 0}
    assert st["by_split"]["val"] == {"images": 2, "anomalous": 1, "normal": 1, "shapes": 1, "split_shapes": 1, "scenes": 0}
    assert st["by_split"]["test"] == {"images": 6, "anomalous": 4, "normal": 2, "shapes": 1, "split_shapes": 1, "scenes": 1}
    ref = st["reference"]
    assert ref["shapes"] == 4 and ref["views_per_shape"] == {"min": 3, "max": 5, "median": 4}
    assert ref["resolutions"] == {"query": {"48x48": 20}, "reference": {"32x32": 4}}
    assert st["scenes"] == {"count": 1, "anomalous": 1, "normal": 0, "by_type": {"broken": 1},
                            "by_split": {"train": 0, "val": 0, "test": 1}}
    assert (st["format_version"], st["seed"]) == (1, 0)
    json.dumps(st)  # serializable


def test_max_meta_reads_a_subset(ds):
    st = compute_stats(ds, max_meta=5)
    assert st["reference"]["meta_read"] == 5 and st["reference"]["resolutions"]["query"] == {"48x48": 5}
    assert compute_stats(ds, max_meta=0)["reference"]["resolutions"]["query"] == {}


def test_no_image_is_read(ds, monkeypatch):
    import PIL.Image

    def fail(*a, **k):
        raise AssertionError("stats must not open images")

    monkeypatch.setattr(PIL.Image, "open", fail)
    assert compute_stats(ds)["samples"] == 20


def test_format_table(ds):
    text = format_table(compute_stats(ds))
    lines = text.splitlines()
    row = {ln.split()[0]: ln for ln in lines if ln.split()}
    assert row["position"].split()[1:3] == ["2", "3"] and row["position"].endswith("[1, 2, 1.5]")
    assert row["broken"].endswith("[1, 3, 2]")
    assert row["normal"].split()[1:3] == ["4", "8"] and row["normal"].endswith("[1, 3, 2]")
    assert row["total"].split()[1:] == ["4", "20"]
    assert row["train"].split()[1:] == ["12", "7", "5", "2", "2", "0"]
    assert "reference shapes: 4, views per shape [3, 5, 4]" in text
    assert "query 48x48 (20); reference 32x32 (4)" in text
    assert "scenes (Odd-One-Out): 1" in text


def test_dataset_without_scenes_or_samples_of_a_type(tmp_path):
    build_dataset(tmp_path, scenes=False)
    st = compute_stats(tmp_path)
    assert st["scenes"]["count"] == 0 and "Odd-One-Out" not in format_table(st)
    # drop every rotation row from the index: the type stays in the table with zeros
    idx = tmp_path / "index.jsonl"
    idx.write_text("".join(ln + "\n" for ln in idx.read_text().splitlines() if '"rotation"' not in ln))
    st = compute_stats(tmp_path)
    assert st["by_type"]["rotation"] == {"shapes": 0, "images": 0, "views_per_shape": None}
    assert "rotation" in format_table(st) and st["anomalous"] == 11


def test_cli(ds, tmp_path):
    r = CliRunner().invoke(stats_cmd, [str(ds)])
    assert r.exit_code == 0, r.output
    assert "views per shape" in r.output and "position" in r.output
    r = CliRunner().invoke(stats_cmd, [str(ds), "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["by_type"]["broken"]["images"] == 4
    r = CliRunner().invoke(stats_cmd, [str(tmp_path)])
    assert r.exit_code == 1 and "dataset.json: file not found" in r.output
