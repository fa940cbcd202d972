"""datagen pack + trainer.packed: the packed items equal the unpacked ones, training gives the
same losses, reruns are incremental, damage is reported naming the shard."""

import csv
import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from datagen.dataset import format as F
from datagen.dataset.pack import PACK_JSON, pack_dataset
from datagen.errors import InputError
from datagen.io import atomic_write_json, read_json
from trainer.data import AnomalyDataset
from trainer.fit import TrainConfig, train
from trainer.packed import PackedDataset
from synth_chairs import make_synthetic

TINY = dict(width=8, enc_dim=16, dim=32, heads=4, beta_dim=16, topk=16, blocks=2, norm="gn")


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    make_synthetic(root, np.random.default_rng(0), shapes=4, queries_per_shape=4, resolution=64, ref_views=6,
                   splits=(0.5, 0.25, 0.25))
    return root


def _assert_same_items(a, b, epochs=(0, 3)):
    keys = ("id", "label", "anomaly_type", "shape_id", "split")
    assert [[r.get(k) for k in keys] for r in a.rows] == [[r.get(k) for k in keys] for r in b.rows]
    assert (a.labels == b.labels).all()
    for ep in epochs:
        a.set_epoch(ep)
        b.set_epoch(ep)
        for i in range(len(a)):
            x, y = a[i], b[i]
            assert x.keys() == y.keys()
            for k in x:
                xa, ya = np.asarray(x[k]), np.asarray(y[k])
                assert xa.dtype == ya.dtype and xa.shape == ya.shape, (k, xa.dtype, ya.dtype, xa.shape, ya.shape)
                assert np.array_equal(xa, ya), (ep, i, k)


@pytest.mark.parametrize("encode", ["raw", "png", "webp"])
def test_packed_items_equal_the_unpacked_ones(synth, tmp_path, encode):
    s = pack_dataset(synth, tmp_path / "p", encode=encode, progress=False)
    assert sorted(s.packed) == ["test", "train", "val"] and s.packed["train"]["queries"] == 8
    info = read_json(tmp_path / "p" / PACK_JSON)
    assert info["encode"] == encode and info["splits"]["train"]["query_size"] == [64, 64]
    for split in ("train", "val"):
        for kw in (dict(train=True, seed=5), dict(train=False)):  # augmented (flip + crop, random views), evaluation
            a = AnomalyDataset(synth, split, views=4, resolution=64, **kw)
            b = PackedDataset(tmp_path / "p", split, views=4, resolution=64, **kw)
            _assert_same_items(a, b)
    # another training resolution from the same pack (refs resized, 16 x 16 patch grid)
    _assert_same_items(AnomalyDataset(synth, "train", views=6, resolution=128, seed=1),
                       PackedDataset(tmp_path / "p", "train", views=6, resolution=128, seed=1), epochs=(1,))


def test_views_without_depth_take_the_same_coarse_path(synth, tmp_path):
    """Imported Looking 3D references (no depth, per-patch points) pack as points."""
    src = tmp_path / "ds"
    shutil.copytree(synth, src)
    shape = sorted(p.name for p in (src / F.SHAPES_DIR).iterdir())[0]
    vdir = src / F.SHAPES_DIR / shape / F.VIEWS_DIR
    cams = read_json(vdir / F.CAMERAS_JSON)
    for i, c in enumerate(cams):
        if i % 2 == 0:  # mixed: every other view without depth
            c["source"] = F.SOURCE_LOOKING3D
            (vdir / f"{F.view_stem(i)}_depth.npy").unlink()
    atomic_write_json(vdir / F.CAMERAS_JSON, cams)
    pack_dataset(src, tmp_path / "p", splits=["train"], encode="webp", progress=False)
    _assert_same_items(AnomalyDataset(src, "train", views=4, resolution=64, seed=2),
                       PackedDataset(tmp_path / "p", "train", views=4, resolution=64, seed=2))


