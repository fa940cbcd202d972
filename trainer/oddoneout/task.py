"""The Odd-One-Out task as the shared fit loop sees it.

    model = build_model(**model_args)                         # OddOneOut, .args = constructor args
    ds = make_dataset(root, "train", train=True, cfg=cfg)     # SceneDataset; DataLoader(..., collate_fn=collate)
    loss, logs = loss_step(model, batch, cfg)                 # loss: scalar tensor; logs: {name: float}
    result = evaluate(model, loader, device, amp, cfg)        # {"metrics": {...}, "per_type": {...}, "records": [...]}

``cfg`` is a ``TaskConfig``, a dict of its fields, or any object with some of its fields as
attributes (the missing ones take the defaults). A step: encode the V input views into volumes
(``model(...)``, the compilable dense part), render ``rays_per_view`` random pixels of each of the V
held-out views (stratified samples), losses against their colour, silhouette (, depth) and the
frozen teacher's features (only with ``teacher``: a local DINOv2 file), then the per-object BCE with
ground-truth boxes (``train_instances="gt"``, default) or boxes clustered from the current density
(``"pred"``, labels from matching GT boxes by 3D IoU; unmatched predictions are normal).
total = w_rgb * rgb + w_sil * sil + w_depth * depth + w_feat * feat + w_cls * cls.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from trainer.oddoneout.data import SceneDataset, collate
from trainer.oddoneout.geometry import all_pixels, lookup_map, random_pixels
from trainer.oddoneout.instances import match_boxes
from trainer.oddoneout.losses import classification_loss, rendering_losses
from trainer.oddoneout.metrics import scene_records, summarize_objects
from trainer.oddoneout.model import OddOneOut
from trainer.oddoneout.teacher import Teacher, load_teacher

__all__ = ["TaskConfig", "build_model", "collate", "evaluate", "loss_step", "make_dataset", "task_config"]


@dataclass
class TaskConfig:
    num_views: int = 5  # input views per scene (as many held-out views supervise the rendering)
    resolution: int = 256
    seed: int = 0
    augment: bool = True  # yaw / shift / scale of the world in training
    yaw_deg: float = 150.0
    shift: float = 0.2
    scale: object = "auto"  # "auto" | (lo, hi) | None
    rays_per_view: int = 512
    w_rgb: float = 1.0
    w_sil: float = 1.0
    w_depth: float = 0.0
    w_feat: float = 1.0  # only with a teacher
    w_cls: float = 1.0
    rgb_loss: str = "l1"  # l1 | mse
    feat_loss: str = "cosine"  # cosine | mse
    teacher: str | None = None  # local DINOv2 state dict (dinov2_vits14_pretrain.pth); None = feature loss off
    train_instances: str = "gt"  # gt | pred
    box_jitter: float = 0.0  # training: GT box centre += N(0, j * size), size *= exp(N(0, j))
    cls_detach: bool = False  # the classification loss does not reach the volumes (train the comparator only)
    iou_threshold: float = 0.25  # predicted-to-GT box matching
    eval_render: bool = True  # evaluation also renders every pixel of the held-out views (psnr, silhouette IoU)
    eval_chunk: int = 4096  # rays per view per rendering chunk in evaluation


def task_config(cfg=None) -> TaskConfig:
    """A TaskConfig from None (defaults), a TaskConfig, a dict, or an object with (some of) its fields as
    attributes; an object's ``task_args`` dict, if any, overrides its attributes. Unknown keys are ignored."""
    if isinstance(cfg, TaskConfig):
        return cfg
    names = [f.name for f in dataclasses.fields(TaskConfig)]
    if cfg is None:
        return TaskConfig()
    if isinstance(cfg, dict):
        return TaskConfig(**{k: v for k, v in cfg.items() if k in names})
    kw = {k: getattr(cfg, k) for k in names if hasattr(cfg, k)}
    kw.update({k: v for k, v in (getattr(cfg, "task_args", None) or {}).items() if k in names})
    return TaskConfig(**kw)


def build_model(**model_args) -> OddOneOut:
    """An OddOneOut model; ``model_args`` are OddOneOutConfig fields (``model.args`` gives them back)."""
    return OddOneOut(**model_args)


def make_dataset(root, split: str, train: bool, cfg=None) -> SceneDataset:
    tc = task_config(cfg)
    return SceneDataset(root, split, tc.num_views, tc.resolution, train=train, seed=tc.seed, augment=tc.augment,
                        yaw_deg=tc.yaw_deg, shift=tc.shift, scale=tc.scale)


