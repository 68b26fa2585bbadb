"""Linear probe of frozen embeddings: standardize, then multinomial logistic regression.

The linear evaluation protocol of SimCLR (Chen et al., ICML 2020) and COMET (Wang et al.,
NeurIPS 2023) with scikit-learn: ``x' = (x - mu) / sigma`` fit on the training embeddings, then

    p(c | x) = softmax_c(W x' + b),   min_{W,b} -sum_i log p(y_i | x_i) + ||W||^2 / (2 C)

(L2-regularized, L-BFGS). The test set is scored with :func:`classification_metrics`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from contrastkit.eval._inputs import train_test
from contrastkit.eval.classification import classification_metrics


class ProbeResult(NamedTuple):
    """metrics: classification_metrics of the test set; probabilities: ``(M, C)`` float64 with
    column ``c`` the probability of ``classes[c]``; classes: ``(C,)`` the sorted training labels."""

    metrics: dict[str, float]
    probabilities: Tensor
    classes: Tensor


def linear_probe(
    train_x: Any,
    train_y: Any,
    test_x: Any,
    test_y: Any,
    *,
    c: float = 1.0,
    max_iter: int = 1000,
    seed: int = 0,
) -> ProbeResult:
    """Fit StandardScaler + LogisticRegression on the training embeddings and score the test set.

    Args:
        train_x: ``(N, D)`` embeddings; train_y: ``(N,)`` integer labels (at least two classes).
        test_x: ``(M, D)``; test_y: ``(M,)`` labels, each seen in training.
        c: inverse L2 regularization strength (scikit-learn's ``C``).
        max_iter: L-BFGS iterations.
        seed: the solver's random state.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    xtr, ytr, xte, yte = train_test(train_x, train_y, test_x, test_y)
    classes = ytr.unique()
    if classes.numel() < 2:
        raise ValueError(f"train_y must hold at least two classes; got only {classes.tolist()}")
    unseen = yte[~torch.isin(yte, classes)].unique()
    if unseen.numel():
        raise ValueError(f"test_y has labels never seen in train_y: {unseen.tolist()[:10]}")
    if c <= 0 or max_iter < 1:
        raise ValueError(f"c must be > 0 and max_iter >= 1; got c={c}, max_iter={max_iter}")
    model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=max_iter, random_state=seed))
    model.fit(xtr.numpy(), ytr.numpy())
    probs = torch.from_numpy(model.predict_proba(xte.numpy())).double()
    metrics = classification_metrics(torch.searchsorted(classes, yte), probs)
    return ProbeResult(metrics, probs, classes)
