"""Evaluate a trained run (``datagen evaluate runs/cmt --data ds/ --split test --views 20``).

Deterministic: no augmentation, the first ``views`` regular reference views, eval-mode model.
Writes ``<run>/eval_<split>_v<views>.json`` (metrics) and ``..._predictions.csv`` (id, type, label, prob).
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from trainer.data import AnomalyDataset, collate
from trainer.losses import cxcywh_to_xyxy
from trainer.metrics import summarize
from trainer.runtime import default_workers, load_model


@torch.no_grad()
def evaluate_model(model: torch.nn.Module, loader: DataLoader, device: torch.device, amp: str = "none") -> dict:
    """Run ``model`` over ``loader``; returns {"metrics": summarize(...), "ids", "types", "labels", "probs"}."""
    was_training = model.training
    model.eval()
    ids, types, labels, probs, boxes, gts, has = [], [], [], [], [], [], []
    for batch in loader:
        b = {k: (v.to(device) if torch.is_tensor(v) else v) for k, v in batch.items()}
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=(amp == "bf16")):
            out = model(b["query"], b.get("refs"), b.get("points"), b.get("point_valid"))
        probs.append(torch.sigmoid(out["logit"].float()).cpu().numpy())
        labels.append(batch["label"].numpy())
        ids += batch["id"]
        types += batch["type"]
        if out.get("box") is not None:
            boxes.append(cxcywh_to_xyxy(out["box"].float()).cpu().numpy())
            gts.append(batch["bbox"].numpy())
            has.append(batch["has_box"].numpy())
    model.train(was_training)
    p = np.concatenate(probs).astype(np.float64)
    y = np.concatenate(labels)
    box_args = {}
    if boxes:
        box_args = dict(pred_boxes=np.concatenate(boxes), gt_boxes=np.concatenate(gts), has_box=np.concatenate(has))
    return {"metrics": summarize(p, y, types, **box_args), "ids": ids, "types": types, "labels": y, "probs": p}


def evaluate(run: str | os.PathLike, data: str | os.PathLike, split: str = "test", views: int = 20, batch_size: int = 8,
             workers: int | None = None, device: str = "auto", amp: str = "none", resolution: int | None = None, write: bool = True) -> dict:
    """Evaluate the checkpoint ``run`` (a run folder -> last.pt, or a .pt file) on ``split`` of ``data``.
    Returns the metrics dict (auroc, accuracy, per_type, box_ap50 when the box head is on)."""
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else torch.device(device)
    model, ck = load_model(run, dev)
    res = resolution or int(ck["config"].get("resolution", 256))
    ds = AnomalyDataset(data, split, views if model.uses_views else 0, res, train=False)
    loader = DataLoader(ds, batch_size=batch_size, shuffle=False, num_workers=default_workers() if workers is None else workers,
                        collate_fn=collate)
    r = evaluate_model(model, loader, dev, amp)
    m = dict(r["metrics"], split=split, views=views if model.uses_views else 0, checkpoint_epoch=ck.get("epoch"))
    if write:
        base = Path(run) if Path(run).is_dir() else Path(run).parent
        stem = base / f"eval_{split}_v{m['views']}"
        Path(f"{stem}.json").write_text(json.dumps(m, indent=2))
        with open(f"{stem}_predictions.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["id", "type", "label", "prob"])
            for row in zip(r["ids"], r["types"], r["labels"].tolist(), r["probs"].tolist()):
                w.writerow(row)
    return m


def format_table(m: dict) -> str:
    """A plain-text summary: AUROC, accuracy, per-type accuracy (and box AP)."""
    lines = [f"AUROC {m['auroc'] * 100:.1f}   accuracy {m['accuracy'] * 100:.1f}   n = {m['n']}"]
    if "box_ap50" in m:
        lines.append(f"box AP@0.5 {m['box_ap50'] * 100:.1f}")
    lines.append(f"{'type':<12}{'accuracy':>10}{'n':>8}")
    for k, v in m["per_type"].items():
        lines.append(f"{k:<12}{v['accuracy'] * 100:>9.1f}%{v['n']:>8}")
    return "\n".join(lines)