def _losses(path):
    with open(path) as f:
        return {int(r["step"]): float(r["loss"]) for r in csv.DictReader(f)}


def test_training_on_a_pack_gives_the_same_losses(synth, tmp_path):
    pack_dataset(synth, tmp_path / "p", encode="png", progress=False)
    runs = {}
    for name, data in (("folders", synth), ("pack", tmp_path / "p")):
        cfg = TrainConfig(model="cmt", data=str(data), out=str(tmp_path / name), epochs=3, max_steps=5, views=3,
                          eval_views=3, batch_size=3, resolution=64, lr=1e-3, optimizer="adamw", amp="none", workers=0,
                          tensorboard=False, progress=False, val_split="val", model_args=dict(TINY, box_head=True),
                          log_every=1, channels_last=False, seed=7)
        assert train(cfg)["steps"] == 5
        runs[name] = _losses(tmp_path / name / "log.csv")
    assert sorted(runs["pack"]) == [1, 2, 3, 4, 5]
    for step, loss in runs["folders"].items():
        assert runs["pack"][step] == pytest.approx(loss, rel=1e-5, abs=1e-6)
    val = [json.loads(x) for x in (tmp_path / "pack" / "metrics.jsonl").read_text().splitlines()]
    ref = [json.loads(x) for x in (tmp_path / "folders" / "metrics.jsonl").read_text().splitlines()]
    assert [v["auroc"] for v in val] == pytest.approx([v["auroc"] for v in ref])


def test_pack_is_incremental_and_refuses_other_folders(synth, tmp_path):
    out = tmp_path / "p"
    s = pack_dataset(synth, out, splits=["train"], progress=False)
    assert list(s.packed) == ["train"]
    first = (out / "train-00000.a3dp").stat().st_mtime_ns
    s = pack_dataset(synth, out, progress=False)
    assert s.skipped == ["train"] and sorted(s.packed) == ["test", "val"]
    assert (out / "train-00000.a3dp").stat().st_mtime_ns == first
    assert sorted(read_json(out / PACK_JSON)["splits"]) == ["test", "train", "val"]
    with pytest.raises(InputError, match="another encode"):
        pack_dataset(synth, out, encode="png", progress=False)
    with pytest.raises(InputError, match="another resolution"):
        pack_dataset(synth, out, resolution=32, progress=False)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not empty and not a pack"):
        pack_dataset(synth, foreign, progress=False)
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]
    # a changed source is another dataset
    src = tmp_path / "ds"
    shutil.copytree(synth, src)
    info = read_json(src / F.DATASET_JSON)
    atomic_write_json(src / F.DATASET_JSON, dict(info, seed=info["seed"] + 1))
    with pytest.raises(InputError, match="another source_digest"):
        pack_dataset(src, out, progress=False)
    # several shards per split; a lost shard is packed again on the next run
    small = tmp_path / "small"
    s = pack_dataset(synth, small, splits=["train"], shard_mb=0.05, progress=False)
    shards = s.packed["train"]["shards"]
    assert len(shards) > 2 and sum(x["records"] for x in shards) == 8 + 2
    _assert_same_items(AnomalyDataset(synth, "train", views=3, resolution=64), PackedDataset(small, "train", views=3, resolution=64))
    (small / shards[1]["file"]).unlink()
    assert pack_dataset(synth, small, splits=["train"], shard_mb=0.05, progress=False).packed["train"]["shards"] == shards
    assert not list(small.glob(".*.tmp"))


