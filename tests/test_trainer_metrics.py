import itertools

import numpy as np
import pytest

from trainer.metrics import accuracy, auroc, box_ap, box_iou, per_type_accuracy, summarize


def test_auroc_hand_example_with_ties():
    scores = [0.1, 0.4, 0.35, 0.8, 0.4]
    labels = [0, 0, 1, 1, 1]
    # positive-negative pairs: (0.35,0.1)=1 (0.35,0.4)=0 (0.8,0.1)=1 (0.8,0.4)=1 (0.4,0.1)=1 (0.4,0.4)=1/2
    assert auroc(scores, labels) == pytest.approx(4.5 / 6)
    assert auroc([0.5] * 4, [0, 1, 0, 1]) == pytest.approx(0.5)
    assert auroc([0, 1], [0, 1]) == 1.0 and auroc([1, 0], [0, 1]) == 0.0
    assert np.isnan(auroc([0.1, 0.2], [1, 1]))


def test_auroc_matches_pair_counting():
    rng = np.random.default_rng(0)
    s = rng.integers(0, 5, 40).astype(float)  # many ties
    y = rng.integers(0, 2, 40)
    pairs = [(a, b) for a, b in itertools.product(s[y == 1], s[y == 0])]
    expect = np.mean([1.0 if a > b else 0.5 if a == b else 0.0 for a, b in pairs])
    assert auroc(s, y) == pytest.approx(expect)


def test_accuracy_and_per_type():
    p = [0.9, 0.2, 0.5, 0.4]
    y = [1, 0, 1, 1]
    assert accuracy(p, y) == 0.75
    t = ["missing", "normal", "position", "position"]
    assert per_type_accuracy(p, y, t) == {"missing": (1.0, 1), "normal": (1.0, 1), "position": (0.5, 2)}
    m = summarize(np.array(p), np.array(y), t)
    assert m["per_type"]["position"] == {"accuracy": 0.5, "n": 2}


def test_box_ap_hand_example():
    gt = np.array([[0, 0, 10, 10]] * 4, float)
    pred = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [20, 20, 30, 30], [0, 0, 9, 10]], float)
    assert box_iou(pred, gt)[3] == pytest.approx(0.9)
    has = np.array([True, False, True, True])
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    # ranked: TP (p=1, r=1/3), FP (no gt), FP (IoU 0), TP (p=2/4, r=2/3) -> AP = 1/3 * 1 + 1/3 * 0.5
    assert box_ap(scores, pred, gt, has) == pytest.approx(1 / 3 + 1 / 6)
    assert np.isnan(box_ap(scores, pred, gt, np.zeros(4, bool)))
