import csv
import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from trainer.evaluate import evaluate
from trainer.fit import TrainConfig, train
from trainer.runtime import load_model
from synth_chairs import make_synthetic

TINY = dict(width=8, enc_dim=16, dim=32, heads=4, beta_dim=16, topk=16, blocks=2, norm="gn")


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    make_synthetic(root, np.random.default_rng(0), shapes=6, queries_per_shape=4, resolution=64, ref_views=8)
    return root


def _cfg(data, out, **kw):
    base = dict(model="cmt", data=str(data), out=str(out), views=3, eval_views=3, batch_size=8, resolution=64,
                lr=1e-3, optimizer="adamw", amp="none", workers=0, tensorboard=False, progress=False,
                val_split=None, model_args=dict(TINY), log_every=1, channels_last=False)
    base.update(kw)
    return TrainConfig(**base)


def _losses(path):
    with open(path) as f:
        return {int(r["step"]): float(r["loss"]) for r in csv.DictReader(f)}


def test_tiny_cmt_overfits(synth, tmp_path):
    # the default loss: VLFA on, weights 0.5, each term normalised by ln(candidates); no
    # augmentation: this checks that the whole model can learn.
    cfg = _cfg(synth, tmp_path / "run", epochs=25, augment=False, log_every=10)
    assert cfg.vlfa and cfg.vlfa_norm and cfg.w_qv == cfg.w_vv == 0.5
    res = train(cfg)
    assert res["steps"] == 75
    m = evaluate(tmp_path / "run", synth, split="train", views=3, workers=0, device="cpu")
    assert m["auroc"] > 0.95, m
    log = _losses(tmp_path / "run" / "log.csv")
    assert log[70] < log[1]
    assert (tmp_path / "run" / "eval_train_v3.json").exists()


def test_resume_gives_the_same_next_loss(synth, tmp_path):
    a = _cfg(synth, tmp_path / "a", epochs=2, keep_checkpoints=True)
    train(a)
    la = _losses(tmp_path / "a" / "log.csv")
    assert len(la) == 6
    b = _cfg(synth, tmp_path / "b", epochs=2, resume=str(tmp_path / "a" / "epoch_001.pt"), model_args={})
    res = train(b)
    lb = _losses(tmp_path / "b" / "log.csv")
    assert sorted(lb) == [4, 5, 6] and res["steps"] == 6
    for s in (4, 5, 6):
        assert lb[s] == pytest.approx(la[s], rel=1e-6, abs=1e-7)
    ck = torch.load(tmp_path / "b" / "last.pt", weights_only=True)
    assert ck["model_args"] == dict(TINY, **{k: v for k, v in ck["model_args"].items() if k not in TINY})
    assert ck["config"]["lr"] == 1e-3 and ck["epoch"] == 2


def test_evaluation_is_deterministic_and_cli(synth, tmp_path):
    from datagen.commands.train import evaluate as eval_cmd
    from datagen.commands.train import train as train_cmd

    runner = CliRunner()
    args = ["--data", str(synth), "--epochs", "1", "--batch-size", "8", "--resolution", "64", "--amp", "none",
            "--workers", "0", "--val-split", "none", "--max-steps", "2", "--no-tensorboard", "--no-progress"]
    tiny = [x for k, v in TINY.items() for x in ("--model-arg", f"{k}={v}")]
    r = runner.invoke(train_cmd, ["cmt", "--out", str(tmp_path / "c"), "--views", "3", "--box-head", *args, *tiny])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output.strip().splitlines()[-1])["steps"] == 2
    r = runner.invoke(train_cmd, ["query-only", "--out", str(tmp_path / "q"), *args,
                                  "--model-arg", "width=8", "--model-arg", "enc_dim=16"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(eval_cmd, [str(tmp_path / "c"), "--data", str(synth), "--split", "train", "--views", "4", "--workers", "0"])
    assert r.exit_code == 0, r.output
    assert "AUROC" in r.output and "box AP@0.5" in r.output and "missing" in r.output
    m1 = evaluate(tmp_path / "c", synth, split="train", views=4, workers=0, device="cpu")
    m2 = evaluate(tmp_path / "c", synth, split="train", views=4, workers=0, device="cpu", write=False)
    assert m1 == m2
    p1 = (tmp_path / "c" / "eval_train_v4_predictions.csv").read_text()
    evaluate(tmp_path / "c", synth, split="train", views=4, workers=0, device="cpu")
    assert (tmp_path / "c" / "eval_train_v4_predictions.csv").read_text() == p1
    model, ck = load_model(tmp_path / "q")
    assert ck["model_name"] == "query_only" and not model.training


def test_train_cli_builds_the_config(tmp_path, monkeypatch):
    """The one training command line: options reach TrainConfig (torchrun launches the same command)."""
    import trainer.fit
    from datagen.cli import main

    seen = {}
    monkeypatch.setattr(trainer.fit, "train", lambda cfg: seen.setdefault("cfg", cfg) and {"out": cfg.out})
    r = CliRunner().invoke(main, ["train", "cmt", "--data", str(tmp_path), "--out", "o", "--no-topk", "--no-3dpe",
                                  "--box-head", "--no-vlfa", "--model-arg", "width=16", "--amp", "none", "--val-split", "none"])
    assert r.exit_code == 0, r.output
    cfg = seen["cfg"]
    assert cfg.model_args == {"width": 16, "topk": 0, "pe3d": False, "box_head": True}
    assert cfg.vlfa is False and cfg.amp == "none" and cfg.val_split is None and cfg.views == 10
    assert cfg.workers is None  # the machine decides (trainer.runtime.default_workers)


def test_ddp_two_processes_on_cpu_with_validation(tmp_path):
    import os
    import subprocess
    import sys

    data = tmp_path / "ds"
    make_synthetic(data, np.random.default_rng(1), shapes=4, queries_per_shape=4, resolution=64, ref_views=4, splits=(0.5, 0.5, 0.0))
    tiny = [x for k, v in TINY.items() for x in ("--model-arg", f"{k}={v}")]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port", "29517", "-m", "datagen.cli", "train", "cmt",
           "--data", str(data), "--out", str(tmp_path / "run"), "--epochs", "2", "--views", "2", "--eval-views", "4",
           "--batch-size", "2", "--resolution", "64", "--amp", "none", "--workers", "1", "--no-tensorboard", "--no-progress",
           "--log-every", "1", "--lr", "1e-3", *tiny]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    # 8 training queries over 2 processes x batch 2 -> 2 steps per epoch
    assert sorted(_losses(tmp_path / "run" / "log.csv")) == [1, 2, 3, 4]
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[-1])["n"] == 8
    assert (tmp_path / "run" / "best.pt").exists() and (tmp_path / "run" / "last.pt").exists()