def test_a_damaged_shard_is_named_in_one_line(synth, tmp_path):
    out = tmp_path / "p"
    pack_dataset(synth, out, splits=["train"], encode="raw", progress=False)
    shard = out / "train-00000.a3dp"
    data = bytearray(shard.read_bytes())
    ds = PackedDataset(out, "train", views=3, resolution=64, train=False)
    k, rec = ds._queries[0]
    off, nb = rec["arrays"]["rgb"][:2]
    data[off + nb // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.raises(InputError) as e:
        PackedDataset(out, "train", views=3, resolution=64, train=False)[0]
    msg = str(e.value)
    assert str(shard) in msg and "checksum" in msg and "\n" not in msg
    data[-1] ^= 0xFF  # the tail's magic: found on opening
    shard.write_bytes(bytes(data))
    with pytest.raises(InputError) as e:
        PackedDataset(out, "train", views=3, resolution=64)
    assert str(e.value) == f"{shard}: corrupted shard: no shard tail (truncated or not a shard)"
    shard.write_bytes(bytes(data[: len(data) // 2]))  # truncated: found on opening
    with pytest.raises(InputError) as e:
        PackedDataset(out, "train", views=3, resolution=64)
    assert str(shard) in str(e.value) and "corrupted shard" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(InputError, match="no query samples in split 'val'"):
        PackedDataset(out, "val")


def test_resolution_option_resizes_everything(synth, tmp_path):
    pack_dataset(synth, tmp_path / "p", resolution=32, encode="webp", progress=False)
    a = AnomalyDataset(synth, "train", views=4, resolution=32, train=False)
    b = PackedDataset(tmp_path / "p", "train", views=4, resolution=32, train=False)
    assert read_json(tmp_path / "p" / PACK_JSON)["splits"]["train"]["query_size"] == [32, 32]
    for i in range(len(a)):
        x, y = a[i], b[i]
        assert np.array_equal(x["refs"], y["refs"])  # the same bilinear resize, before or after packing
        assert np.allclose(x["bbox"], y["bbox"]) and x["has_box"] == y["has_box"]
        assert np.abs(x["query"] - y["query"]).mean() < 0.05  # bilinear 64 -> 32 either way
    # depth resampled (nearest) with the intrinsics scaled: nearly the same 3D points (16 x 16 grid)
    a = AnomalyDataset(synth, "train", views=4, resolution=128, train=False)
    b = PackedDataset(tmp_path / "p", "train", views=4, resolution=128, train=False)
    x, y = a[0], b[0]
    both = x["point_valid"] & y["point_valid"]
    assert both.sum() > 0.8 * x["point_valid"].sum() > 0
    # a patch centre falls on another source pixel, about 1 px (2.3 cm at 2 m) away: within 2 px
    assert np.median(np.linalg.norm(x["points"][both] - y["points"][both], axis=-1)) < 0.045  # metres
    assert (y["vv_target"] >= 0).sum() > 0.7 * (x["vv_target"] >= 0).sum()


def test_lossy_queries_change_only_the_query(synth, tmp_path):
    pack_dataset(synth, tmp_path / "p", encode="webp", quality=95, progress=False)
    a = AnomalyDataset(synth, "train", views=3, resolution=64, seed=4)
    b = PackedDataset(tmp_path / "p", "train", views=3, resolution=64, seed=4)
    for i in range(len(a)):
        x, y = a[i], b[i]
        for k in x:
            if k != "query":
                assert np.array_equal(np.asarray(x[k]), np.asarray(y[k])), k
        assert np.abs(x["query"] - y["query"]).mean() < 0.05  # normalized units: 1 / 255 is about 0.017


def test_cli(synth, tmp_path):
    from datagen.cli import main

    r = CliRunner().invoke(main, ["pack", str(synth), "--out", str(tmp_path / "p"), "--encode", "png", "--splits", "train,val",
                                  "--no-progress"])
    assert r.exit_code == 0, r.output
    assert "train: 8 queries (4 anomalous), 2 shapes, 1 shard(s)" in r.output
    r = CliRunner().invoke(main, ["pack", str(synth), "--out", str(tmp_path / "p"), "--no-progress"])
    assert r.exit_code != 0 and "another encode" in r.output and "Traceback" not in r.output
