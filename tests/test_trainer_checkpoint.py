"""Checkpoints are plain data read with ``torch.load(weights_only=True)`` (``trainer.checkpoint_io``):
every model's checkpoint round-trips and rebuilds its model; a file that pickles any other object is
refused with one line naming it, and nothing from it runs (checkpoints, --resume, backbone, teacher)."""

import builtins
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from datagen.errors import InputError
from trainer.fit import TrainConfig, make_optimizer, train
from trainer.models import ResNet18FPN, build_model, load_backbone_weights
from trainer.runtime import load_model, save_checkpoint

MODELS = {
    "cmt": dict(width=8, enc_dim=16, dim=32, heads=4, beta_dim=16, topk=16, blocks=2, norm="gn"),
    "query_only": dict(width=8, enc_dim=16),
    "oddoneout": dict(width=8, enc_dim=16, norm="gn", grid_dims=(24, 24, 8), voxel_size=0.05, grid_z_min=-0.05,
                      unet_channels=(8, 16), feat_dim=0, roi_source="decoder", n_samples=32, roi_size=4, dim=32, heads=2, blocks=1,
                      topk=16),
}


class _Open:
    """Unpickled, it creates ``path`` (what a crafted checkpoint can do under weights_only=False)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (builtins.open, (self.path, "w"))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_models_checkpoint_loads_weights_only_and_rebuilds_the_model(tmp_path, name):
    torch.manual_seed(0)
    model = build_model(name, **MODELS[name])
    # what a run may hand save_checkpoint: Paths in the config, numpy values in the metrics
    cfg = TrainConfig(model=name, data=tmp_path / "ds", out=tmp_path / "run", model_args=dict(MODELS[name]),
                      task_args={"scale": (0.8, 1.2), "teacher": None}, resume=None)
    opt = make_optimizer(cfg, model)
    sum(p.float().pow(2).sum() for p in model.parameters()).backward()
    opt.step()
    metrics = {"auroc": np.float64(0.75), "n": np.int64(12), "hist": np.arange(3),
               "per_type": {"broken": {"accuracy": np.float32(0.5), "n": np.int64(3)}}}
    path = tmp_path / "last.pt"
    save_checkpoint(path, model, opt, cfg, 1, 5, metrics)

    ck = torch.load(path, map_location="cpu", weights_only=True)
    assert ck["config"]["data"] == str(tmp_path / "ds") and ck["config"]["task_args"]["scale"] == (0.8, 1.2)
    assert ck["metrics"]["auroc"] == 0.75 and type(ck["metrics"]["auroc"]) is float
    assert ck["metrics"]["per_type"]["broken"] == {"accuracy": 0.5, "n": 3} and torch.equal(ck["metrics"]["hist"], torch.arange(3))
    # the model comes back (evaluate's path) with the same weights; the optimizer resumes from it
    again, ck = load_model(tmp_path / "last.pt")
    assert ck["model_name"] == name and not again.training
    want = model.state_dict()
    assert again.state_dict().keys() == want.keys() and all(torch.equal(v, want[k]) for k, v in again.state_dict().items())
    opt2 = make_optimizer(cfg, again)
    opt2.load_state_dict(ck["optimizer"])
    assert opt2.state_dict()["state"].keys() == opt.state_dict()["state"].keys()
    assert TrainConfig(**ck["config"]).model_args == ck["config"]["model_args"]
    if name == "query_only":
        x = torch.rand(2, 3, 64, 64)
        with torch.no_grad():
            torch.testing.assert_close(again(x)["logit"], model.eval()(x)["logit"])


def test_a_checkpoint_that_pickles_an_object_is_refused_and_nothing_runs(tmp_path):
    from datagen.cli import main
    from trainer.oddoneout.teacher import load_teacher

    model = build_model("query_only", **MODELS["query_only"])
    marker = tmp_path / "MARKER"
    evil = tmp_path / "evil.pt"
    torch.save({"model_name": "query_only", "model_args": model.args, "config": {}, "model": model.state_dict(),
                "optimizer": {}, "epoch": 1, "step": 1, "metrics": {"x": _Open(marker)}, "torch_rng": torch.get_rng_state()},
               evil)
    with pytest.raises(InputError) as e:
        load_model(evil)
    msg = str(e.value)
    assert msg.startswith(f"{evil}: checkpoint refused: the file asks for io.open") and "\n" not in msg, msg
    with pytest.raises(InputError, match="checkpoint refused"):  # --resume reads it the same way
        train(TrainConfig(model="query_only", data=str(tmp_path), out=str(tmp_path / "run"), resume=str(evil)))
    r = CliRunner().invoke(main, ["evaluate", str(evil), "--data", str(tmp_path), "--workers", "0"])
    assert r.exit_code == 1 and f"error: {evil}: checkpoint refused" in r.output and "Traceback" not in r.output
    # weight files: a pretrained backbone, the DINOv2 teacher
    torch.save({"state_dict": {"conv1.weight": torch.zeros(8, 3, 7, 7)}, "x": _Open(marker)}, tmp_path / "r18.pt")
    with pytest.raises(InputError, match=r"r18\.pt: backbone weights refused: the file asks for io\.open"):
        load_backbone_weights(ResNet18FPN(width=8, out_dim=16), tmp_path / "r18.pt")
    with pytest.raises(InputError, match=r"r18\.pt: teacher checkpoint refused: the file asks for io\.open"):
        load_teacher(tmp_path / "r18.pt")
    assert not marker.exists()
    assert not Path(tmp_path / "run" / "last.pt").exists()
