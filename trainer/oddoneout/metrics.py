"""Object-level evaluation of the Odd-One-Out model.

Every ground-truth object of every scene is one evaluation item with two scores:
- ``prob_gt``: the model's probability with the ground-truth boxes as instances;
- ``prob``: with the instances clustered from the predicted density, each GT object taking the
  probability of the prediction matched to it (one-to-one, greedy by 3D IoU >= threshold); a GT
  object that no prediction matches is a miss and scores 0.
Both give AUROC and accuracy (threshold 0.5), overall and per anomaly type (positives of that type
against all normal objects). Unmatched predictions are not objects and are only counted.
"""

from __future__ import annotations

import numpy as np

from trainer.metrics import accuracy, auroc
from trainer.oddoneout.instances import match_boxes


def scene_records(scene_id: str, gt_boxes, labels, types, prob_gt, pred_boxes, pred_prob, iou_threshold: float = 0.25) -> list[dict]:
    """One record per GT object of a scene.

    gt_boxes : (m, 7); labels : (m,) {0, 1}; types : [str] * m; prob_gt : (m,) probabilities with GT
    instances; pred_boxes : (n, 7); pred_prob : (n,). Returns dicts scene, object (index), label, type,
    prob_gt, prob (0 if missed), iou (of the match, 0 if missed), matched (bool).
    """
    gt_boxes = np.asarray(gt_boxes, np.float64).reshape(-1, 7)
    pred_boxes = np.asarray(pred_boxes, np.float64).reshape(-1, 7)
    _, g2p, ious = match_boxes(pred_boxes, gt_boxes, iou_threshold)
    out = []
    for j in range(len(gt_boxes)):
        p = int(g2p[j])
        out.append({"scene": scene_id, "object": j, "label": int(labels[j]), "type": str(types[j]),
                    "prob_gt": float(prob_gt[j]), "prob": float(pred_prob[p]) if p >= 0 else 0.0,
                    "iou": float(ious[p, j]) if p >= 0 else 0.0, "matched": p >= 0})
    return out


def summarize_objects(records: list[dict], n_pred: int | None = None) -> dict:
    """{"metrics": {...}, "per_type": {type: {...}}} from ``scene_records`` output.

    metrics: auroc, accuracy (predicted instances), auroc_gt, accuracy_gt (GT instances), recall
    (fraction of GT objects matched), mean_iou (of matches), n_objects, n_anomalous, n_scenes, n_pred.
    per_type: n, accuracy, accuracy_gt, auroc and auroc_gt against all normal objects (NaN for "normal").
    per_split (only when the records carry several ``split`` names): the metrics of each split's objects.
    """
    y = np.array([r["label"] for r in records], np.int64)
    p = np.array([r["prob"] for r in records], np.float64)
    pg = np.array([r["prob_gt"] for r in records], np.float64)
    t = np.array([r["type"] for r in records], dtype=object)
    m = np.array([r["matched"] for r in records], bool)
    iou = np.array([r["iou"] for r in records], np.float64)
    metrics = {
        "auroc": auroc(p, y), "accuracy": accuracy(p, y),
        "auroc_gt": auroc(pg, y), "accuracy_gt": accuracy(pg, y),
        "recall": float(m.mean()) if len(m) else float("nan"),
        "mean_iou": float(iou[m].mean()) if m.any() else float("nan"),
        "n_objects": int(len(y)), "n_anomalous": int(y.sum()),
        "n_scenes": len({r["scene"] for r in records}),
    }
    if n_pred is not None:
        metrics["n_pred"] = int(n_pred)
    per_type = {}
    normal = y == 0
    for k in sorted(set(t.tolist())):
        sel = t == k
        both = sel | normal
        per_type[k] = {
            "n": int(sel.sum()),
            "accuracy": accuracy(p[sel], y[sel]), "accuracy_gt": accuracy(pg[sel], y[sel]),
            "auroc": auroc(p[both], y[both]) if k != "normal" else float("nan"),
            "auroc_gt": auroc(pg[both], y[both]) if k != "normal" else float("nan"),
        }
    out = {"metrics": metrics, "per_type": per_type}
    splits = sorted({r["split"] for r in records if "split" in r})
    if len(splits) > 1:
        out["per_split"] = {s: summarize_objects([r for r in records if r.get("split") == s])["metrics"] for s in splits}
    return out
