"""classification_metrics against scikit-learn and a hand-computed example."""

import numpy as np
import pytest
import torch
from contrastkit.eval import classification_metrics
from sklearn import metrics as skm


def _sklearn(y, p):
    pred = p.argmax(1)
    binary = p.shape[1] == 2
    return {
        "accuracy": skm.accuracy_score(y, pred),
        "precision": skm.precision_score(y, pred, average="macro", zero_division=0),
        "recall": skm.recall_score(y, pred, average="macro", zero_division=0),
        "f1": skm.f1_score(y, pred, average="macro", zero_division=0),
        "auroc": skm.roc_auc_score(y, p[:, 1]) if binary else skm.roc_auc_score(y, p, multi_class="ovr"),
        "auprc": skm.average_precision_score(y, p[:, 1]) if binary
        else skm.average_precision_score(np.eye(p.shape[1])[y], p, average="macro"),
    }


@pytest.mark.parametrize("c", [2, 3, 5])
def test_matches_sklearn(c):
    rng = np.random.default_rng(c)
    y = rng.integers(0, c, 300)
    logits = rng.normal(size=(300, c)) + 1.5 * np.eye(c)[y]
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    ours, ref = classification_metrics(torch.from_numpy(y), torch.from_numpy(p)), _sklearn(y, p)
    for name in ref:
        assert ours[name] == pytest.approx(ref[name], abs=1e-6), name


def test_binary_vector_equals_two_columns():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 100)
    p1 = np.clip(0.3 * y + rng.uniform(0, 0.7, 100), 0, 1)
    a = classification_metrics(y, p1)
    b = classification_metrics(y, np.stack([1 - p1, p1], 1))
    assert a == pytest.approx(b)
    assert a["auroc"] == pytest.approx(skm.roc_auc_score(y, p1))


def test_hand_computed():
    # predictions 0, 1, 1, 0 for labels 0, 0, 1, 1: each class has TP=1, FP=1, FN=1.
    y = torch.tensor([0, 0, 1, 1])
    p1 = torch.tensor([0.2, 0.6, 0.9, 0.4])
    m = classification_metrics(y, p1)
    assert m["accuracy"] == pytest.approx(0.5)
    assert m["precision"] == pytest.approx(0.5) and m["recall"] == pytest.approx(0.5)
    assert m["f1"] == pytest.approx(0.5)
    # positives scored 0.9, 0.4; negatives 0.2, 0.6: 3 of 4 pairs ordered correctly.
    assert m["auroc"] == pytest.approx(0.75)
    # ranking 0.9 (+), 0.6 (-), 0.4 (+): AP = 1/2 (1/1 + 2/3).
    assert m["auprc"] == pytest.approx((1 + 2 / 3) / 2)


def test_single_class_warns_nan():
    with pytest.warns(UserWarning, match="single class"):
        m = classification_metrics(torch.zeros(4, dtype=torch.long), torch.full((4,), 0.3))
    assert np.isnan(m["auroc"]) and np.isnan(m["auprc"]) and m["accuracy"] == 1.0


@pytest.mark.parametrize(
    "y, p, match",
    [
        ([0, 1], [[0.5, 0.5]], "rows"),
        ([0, 3], [[0.5, 0.5], [0.2, 0.8]], "y_true must lie"),
        ([0, 1], [[2.0, -1.0], [0.2, 0.8]], "logits"),
        ([0, 1], [float("nan"), 0.2], "NaN"),
        ([0.0, 1.0], [0.1, 0.2], "integer"),
        ([], [], "empty"),
    ],
)
def test_bad_input(y, p, match):
    with pytest.raises(ValueError, match=match):
        classification_metrics(torch.tensor(y), torch.tensor(p))