_TEACHERS: dict[tuple[str, str], Teacher] = {}


def get_teacher(path: str, device: torch.device) -> Teacher:
    """The frozen teacher of ``path`` on ``device`` (loaded once per process, never part of the model)."""
    key = (str(path), str(device))
    if key not in _TEACHERS:
        _TEACHERS[key] = load_teacher(path).to(device)
    return _TEACHERS[key]


def _split(batch: dict) -> tuple[int, dict, dict]:
    V = batch["rgb"].shape[1] // 2
    keys = ("rgb", "K", "world_to_camera", "silhouette", "depth")
    return V, {k: batch[k][:, :V] for k in keys}, {k: batch[k][:, V:] for k in keys}


def _pad_boxes(boxes: list[np.ndarray], device) -> tuple[torch.Tensor, torch.Tensor]:
    M = max([1] + [len(b) for b in boxes])
    out = torch.zeros(len(boxes), M, 7, device=device)
    mask = torch.zeros(len(boxes), M, dtype=torch.bool, device=device)
    for i, b in enumerate(boxes):
        if len(b):
            out[i, :len(b)] = torch.as_tensor(np.asarray(b), dtype=torch.float32, device=device)
            mask[i, :len(b)] = True
    return out, mask


def _jitter(boxes: torch.Tensor, j: float) -> torch.Tensor:
    if j <= 0:
        return boxes
    b = boxes.clone()
    b[..., :3] = b[..., :3] + torch.randn_like(b[..., :3]) * j * b[..., 3:6]
    b[..., 3:6] = b[..., 3:6] * torch.exp(torch.randn_like(b[..., 3:6]) * j)
    return b


def predicted_instances(model: OddOneOut, vols: dict, batch: dict, iou_threshold: float):
    """Clustered boxes of each scene, padded: boxes (B, M, 7), mask (B, M), labels (B, M) from GT matching."""
    pred = model.predict_instances(vols)
    boxes, mask = _pad_boxes(pred, batch["boxes"].device)
    labels = torch.zeros(mask.shape, dtype=torch.int64, device=mask.device)
    for b, pb in enumerate(pred):
        gm = batch["box_mask"][b].cpu().numpy()
        p2g, _, _ = match_boxes(pb, batch["boxes"][b].cpu().numpy()[gm], iou_threshold)
        gl = batch["labels"][b].cpu().numpy()[gm]
        for i, g in enumerate(p2g):
            labels[b, i] = int(gl[g]) if g >= 0 else 0
    return pred, boxes, mask, labels


def _render_losses(model: OddOneOut, vols: dict, sup: dict, teacher: Teacher | None, tc: TaskConfig) -> dict:
    """Render ``rays_per_view`` random pixels of each held-out view and compare with their targets."""
    B, V, _, H, W = sup["rgb"].shape
    pix = random_pixels(B, V, H, W, tc.rays_per_view, sup["rgb"].device)
    out = model.render(vols, pix, sup["K"], sup["world_to_camera"], stratified=True, features=teacher is not None)
    rgb_t = lookup_map(sup["rgb"].float(), pix, (H, W))  # pixel centres: exact values
    sil_t = lookup_map(sup["silhouette"][:, :, None].float(), pix, (H, W))[..., 0]
    depth_t = lookup_map(sup["depth"][:, :, None].float(), pix, (H, W), mode="nearest")[..., 0] if tc.w_depth > 0 else None
    feat_t = None
    if teacher is not None:
        if vols["feat"] is None or vols["feat"].shape[1] != teacher.dim:
            raise ValueError(f"the teacher gives {teacher.dim}-d features but the model's feat_dim is "
                             f"{model.cfg.feat_dim}: build the model with feat_dim={teacher.dim}")
        with torch.no_grad():
            tf = teacher(sup["rgb"].flatten(0, 1).float())  # (B*V, C, h, w)
        feat_t = lookup_map(tf.view(B, V, *tf.shape[1:]), pix, (H, W))
    return rendering_losses(out, rgb_t, sil_t, depth_t, feat_t, tc.rgb_loss, tc.feat_loss)


