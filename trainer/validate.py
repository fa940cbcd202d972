"""One command that validates a benchmark: generate (or take) a dataset, train the query-only
baseline, CMT and its ablations within a time budget, evaluate them on unseen shapes, and write
``report.md``, ``report.json`` and ``report.png`` (``datagen validate``).

Budget (``budget_minutes``, wall clock): ``gen_share`` of it renders queries (procedural chairs
unless ``shapes`` is given; chunks of shapes until the share is spent), the rest trains. The
training time is split over the runs by weight: the full-data query-only and CMT runs get the
most, each ablation (no 3DPE, no VLFA, dense attention) and each point of the learning curve
(the same two models on a share of the training queries) less. Every run stops at its time
share (``TrainConfig.max_minutes``) and is evaluated on the test split (shapes never seen in
training). The learning curve shows test AUROC against the number of training queries.

Difficulty ``easy`` is the positive control: only missing / rotation / position anomalies,
larger magnitudes, and at least 600 visible pixels at 96 px; both models must transfer there.
``medium`` keeps every type at the default magnitudes but only anomalies showing >= 150 pixels.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from datagen.io import atomic_write_json, atomic_write_text

#: Looking 3D validation datasets: the generator's default anomalies, only those showing >= 150 px
#: at 96 px, or the positive control (large missing / rotation / position, >= 600 px)
DIFFICULTIES = ("default", "medium", "easy")

#: name -> (model, model args, extra TrainConfig fields, weight of the training budget)
RUNS = {
    "query_only": ("query_only", {}, {}, 2.0),
    "cmt": ("cmt", {}, {}, 3.0),
    "cmt_no3dpe": ("cmt", {"pe3d": False}, {}, 1.0),
    "cmt_novlfa": ("cmt", {}, {"vlfa": False}, 1.0),
    "cmt_dense": ("cmt", {"topk": 0}, {}, 1.0),
}


@dataclass
class ValidateConfig:
    """out : report folder (the dataset goes to out/ds unless ``data`` is given). budget_minutes :
    wall clock for everything. shapes : a shape library (default: procedural chairs, made here).
    data : an existing dataset (no generation). difficulty : default | medium | easy (positive control).
    resolution : px of queries and reference views. runs : names of ``RUNS``. curve : shares of the
    training queries for the learning curve (1.0 is the full run). device : auto | cpu | cuda.
    width / views / batch_size / lr : model and training sizes (a GPU setting scales them up).
    max_epochs : a cap per run (default: each run trains until its share of the time is spent)."""

    out: str
    budget_minutes: float = 90.0
    shapes: str | None = None
    data: str | None = None
    seed: int = 0
    difficulty: str = "default"
    resolution: int = 96
    gen_share: float = 0.35
    max_shapes: int = 1000
    workers: int | None = None
    worker_cmd: tuple | None = None  # the render worker command (tests: a fake one)
    runs: tuple = tuple(RUNS)
    curve: tuple = (0.1, 0.3)
    device: str = "auto"
    width: int = 32
    views: int = 3
    eval_views: int = 6
    batch_size: int = 32
    lr: float = 3e-4
    model_args: dict = field(default_factory=dict)
    max_epochs: int = 1000

    def __post_init__(self):
        if self.difficulty not in DIFFICULTIES:
            raise ValueError(f"difficulty={self.difficulty!r}: expected one of {', '.join(DIFFICULTIES)}")
        if not 0 < self.budget_minutes <= 10000:
            raise ValueError(f"budget_minutes={self.budget_minutes!r}: expected (0, 10000]")
        bad = [r for r in self.runs if r not in RUNS]
        if bad:
            raise ValueError(f"unknown runs {bad}; choose from {', '.join(RUNS)}")
        if any(not 0 < c < 1 for c in self.curve):
            raise ValueError(f"curve={self.curve!r}: shares in (0, 1)")
        if not (isinstance(self.max_epochs, int) and self.max_epochs >= 1):
            raise ValueError(f"max_epochs={self.max_epochs!r}: expected an integer >= 1")


def generation_config(vc: ValidateConfig):
    """The GenConfig of a validation dataset: small renders, chairs filling the frame, per difficulty."""
    from datagen.config import preset

    over = dict(resolution=vc.resolution, ref_resolution=vc.resolution, camera_radius=1.7, ref_radius=1.6,
                ref_views=6, normal_views=(14.0, 3.0, 20), anomaly_views=(3.0, 1.0, 6), samples=8,
                types=("position", "rotation", "broken", "swapped", "missing", "scale"), splits=(0.7, 0.1, 0.2))
    if vc.difficulty == "easy":
        # large anomalies, >= 600 px at 96 px: about 1 candidate view in 12 shows that much of a
        # whole chair, so each anomaly job draws many candidates and each shape fewer normal views
        over.update(types=("position", "rotation", "missing"), min_visible_px=int(600 * (256 / 96) ** 2),
                    normal_views=(5.0, 1.0, 7), anomaly_views=(14.0, 3.0, 20),
                    corruption={"position": {"min_rel": 0.4, "max_rel": 0.8, "min_shape_fraction": 0.1},
                                "rotation": {"min_deg": 35.0, "max_deg": 70.0},
                                "missing": {"min_area_fraction": 0.08}})
    elif vc.difficulty == "medium":
        # every type at the default magnitudes, but each anomaly shows >= 150 px at 96 px (the default's
        # 100 px at 256 px is 14 px here); more candidate views per job make up for the ones dropped
        over.update(min_visible_px=int(150 * (256 / 96) ** 2), normal_views=(10.0, 3.0, 14), anomaly_views=(6.0, 2.0, 10))
    return preset("demo", preset="validate", **over)


def generate(vc: ValidateConfig, minutes: float, progress: bool = True) -> tuple[Path, dict]:
    """Render a validation dataset for about ``minutes``: the plan of the whole library (``max_shapes``
    procedural chairs, or the shapes of ``vc.shapes``) runs shape chunk by shape chunk, in plan order,
    until the time is spent; splits are those of the whole library, so an unfinished plan is still a
    valid dataset. Returns (dataset root, facts: shapes rendered, queries, seconds, queries per hour)."""
    from datagen.executors import WorkerOptions
    from datagen.executors.local import run_local
    from datagen.generate import default_threads
    from datagen.jobs.looking3d import Looking3DRunner
    from datagen.shapes.procedural import generate_library
    from datagen.spec import RenderRuntime

    out = Path(vc.out)
    root = out / "ds"
    cfg = generation_config(vc)
    workers = vc.workers or max(1, os.cpu_count() or 1)
    opts = WorkerOptions(cmd=vc.worker_cmd, job_timeout=600, runtime=RenderRuntime("cpu", default_threads(workers)))
    t0 = time.perf_counter()
    lib = Path(vc.shapes) if vc.shapes else out / "shapes"
    if not vc.shapes:
        generate_library("chair", vc.max_shapes, lib, seed=vc.seed, progress=False)
    runner = Looking3DRunner(cfg, lib, root, vc.seed)
    jobs = runner.plan()
    order = list(dict.fromkeys(j.shape_id for j in jobs))
    done = 0
    for k in range(0, len(order), 24):
        if time.perf_counter() - t0 > 60 * minutes:
            break
        chunk = set(order[k:k + 24])
        run_local(runner, [j for j in jobs if j.shape_id in chunk], workers, opts, progress=progress)
        done = min(len(order), k + 24)
    counts = runner.finalize()
    secs = time.perf_counter() - t0
    return root, {"path": str(root), "shapes_rendered": done, "shapes_planned": len(order),
                  "queries": counts.get("samples", 0), "seconds": round(secs, 1),
                  "queries_per_hour": round(3600 * counts.get("samples", 0) / max(secs, 1e-9)), "counts": counts,
                  "config": cfg.to_json()}


def _train_one(vc: ValidateConfig, data: Path, name: str, share: float, minutes: float, progress: bool) -> dict:
    from trainer.evaluate import evaluate
    from trainer.fit import TrainConfig, train

    model, margs, extra, _ = RUNS[name]
    run = Path(vc.out) / "runs" / (name if share >= 1 else f"{name}_{int(round(share * 100))}pct")
    margs = {"width": vc.width, "norm": "gn", **margs, **vc.model_args}
    if model == "query_only":
        margs = {k: v for k, v in margs.items() if k in ("width", "enc_dim", "norm", "box_head", "pretrained")}
    cfg = TrainConfig(model=model, data=str(data), out=str(run), epochs=vc.max_epochs, views=vc.views if model == "cmt" else 0,
                      eval_views=vc.eval_views if model == "cmt" else 0, batch_size=vc.batch_size,
                      resolution=vc.resolution, lr=vc.lr, optimizer="adamw", weight_decay=0.05, warmup_steps=50,
                      schedule="constant", amp="auto", seed=vc.seed, model_args=margs, val_split=None,
                      max_minutes=minutes, train_share=share, log_every=20, progress=progress, tensorboard=False,
                      device=vc.device, **extra)
    t = time.perf_counter()
    res = train(cfg)
    test = evaluate(run, data, split="test", views=vc.eval_views if model == "cmt" else None, device=vc.device)
    trainm = evaluate(run, data, split="train", views=vc.eval_views if model == "cmt" else None, device=vc.device,
                      write=False, max_samples=2000)
    return {"name": name, "model": model, "model_args": margs, "share": share, "train_queries": res.get("train_items"),
            "steps": res["steps"], "epochs": res.get("epochs_done"), "seconds": round(time.perf_counter() - t, 1),
            "samples_per_s": res.get("samples_per_s"), "test": _brief(test), "train": _brief(trainm),
            "curve": _log_curve(run / "log.csv")}


def _brief(m: dict) -> dict:
    return {"auroc": m.get("auroc"), "accuracy": m.get("accuracy"), "n": m.get("n"),
            "per_type": {k: {"accuracy": v.get("accuracy"), "n": v.get("n"), "auroc": v.get("auroc")}
                         for k, v in (m.get("per_type") or {}).items()}}


def _log_curve(path: Path) -> list[dict]:
    import csv

    if not path.is_file():
        return []
    with path.open() as f:
        return [{k: float(v) for k, v in row.items() if v not in ("", None) and k in ("step", "loss", "bce")}
                for row in csv.DictReader(f)]


def plan_runs(vc: ValidateConfig) -> list[tuple[str, float, float]]:
    """(run name, share of the training queries, weight of the training budget) of every run."""
    runs = [(n, 1.0, RUNS[n][3]) for n in vc.runs]
    for share in vc.curve:
        runs += [(n, share, RUNS[n][3] * 0.5) for n in ("query_only", "cmt") if n in vc.runs]
    return runs


def validate(vc: ValidateConfig, progress: bool = True) -> dict:
    """Run the whole validation; returns the report dict (also written as report.json / .md / .png)."""
    t0 = time.perf_counter()
    out = Path(vc.out)
    out.mkdir(parents=True, exist_ok=True)
    report: dict = {"config": dataclasses.asdict(vc), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    if vc.data:
        data, report["dataset"] = Path(vc.data), {"path": vc.data}
    else:
        data, report["dataset"] = generate(vc, vc.budget_minutes * vc.gen_share, progress)
    runs = plan_runs(vc)
    report["runs"] = []
    for k, (name, share, w) in enumerate(runs):  # each run: its weight's share of what is left now
        left = vc.budget_minutes - (time.perf_counter() - t0) / 60
        minutes = max(0.5, left * w / sum(x[2] for x in runs[k:]) * 0.8)  # 20 % for its evaluations
        report["runs"].append(_train_one(vc, data, name, share, minutes, progress))
        _write(out, report)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    _write(out, report)
    return report


def _write(out: Path, report: dict) -> None:
    from trainer.report import plot, report_markdown

    atomic_write_json(out / "report.json", report)
    atomic_write_text(out / "report.md", report_markdown(report))
    plot(report, out / "report.png")
