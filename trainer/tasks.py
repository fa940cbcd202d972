"""What the shared fit loop (``trainer.fit``) needs from a kind of model: data, a training module
(batch -> loss), evaluation, and which metric picks the best checkpoint.

- ``Looking3DTask``: CMT and the query-only baseline on query samples (``trainer.data``).
- ``OddOneOutTask``: the Odd-One-Out model on scenes (``trainer.oddoneout``).

A training module wraps the model so that ONE forward call does everything that needs gradients
(DistributedDataParallel synchronizes what runs inside ``forward``): ``module(batch) -> (loss, logs)``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from trainer.data import AnomalyDataset
from trainer.data import collate as query_collate
from trainer.losses import cxcywh_to_xyxy
from trainer.metrics import summarize


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


class Looking3DLoss(nn.Module):
    """model(query, refs, points, valid) -> outputs; the losses in fp32 (``trainer.losses``)."""

    def __init__(self, model: nn.Module, loss_cfg):
        super().__init__()
        self.model, self.loss_cfg = model, loss_cfg

    def forward(self, batch: dict):
        from trainer.losses import compute_loss

        out = self.model(batch["query"], batch.get("refs"), batch.get("points"), batch.get("point_valid"))
        with torch.autocast(batch["query"].device.type, enabled=False):
            return compute_loss(out, batch, self.loss_cfg)


class Looking3DTask:
    names = ("cmt", "query_only")
    channels_last = True

    def select(self, cfg) -> str:
        """The validation metric that picks best.pt."""
        return "auroc"

    def dataset(self, cfg, model, split: str, train: bool):
        """``cfg.data``: a format-v1 dataset, or a pack of one (``datagen pack``: has pack.json)."""
        from trainer.packed import PackedDataset, is_pack

        views = (cfg.views if train else cfg.eval_views) if model.uses_views else 0
        make = PackedDataset if is_pack(cfg.data) else AnomalyDataset
        if train:
            return make(cfg.data, split, views, cfg.resolution, train=True, seed=cfg.seed,
                        crop_fraction=cfg.crop_fraction if cfg.augment else 1.0, flip=cfg.augment)
        return make(cfg.data, split, views, cfg.resolution, train=False)

    collate = staticmethod(query_collate)

    def train_module(self, cfg, model, ds=None) -> nn.Module:
        """The loss module; with ``cfg.balance``, the BCE weights anomalies by n_normal / n_anomalous of ``ds``."""
        from trainer.losses import LossConfig

        vlfa = cfg.vlfa and model.uses_views
        pos_weight = 1.0
        labels = getattr(ds, "labels", None) if cfg.balance else None
        if labels is not None and 0 < int(np.sum(labels)) < len(labels):
            pos_weight = float((len(labels) - np.sum(labels)) / np.sum(labels))
        return Looking3DLoss(model, LossConfig(vlfa=vlfa, vlfa_norm=cfg.vlfa_norm, w_qv=cfg.w_qv, w_vv=cfg.w_vv, tau=cfg.tau, pos_weight=pos_weight))

    def find_unused(self, cfg, model) -> bool:
        return model.uses_views and not cfg.vlfa

    @staticmethod
    def batch_size(batch: dict) -> int:
        return len(batch["label"])

    def evaluate(self, cfg, model, loader, device, amp: str) -> dict:
        return evaluate_model(model, loader, device, amp)


class OddOneOutLoss(nn.Module):
    """``trainer.oddoneout.task.loss_step`` as one forward call."""

    def __init__(self, model: nn.Module, task_cfg):
        super().__init__()
        self.model, self.task_cfg = model, task_cfg

    def forward(self, batch: dict):
        from trainer.oddoneout.task import loss_step

        return loss_step(self.model, batch, self.task_cfg)


class OddOneOutTask:
    names = ("oddoneout",)
    channels_last = False  # 3D convolutions: 5-D tensors

    @staticmethod
    def task_cfg(cfg, train: bool = True):
        """TrainConfig -> the Odd-One-Out TaskConfig: views, resolution, seed, augmentation from the
        training config; every other field from ``cfg.task_args``."""
        from trainer.oddoneout.task import task_config

        base = {"num_views": cfg.views, "resolution": cfg.resolution, "seed": cfg.seed, "augment": cfg.augment and train}
        return task_config({**base, **(cfg.task_args or {})})

    def select(self, cfg) -> str:
        """auroc (predicted instances, the paper's protocol), or auroc_gt for the --gt-instances ablation."""
        return "auroc_gt" if cfg.gt_instances else "auroc"

    def dataset(self, cfg, model, split: str, train: bool):
        from trainer.oddoneout.task import make_dataset

        return make_dataset(cfg.data, split, train, self.task_cfg(cfg, train))

    @staticmethod
    def collate(items):
        from trainer.oddoneout.task import collate

        return collate(items)

    def train_module(self, cfg, model, ds=None) -> nn.Module:
        if cfg.compile:  # the dense part (2D encoder, back-projection, 3D U-Net, heads); clustering stays eager
            model.forward = torch.compile(model.forward)
        return OddOneOutLoss(model, self.task_cfg(cfg))

    def find_unused(self, cfg, model) -> bool:
        return True  # heads without a loss (the feature head without a teacher) get no gradient

    @staticmethod
    def batch_size(batch: dict) -> int:
        return len(batch["id"])

    def evaluate(self, cfg, model, loader, device, amp: str) -> dict:
        from trainer.oddoneout.task import evaluate

        res = evaluate(model, loader, device, amp, self.task_cfg(cfg, train=False))
        metrics = dict(res["metrics"], per_type=res["per_type"])
        if "per_split" in res:
            metrics["per_split"] = res["per_split"]
        return {"metrics": metrics, "records": res["records"]}


TASKS = {name: task for task in (Looking3DTask(), OddOneOutTask()) for name in task.names}


def task_for(model_name: str):
    """The task of a model name (``cmt``, ``query_only``, ``oddoneout``)."""
    key = model_name.replace("-", "_")
    if key not in TASKS:
        raise ValueError(f"unknown model {model_name!r}; choose from {sorted(TASKS)}")
    return TASKS[key]
