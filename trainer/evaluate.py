"""Evaluate a trained run (``datagen evaluate runs/cmt --data ds/ --split test --views 20``).

Deterministic: no augmentation, the first ``views`` regular reference views (Odd-One-Out: fixed
input views), scenes / samples in index order, eval-mode model, torch seeded by the run's seed.
Writes ``<run>/eval_<split>_v<views>.json`` (metrics) and ``..._predictions.csv`` (id, type, label, prob;
Odd-One-Out: one row per ground-truth object), both atomically.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from datagen.io import atomic_write_json, atomic_write_text
from trainer.runtime import TrainConfig, default_workers, load_model, seed_everything
from trainer.tasks import task_for


def evaluate(run: str | os.PathLike, data: str | os.PathLike, split: str = "test", views: int | None = None,
             batch_size: int = 8, workers: int | None = None, device: str = "auto", amp: str = "none",
             resolution: int | None = None, write: bool = True, max_samples: int | None = None) -> dict:
    """Evaluate the checkpoint ``run`` (a run folder -> last.pt, or a .pt file) on ``split`` of ``data``
    (``max_samples``: at most that many items, evenly spaced over the split). For scenes, ``test`` is
    every test split (ToysAD: seen-test and unseen-test, each also scored on its own: ``per_split``).

    views : reference views (CMT: the first N regular ones, default 20) or input views (Odd-One-Out,
    default: the training's). Returns the metrics dict (auroc, accuracy, per_type; box_ap50 with a box
    head; Odd-One-Out: object-level, with predicted instances and ``*_gt`` with ground-truth ones).
    Writes ``<run>/eval_<split>_v<views>.json`` and a per-sample / per-object predictions CSV.
    """
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else torch.device(device)
    model, ck = load_model(run, dev)
    known = {f for f in TrainConfig.__dataclass_fields__}
    cfg = TrainConfig(**{k: v for k, v in ck["config"].items() if k in known})
    task = task_for(ck["model_name"])
    seed_everything(cfg.seed)  # nothing in evaluation draws random numbers; if something ever does, the same ones
    over = {"data": str(data), "resolution": resolution or cfg.resolution}
    if ck["model_name"] == "oddoneout":
        over["views"] = views or cfg.views
    else:
        over["eval_views"] = 20 if views is None else views
    cfg = dataclasses.replace(cfg, **over)
    ds = task.dataset(cfg, model, split, train=False)
    if max_samples and len(ds) > max_samples:
        ds = torch.utils.data.Subset(ds, np.linspace(0, len(ds) - 1, max_samples).round().astype(int).tolist())
    loader = DataLoader(ds, batch_size=batch_size, shuffle=False, num_workers=default_workers(device=dev) if workers is None else workers,
                        collate_fn=task.collate)
    r = task.evaluate(cfg, model, loader, dev, amp)
    n_views = (cfg.views if ck["model_name"] == "oddoneout" else cfg.eval_views) if model.uses_views else 0
    m = dict(r["metrics"], split=split, views=n_views, checkpoint_epoch=ck.get("epoch"))
    if write:
        base = Path(run) if Path(run).is_dir() else Path(run).parent
        stem = base / f"eval_{split}_v{m['views']}"
        atomic_write_json(f"{stem}.json", m)
        f = io.StringIO(newline="")
        w = csv.writer(f)
        if "records" in r:  # one row per ground-truth object
            keys = sorted({k for rec in r["records"] for k in rec if not isinstance(rec[k], (list, dict))})
            w.writerow(keys)
            for rec in r["records"]:
                w.writerow([rec.get(k) for k in keys])
        else:
            w.writerow(["id", "type", "label", "prob"])
            for row in zip(r["ids"], r["types"], r["labels"].tolist(), r["probs"].tolist()):
                w.writerow(row)
        atomic_write_text(f"{stem}_predictions.csv", f.getvalue())
    return m


def _object_row(name: str, n: int, v: dict) -> str:
    return (f"{name:<12}{n:>6}{v['auroc'] * 100:>8.1f}{v['accuracy'] * 100:>8.1f}"
            f"{v['auroc_gt'] * 100:>10.1f}{v['accuracy_gt'] * 100:>8.1f}")


def format_table(m: dict) -> str:
    """A plain-text summary: AUROC, accuracy, per-type accuracy (and box AP). Odd-One-Out: the object-level
    AUROC (each ground-truth object scored through the predicted instance matched to it, the paper's
    protocol), then with ground-truth instances, instance recovery, per split (ToysAD test) and per type."""
    if "auroc_gt" in m:  # Odd-One-Out
        lines = [f"object-level AUROC {m['auroc'] * 100:.1f}   accuracy {m['accuracy'] * 100:.1f}   "
                 f"n = {m['n_objects']} objects ({m['n_anomalous']} anomalous) in {m['n_scenes']} scenes",
                 f"ground-truth instances: AUROC {m['auroc_gt'] * 100:.1f}   accuracy {m['accuracy_gt'] * 100:.1f}",
                 f"instances found {m['recall'] * 100:.1f} %, mean 3D IoU {m['mean_iou']:.2f}"
                 + (f"; held-out views PSNR {m['psnr']:.2f} dB, silhouette IoU {m['silhouette_iou']:.2f}" if "psnr" in m else "")]
        head = f"{'n':>6}{'AUROC':>8}{'acc':>8}{'AUROC gt':>10}{'acc gt':>8}"
        if m.get("per_split"):
            lines.append(f"{'split':<12}{head}")
            lines += [_object_row(k, v["n_objects"], v) for k, v in m["per_split"].items()]
        lines.append(f"{'type':<12}{head}")
        lines += [_object_row(k, v["n"], v) for k, v in m["per_type"].items()]
        return "\n".join(lines)
    lines = [f"AUROC {m['auroc'] * 100:.1f}   accuracy {m['accuracy'] * 100:.1f}   n = {m['n']}"]
    if "box_ap50" in m:
        lines.append(f"box AP@0.5 {m['box_ap50'] * 100:.1f}")
    lines.append(f"{'type':<12}{'accuracy':>10}{'n':>8}")
    for k, v in m["per_type"].items():
        lines.append(f"{k:<12}{v['accuracy'] * 100:>9.1f}%{v['n']:>8}")
    return "\n".join(lines)
