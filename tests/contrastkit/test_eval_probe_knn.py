"""linear_probe and knn_accuracy against scikit-learn built by hand and a brute-force k-NN."""

import numpy as np
import pytest
import torch
from contrastkit.eval import classification_metrics, knn_accuracy, linear_probe
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler


def _blobs(n, c, d, seed, spread=1.0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=3.0, size=(c, d))
    y = rng.integers(0, c, n)
    return centers[y] + spread * rng.normal(size=(n, d)), y


def test_linear_probe_matches_sklearn_and_separates():
    x, y = _blobs(300, 3, 10, 0, spread=2.5)
    y = np.array([4, 7, 9])[y]  # arbitrary label values
    res = linear_probe(x[:200], y[:200], torch.from_numpy(x[200:]), torch.from_numpy(y[200:]))
    scaler = StandardScaler().fit(x[:200])
    clf = LogisticRegression(max_iter=1000, random_state=0).fit(scaler.transform(x[:200]), y[:200])
    ref = clf.predict_proba(scaler.transform(x[200:]))
    assert res.classes.tolist() == [4, 7, 9]
    np.testing.assert_allclose(res.probabilities.numpy(), ref, atol=1e-8)
    idx = np.searchsorted([4, 7, 9], y[200:])
    assert res.metrics == pytest.approx(classification_metrics(idx, ref))
    assert res.metrics["accuracy"] == pytest.approx((ref.argmax(1) == idx).mean(), abs=1e-6)
    assert res.metrics["accuracy"] > 0.8


def test_linear_probe_bad_input():
    x, y = _blobs(40, 2, 3, 1)
    with pytest.raises(ValueError, match="never seen"):
        linear_probe(x[:20], np.zeros(20, int) + y[:20], x[20:], y[20:] + 5)
    with pytest.raises(ValueError, match="two classes"):
        linear_probe(x[:20], np.zeros(20, int), x[20:], np.zeros(20, int))
    with pytest.raises(ValueError, match="train_x has 20 rows but train_y has 19"):
        linear_probe(x[:20], y[:19], x[20:], y[20:])
    with pytest.raises(ValueError, match="test_x contains NaN"):
        linear_probe(x[:20], y[:20], np.full((3, 3), np.nan), y[:3])


def _brute_knn(xtr, ytr, xte, k):
    a = xtr / np.linalg.norm(xtr, axis=1, keepdims=True)
    b = xte / np.linalg.norm(xte, axis=1, keepdims=True)
    preds = []
    for row in b:
        nearest = np.argsort(-(a @ row), kind="stable")[:k]
        votes = np.bincount(ytr[nearest], minlength=ytr.max() + 1)
        preds.append(votes.argmax())
    return np.array(preds)


@pytest.mark.parametrize("k", [1, 5])
def test_knn_against_brute_force(k):
    x, y = _blobs(150, 4, 6, 2, spread=3.0)
    acc = knn_accuracy(torch.from_numpy(x[:100]), torch.from_numpy(y[:100]), x[100:], y[100:], k=k)
    assert acc == pytest.approx((_brute_knn(x[:100], y[:100], x[100:], k) == y[100:]).mean())
    assert 0.3 < acc < 1.0


def test_knn_hand_made_cosine():
    # cosine ignores the norm: (10, 0) is nearest to (1, 0.1), not (0.9, 0.9).
    train = np.array([[1.0, 0.1], [0.9, 0.9], [0.0, 1.0]])
    assert knn_accuracy(train, [0, 1, 2], [[10.0, 0.0], [0.1, 5.0]], [0, 2], k=1) == 1.0
    with pytest.raises(ValueError, match="k must be"):
        knn_accuracy(train, [0, 1, 2], [[1.0, 0.0]], [0], k=4)
