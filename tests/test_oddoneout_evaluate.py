"""``datagen train oddoneout`` -> ``datagen evaluate`` on synthetic ToysAD-like scenes (no Blender): the
test split is seen-test + unseen-test, the object-level AUROC is printed, and the same command twice
gives byte-identical output and files."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from datagen.cli import main
from synth_scenes import make_scenes, one_thread  # noqa: F401 (autouse fixture)

# x, y in [-0.6, 0.6], z in [-0.05, 0.35]: the synthetic scenes fit (as tests/test_oddoneout_model.py)
TINY = dict(width=8, enc_dim=16, norm="gn", grid_dims=[24, 24, 8], voxel_size=0.05, grid_z_min=-0.05, unet_channels=[8, 16],
            feat_dim=0, roi_source="decoder", n_samples=16, roi_size=4, dim=32, heads=2, blocks=1, topk=16, min_voxels=2)
SPLITS = ("train", "train", "seen-test", "unseen-test")


@pytest.fixture(scope="module")
def toys(tmp_path_factory):
    """4 scenes in the ToysAD split names (no split is called "test") and a run trained one step on them."""
    root = tmp_path_factory.mktemp("ooo_eval")
    make_scenes(root / "ds", np.random.default_rng(4), scenes=4, views=8, resolution=32, split_of=lambda s: SPLITS[s])
    args = ["train", "oddoneout", "--data", str(root / "ds"), "--out", str(root / "run"), "--epochs", "1", "--max-steps", "1",
            "--resolution", "32", "--views", "3", "--batch-size", "2", "--workers", "0", "--val-split", "none",
            "--no-tensorboard", "--no-progress", "--task-arg", "rays_per_view=64", "--task-arg", "eval_chunk=1024"]
    args += [x for k, v in TINY.items() for x in ("--model-arg", f"{k}={json.dumps(v)}")]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    return root


def test_evaluate_test_split_of_toysad_scenes_is_deterministic(toys):
    run = toys / "run"
    cmd = ["evaluate", str(run), "--data", str(toys / "ds"), "--split", "test", "--workers", "0", "--batch-size", "2"]
    outs, files = [], []
    for _ in range(2):
        r = CliRunner().invoke(main, cmd)
        assert r.exit_code == 0, r.output
        outs.append(r.output)
        files.append([(run / f"eval_test_v3{s}").read_bytes() for s in (".json", "_predictions.csv")])
    assert outs[0] == outs[1] and files[0] == files[1]
    m = json.loads(files[0][0])
    assert outs[0].startswith(f"object-level AUROC {m['auroc'] * 100:.1f}   accuracy {m['accuracy'] * 100:.1f}")
    assert (m["split"], m["views"], m["n_scenes"]) == ("test", 3, 2)
    assert sorted(m["per_split"]) == ["seen-test", "unseen-test"]
    assert sum(v["n_objects"] for v in m["per_split"].values()) == m["n_objects"]
    assert "\nseen-test " in outs[0] and "\nunseen-test " in outs[0]


def test_a_split_without_scenes_names_the_splits_there(toys):
    r = CliRunner().invoke(main, ["evaluate", str(toys / "run"), "--data", str(toys / "ds"), "--split", "val", "--workers", "0"])
    assert r.exit_code == 1
    assert r.output.strip().splitlines() == [
        f"error: {toys / 'ds' / 'index.jsonl'}: no scenes in split 'val' (scenes are in: seen-test, train, unseen-test)"]
