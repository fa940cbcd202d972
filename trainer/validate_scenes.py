"""``datagen validate --kind oddoneout``: render Odd-One-Out scenes for part of a time budget, train the
Odd-One-Out model on them for the rest, evaluate on the test splits (ToysAD: seen and unseen
categories), write report.md / report.json.

CPU sizes by default (a GPU setting scales them up): 128 px, 12 views (5 inputs + 5 held-out views
drawn per scene in training), 16 samples, 3-6 copies per scene; the model on a 48 x 48 x 8 grid of
0.08 m (the same +-1.92 m x +-0.32 m volume as the paper's 96 x 96 x 16 x 0.04 m), narrow
encoders, no DINOv2 teacher (none can be downloaded). Two runs share the training time: the
classifier on ground-truth instances (``oddoneout``) and on instances clustered from the density
(``oddoneout_pred``); both are scored with predicted and with ground-truth instances.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from datagen.io import atomic_write_json, atomic_write_text

CPU_MODEL = dict(width=16, enc_dim=32, norm="gn", grid_dims=(48, 48, 8), voxel_size=0.08, unet_channels=(16, 32, 64),
                 feat_dim=0, roi_source="decoder", n_samples=48, roi_size=6, dim=64, heads=4, blocks=2, topk=50)
RUNS = {"oddoneout": {}, "oddoneout_pred": {"train_instances": "pred"}}


@dataclass
class SceneValidateConfig:
    """out : report folder (scenes in out/ds). budget_minutes : wall clock for everything. preset :
    toysad | partsad. shapes : a shape library (default: built-in procedural shapes). data : an
    existing scenes dataset (no generation). gen_share : share of the budget for rendering."""

    out: str
    budget_minutes: float = 60.0
    preset: str = "toysad"
    shapes: str | None = None
    data: str | None = None
    seed: int = 0
    gen_share: float = 0.4
    resolution: int = 128
    views: int = 12
    samples: int = 16
    instances: tuple = (3, 6)
    input_views: int = 5
    batch_size: int = 2
    lr: float = 1e-3
    device: str = "auto"
    workers: int | None = None
    worker_cmd: tuple | None = None
    model_args: dict = field(default_factory=lambda: dict(CPU_MODEL))
    task_args: dict = field(default_factory=lambda: {"rays_per_view": 512})
    runs: tuple = tuple(RUNS)


def generate_scenes(vc: SceneValidateConfig, minutes: float, progress: bool = True) -> tuple[Path, dict]:
    """Render scenes for about ``minutes`` (chunks of 8, in plan order); returns (root, facts)."""
    from datagen.commands.scenes import builtin_library
    from datagen.executors import WorkerOptions
    from datagen.executors.local import run_local
    from datagen.generate import default_threads
    from datagen.jobs.oddoneout import ScenesRunner
    from datagen.scene_config import scenes_preset
    from datagen.spec import RenderRuntime

    out = Path(vc.out)
    cfg = scenes_preset(vc.preset, resolution=vc.resolution, views=vc.views, samples=vc.samples, instances=vc.instances)
    n_max = 4000
    lib = Path(vc.shapes) if vc.shapes else builtin_library(vc.preset, 400, out / "shapes", vc.seed)
    runner = ScenesRunner(cfg, lib, out / "ds", vc.seed, n_scenes=n_max)
    workers = vc.workers or max(1, os.cpu_count() or 1)
    opts = WorkerOptions(cmd=vc.worker_cmd, job_timeout=900, runtime=RenderRuntime("cpu", default_threads(workers)))
    jobs, t0, tried = runner.plan(), time.perf_counter(), 0
    for k in range(0, len(jobs), 8):
        if time.perf_counter() - t0 > 60 * minutes:
            break
        run_local(runner, jobs[k:k + 8], workers, opts, progress=progress)
        tried = k + 8
    counts = runner.finalize()
    secs = time.perf_counter() - t0
    return out / "ds", {"path": str(out / "ds"), "scenes": counts.get("samples", 0), "scenes_tried": tried,
                        "seconds": round(secs, 1), "scenes_per_hour": round(3600 * counts.get("samples", 0) / max(secs, 1e-9), 1),
                        "counts": counts, "config": cfg.to_json()}


def _test_splits(data: Path) -> list[str]:
    import json

    splits = json.loads((Path(data) / "splits.json").read_text())
    return [s for s in ("test", "seen-test", "unseen-test", "val") if splits.get(s)]


def train_run(vc: SceneValidateConfig, data: Path, name: str, minutes: float, progress: bool) -> dict:
    from trainer.evaluate import evaluate
    from trainer.fit import TrainConfig, train

    run = Path(vc.out) / "runs" / name
    cfg = TrainConfig(model="oddoneout", data=str(data), out=str(run), epochs=100000, views=vc.input_views,
                      eval_views=vc.input_views, batch_size=vc.batch_size, resolution=vc.resolution, lr=vc.lr,
                      optimizer="adamw", weight_decay=0.01, warmup_steps=20, schedule="constant", amp="auto",
                      seed=vc.seed, model_args=dict(vc.model_args), task_args={**vc.task_args, **RUNS[name]},
                      val_split=None, max_minutes=minutes, log_every=10, progress=progress, tensorboard=False,
                      channels_last=False, device=vc.device, workers=1)
    t = time.perf_counter()
    res = train(cfg)
    tests = {s: evaluate(run, data, split=s, device=vc.device, batch_size=2) for s in _test_splits(data)}
    trainm = evaluate(run, data, split="train", device=vc.device, batch_size=2, write=False, max_samples=100)
    return {"name": name, "train_scenes": res.get("train_items"), "steps": res["steps"], "epochs": res.get("epochs_done"),
            "seconds": round(time.perf_counter() - t, 1), "scenes_per_s": res.get("samples_per_s"),
            "train": _brief(trainm), "tests": {s: _brief(m) for s, m in tests.items()}}


def _brief(m: dict) -> dict:
    keys = ("auroc", "accuracy", "auroc_gt", "accuracy_gt", "recall", "mean_iou", "n_objects", "n_anomalous",
            "n_scenes", "psnr", "silhouette_iou")
    return {**{k: m.get(k) for k in keys},
            "per_type": {k: {x: v.get(x) for x in ("n", "auroc", "auroc_gt", "accuracy_gt")} for k, v in (m.get("per_type") or {}).items()}}


def validate_scenes(vc: SceneValidateConfig, progress: bool = True) -> dict:
    from trainer.report import scenes_markdown

    t0 = time.perf_counter()
    out = Path(vc.out)
    out.mkdir(parents=True, exist_ok=True)
    report: dict = {"kind": "oddoneout", "config": dataclasses.asdict(vc), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    if vc.data:
        data, report["dataset"] = Path(vc.data), {"path": vc.data}
    else:
        data, report["dataset"] = generate_scenes(vc, vc.budget_minutes * vc.gen_share, progress)
    report["runs"] = []
    for k, name in enumerate(vc.runs):
        left = vc.budget_minutes - (time.perf_counter() - t0) / 60
        report["runs"].append(train_run(vc, data, name, max(0.5, 0.8 * left / (len(vc.runs) - k)), progress))
        atomic_write_json(out / "report.json", report)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    atomic_write_json(out / "report.json", report)
    atomic_write_text(out / "report.md", scenes_markdown(report))
    return report