def loss_step(model: OddOneOut, batch: dict, cfg=None) -> tuple[torch.Tensor, dict]:
    """One training step's loss (call under autocast if wanted). batch : ``collate`` output on the
    model's device. Returns (scalar loss tensor, {"loss", ["rgb", "sil", "psnr", "depth", "feat"], "cls": float}).
    Rendering is skipped when w_rgb, w_sil and w_depth are 0 and there is no teacher."""
    tc = task_config(cfg)
    V, inp, sup = _split(batch)
    vols = model(inp["rgb"], inp["K"], inp["world_to_camera"])
    teacher = get_teacher(tc.teacher, sup["rgb"].device) if (tc.teacher and tc.w_feat > 0) else None
    parts = {}
    if tc.w_rgb > 0 or tc.w_sil > 0 or tc.w_depth > 0 or teacher is not None:
        parts = _render_losses(model, vols, sup, teacher, tc)
    if tc.train_instances == "gt":
        boxes, mask, labels = _jitter(batch["boxes"], tc.box_jitter), batch["box_mask"], batch["labels"]
    elif tc.train_instances == "pred":
        _, boxes, mask, labels = predicted_instances(model, vols, batch, tc.iou_threshold)
    else:
        raise ValueError(f"train_instances must be gt or pred, got {tc.train_instances!r}")
    cls_vols = {k: (v.detach() if v is not None else None) for k, v in vols.items()} if tc.cls_detach else vols
    logits = model.classify(cls_vols, boxes, mask)
    parts["cls"] = classification_loss(logits, labels, mask)
    weights = {"rgb": tc.w_rgb, "sil": tc.w_sil, "depth": tc.w_depth, "feat": tc.w_feat, "cls": tc.w_cls}
    loss = sum(w * parts[k] for k, w in weights.items() if k in parts)
    logs = {"loss": float(loss.detach())}
    logs.update({k: float(v.detach()) for k, v in parts.items()})
    return loss, logs


@torch.no_grad()
def evaluate(model: OddOneOut, loader, device, amp: str = "none", cfg=None) -> dict:
    """Deterministic evaluation over ``loader`` (a ``make_dataset(..., train=False)`` DataLoader).

    Returns {"metrics": {auroc, accuracy (predicted instances), auroc_gt, accuracy_gt (GT instances),
    recall, mean_iou, n_objects, n_scenes, n_pred, [psnr, silhouette_iou]}, "per_type": {...},
    ["per_split": {...} when the scenes come from several splits (test: seen-test, unseen-test)],
    "records": [per-object dicts, with the scene's split]} (see ``metrics.summarize_objects``).
    """
    tc = task_config(cfg)
    device = torch.device(device)
    was_training = model.training
    model.eval()
    records, n_pred, psnr, sil_iou = [], 0, [], []
    for batch in loader:
        batch = {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()}
        V, inp, sup = _split(batch)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=(amp == "bf16")):
            vols = model(inp["rgb"], inp["K"], inp["world_to_camera"])
            prob_gt = torch.sigmoid(model.classify(vols, batch["boxes"], batch["box_mask"])).float().cpu().numpy()
            pred, pboxes, pmask, _ = predicted_instances(model, vols, batch, tc.iou_threshold)
            prob_pred = torch.sigmoid(model.classify(vols, pboxes, pmask)).float().cpu().numpy()
        if tc.eval_render:
            B, _, _, H, W = sup["rgb"].shape
            pix = all_pixels(H, W, device).expand(B, V, -1, -1)
            out = model.render(vols, pix, sup["K"], sup["world_to_camera"], features=False, chunk=tc.eval_chunk)
            rgb_t = sup["rgb"].float().permute(0, 1, 3, 4, 2).reshape(B, V, H * W, 3)
            sil_t = sup["silhouette"].float().reshape(B, V, H * W)
            s = out["silhouette"]
            img = out["rgb"] + (1 - s[..., None]) * rgb_t
            for b in range(B):
                psnr.append(float(-10 * torch.log10(((img[b] - rgb_t[b]) ** 2).mean().clamp(min=1e-10))))
                inter = ((s[b] > 0.5) & (sil_t[b] > 0.5)).sum()
                union = ((s[b] > 0.5) | (sil_t[b] > 0.5)).sum()
                sil_iou.append(float(inter / union.clamp(min=1)))
        for b in range(len(batch["id"])):
            m = batch["box_mask"][b].cpu().numpy()
            n_pred += len(pred[b])
            recs = scene_records(batch["id"][b], batch["boxes"][b].cpu().numpy()[m], batch["labels"][b].cpu().numpy()[m],
                                 batch["types"][b], prob_gt[b][m], pred[b], prob_pred[b][:len(pred[b])], tc.iou_threshold)
            records += [dict(r, split=batch["split"][b]) for r in recs]
    if was_training:
        model.train()
    res = summarize_objects(records, n_pred)
    if psnr:
        res["metrics"]["psnr"] = float(np.mean(psnr))
        res["metrics"]["silhouette_iou"] = float(np.mean(sil_iou))
    res["records"] = records
    return res
