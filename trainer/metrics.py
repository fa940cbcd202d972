"""Evaluation metrics in numpy: AUROC (ties count one half), accuracy, per-type accuracy, box AP@0.5."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def auroc(scores, labels) -> float:
    """Area under the ROC curve = P(score of a random positive > score of a random negative), ties = 1/2.

    scores : (n,) float; labels : (n,) {0, 1}. NaN if one class is absent.
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels).astype(bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(s)  # average ranks for ties (1-based)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def accuracy(probs, labels, threshold: float = 0.5) -> float:
    """Fraction of (probs >= threshold) == labels."""
    p = np.asarray(probs, dtype=np.float64)
    return float(np.mean((p >= threshold) == np.asarray(labels).astype(bool))) if len(p) else float("nan")


def per_type_accuracy(probs, labels, types, threshold: float = 0.5) -> dict:
    """{type: (accuracy, count)} per anomaly type (``normal`` for label 0)."""
    p = np.asarray(probs)
    y = np.asarray(labels)
    t = np.asarray(types)
    return {str(k): (accuracy(p[t == k], y[t == k], threshold), int((t == k).sum())) for k in sorted(set(t.tolist()))}


def box_iou(a, b) -> np.ndarray:
    """Paired IoU of boxes a, b : (n, 4) xyxy -> (n,)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, :2], b[:, :2])
    rb = np.minimum(a[:, 2:], b[:, 2:])
    inter = np.clip(rb - lt, 0, None).prod(1)
    union = np.clip(a[:, 2:] - a[:, :2], 0, None).prod(1) + np.clip(b[:, 2:] - b[:, :2], 0, None).prod(1) - inter
    return inter / np.maximum(union, 1e-12)


def box_ap(scores, pred_boxes, gt_boxes, has_gt, iou_threshold: float = 0.5) -> float:
    """AP of one predicted box per image, ranked by the anomaly score.

    A prediction is a true positive when its image has a ground-truth box and IoU >= threshold.
    scores : (n,); pred_boxes, gt_boxes : (n, 4) xyxy (any consistent unit); has_gt : (n,) bool.
    All-point interpolated area under precision-recall. NaN without ground truth.
    """
    s = np.asarray(scores, dtype=np.float64)
    has = np.asarray(has_gt).astype(bool)
    if has.sum() == 0:
        return float("nan")
    tp = has & (box_iou(pred_boxes, gt_boxes) >= iou_threshold)
    order = np.argsort(-s, kind="stable")
    tp = tp[order].astype(np.float64)
    ctp = np.cumsum(tp)
    prec = ctp / np.arange(1, len(tp) + 1)
    rec = ctp / has.sum()
    prec = np.maximum.accumulate(prec[::-1])[::-1]  # precision envelope
    rec_prev = np.concatenate([[0.0], rec[:-1]])
    return float(np.sum((rec - rec_prev) * prec))


def summarize(probs, labels, types, pred_boxes=None, gt_boxes=None, has_box=None) -> dict:
    """All metrics of one evaluation as a JSON-ready dict."""
    out = {
        "n": int(len(probs)),
        "auroc": auroc(probs, labels),
        "accuracy": accuracy(probs, labels),
        "per_type": {k: {"accuracy": a, "n": n} for k, (a, n) in per_type_accuracy(probs, labels, types).items()},
    }
    if pred_boxes is not None:
        out["box_ap50"] = box_ap(probs, pred_boxes, gt_boxes, has_box)
    return out
