"""datagen validate (trainer.validate): the generation settings per difficulty, the run plan, and a
whole train -> evaluate -> report pass on a small dataset the tests make."""

import json

import numpy as np
import pytest
from PIL import Image

from trainer.validate import RUNS, ValidateConfig, generation_config, plan_runs, validate
from synth_chairs import make_synthetic

TINY = dict(enc_dim=16, dim=32, heads=4, beta_dim=16, topk=16, blocks=2)


def test_generation_config_per_difficulty(tmp_path):
    default = generation_config(ValidateConfig(out=str(tmp_path)))
    easy = generation_config(ValidateConfig(out=str(tmp_path), difficulty="easy"))
    assert len(default.types) == 6 and set(easy.types) == {"position", "rotation", "missing"}
    assert default.resolution == easy.resolution == 96
    # the positive control: >= 600 anomalous pixels at 96 px, and enough candidate views per anomaly job
    # to come out balanced although most candidates show less
    assert easy.min_visible_px * (96 / 256) ** 2 == pytest.approx(600, abs=1)
    assert easy.anomaly_views[0] * len(easy.types) > 5 * easy.normal_views[0]
    assert default.anomaly_views[0] * len(default.types) >= default.normal_views[0]
    medium = generation_config(ValidateConfig(out=str(tmp_path), difficulty="medium"))
    assert medium.types == default.types and medium.corruption == default.corruption
    assert medium.min_visible_px * (96 / 256) ** 2 == pytest.approx(150, abs=1)
    assert default.min_visible_px * (96 / 256) ** 2 < 20  # the generator's default: 100 px at 256 px
    with pytest.raises(ValueError, match="difficulty"):
        ValidateConfig(out=str(tmp_path), difficulty="hard")
    with pytest.raises(ValueError, match="max_epochs"):
        ValidateConfig(out=str(tmp_path), max_epochs=0)


def test_plan_runs_weights(tmp_path):
    plan = plan_runs(ValidateConfig(out=str(tmp_path), curve=(0.1, 0.3)))
    assert [(n, s) for n, s, _ in plan][:len(RUNS)] == [(n, 1.0) for n in RUNS]
    curve = [(n, s, w) for n, s, w in plan if s < 1]
    assert curve == [("query_only", 0.1, 1.0), ("cmt", 0.1, 1.5), ("query_only", 0.3, 1.0), ("cmt", 0.3, 1.5)]
    only = plan_runs(ValidateConfig(out=str(tmp_path), runs=("cmt",), curve=(0.5,)))
    assert only == [("cmt", 1.0, 3.0), ("cmt", 0.5, 1.5)]


def test_validate_on_a_given_dataset(tmp_path):
    data = tmp_path / "ds"
    make_synthetic(data, np.random.default_rng(0), shapes=8, queries_per_shape=4, resolution=64, ref_views=6,
                   splits=(0.5, 0.0, 0.5))
    vc = ValidateConfig(out=str(tmp_path / "val"), data=str(data), budget_minutes=10, runs=("query_only", "cmt"),
                        curve=(0.5,), resolution=64, width=8, views=2, eval_views=3, batch_size=4, device="cpu",
                        model_args=TINY, max_epochs=2)
    report = validate(vc, progress=False)
    out = tmp_path / "val"
    on_disk = json.loads((out / "report.json").read_text())
    assert on_disk["runs"] == report["runs"]
    names = [(r["name"], r["share"]) for r in report["runs"]]
    assert names == [("query_only", 1.0), ("cmt", 1.0), ("query_only", 0.5), ("cmt", 0.5)]
    full, half = report["runs"][0], report["runs"][2]
    assert full["train_queries"] == 16 and half["train_queries"] == 8  # 4 train shapes x 4 queries, half of them
    for r in report["runs"]:
        assert r["epochs"] <= 2 and r["steps"] > 0
        assert r["test"]["n"] == 16 and 0.0 <= r["test"]["auroc"] <= 1.0
        assert r["curve"] and all(np.isfinite(p["loss"]) for p in r["curve"])
    md = (out / "report.md").read_text()
    assert "| query_only (100%) | 16 |" in md and "Learning curve" in md and "query_only: 8 ->" in md
    with Image.open(out / "report.png") as im:
        assert im.size[0] > 200 and im.size[1] > 100
    assert (out / "runs" / "cmt_50pct" / "last.pt").is_file()
