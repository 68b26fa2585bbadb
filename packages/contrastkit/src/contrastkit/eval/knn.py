"""k-nearest-neighbour accuracy of frozen embeddings (scikit-learn, cosine distance).

The k-NN monitor of self-supervised learning (Wu et al., "Unsupervised Feature Learning via
Non-Parametric Instance Discrimination", CVPR 2018): each test embedding takes the majority
label of its ``k`` nearest training embeddings under ``d(x, y) = 1 - cos(x, y)``

    y_hat = argmax_c sum_{j in kNN(x)} w_j [y_j == c],   accuracy = mean [y_hat == y]

with ``w_j = 1`` (``weights="uniform"``) or ``w_j = 1 / d(x, x_j)`` (``weights="distance"``).
"""

from __future__ import annotations

from typing import Any

from contrastkit.eval._inputs import train_test


def knn_accuracy(
    train_x: Any,
    train_y: Any,
    test_x: Any,
    test_y: Any,
    *,
    k: int = 20,
    weights: str = "uniform",
) -> float:
    """Accuracy of a cosine k-NN classifier fit on ``(train_x, train_y)``, scored on the test set.

    Args:
        train_x: ``(N, D)`` embeddings; train_y: ``(N,)`` integer labels.
        test_x: ``(M, D)``; test_y: ``(M,)``.
        k: neighbours (at most N).
        weights: ``"uniform"`` or ``"distance"`` (scikit-learn's meaning).
    """
    from sklearn.neighbors import KNeighborsClassifier

    xtr, ytr, xte, yte = train_test(train_x, train_y, test_x, test_y)
    if not 1 <= k <= xtr.shape[0]:
        raise ValueError(f"k must be in [1, {xtr.shape[0]}] (the training set size); got {k}")
    if weights not in ("uniform", "distance"):
        raise ValueError(f"weights must be 'uniform' or 'distance'; got {weights!r}")
    clf = KNeighborsClassifier(n_neighbors=k, metric="cosine", algorithm="brute", weights=weights)
    clf.fit(xtr.numpy(), ytr.numpy())
    return float(clf.score(xte.numpy(), yte.numpy()))
