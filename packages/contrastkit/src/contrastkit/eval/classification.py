"""Classification metrics from predicted probabilities (torchmetrics functional).

The set reported by COMET (Wang et al., "Contrast Everything: A Hierarchical Contrastive
Framework for Medical Time-Series", NeurIPS 2023) and most linear-probe protocols:

* accuracy  = mean_i [argmax_c p_ic == y_i]
* precision = 1/C sum_c TP_c / (TP_c + FP_c)        (macro, predictions by argmax)
* recall    = 1/C sum_c TP_c / (TP_c + FN_c)        (macro)
* f1        = 1/C sum_c 2 P_c R_c / (P_c + R_c)      (macro F1, per class then averaged)
* auroc     = area under the ROC curve; multiclass: macro one-vs-rest over the C classes
* auprc     = average precision sum_n (R_n - R_{n-1}) P_n; multiclass: macro one-vs-rest

Binary problems are scored as two classes for the thresholded metrics (macro over both classes,
as ``sklearn``'s ``average="macro"``) and with the positive-class probability for AUROC/AUPRC.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch

from contrastkit.eval._inputs import as_tensor, check_rows

METRICS = ("accuracy", "precision", "recall", "f1", "auroc", "auprc")


def _as_probabilities(probs: Any, n: int) -> torch.Tensor:
    """``(N,)`` positive-class probabilities or ``(N, C)`` rows as an ``(N, C)`` float tensor."""
    p = as_tensor("probs", probs, (1, 2)).double()
    if p.dim() == 1:
        p = torch.stack([1.0 - p, p], dim=1)
    if p.shape[1] < 2:
        raise ValueError(f"probs must be (N,) binary or (N, C) with C >= 2; got {tuple(p.shape)}")
    if p.shape[0] != n:
        raise ValueError(f"probs has {p.shape[0]} rows but y_true has {n}")
    if (p < 0).any() or (p > 1).any():
        raise ValueError("probs must lie in [0, 1] (pass softmax/sigmoid outputs, not logits)")
    return p


def classification_metrics(y_true: Any, probs: Any) -> dict[str, float]:
    """Accuracy, macro precision/recall/F1, AUROC and AUPRC of probabilistic predictions.

    Args:
        y_true: ``(N,)`` integer labels in ``[0, C)``.
        probs: ``(N,)`` probability of class 1 (binary) or ``(N, C)`` class probabilities.

    Returns:
        ``{"accuracy", "precision", "recall", "f1", "auroc", "auprc"}`` as floats. AUROC and
        AUPRC are NaN, with a warning, when ``y_true`` holds a single class (undefined).
    """
    from torchmetrics.functional import classification as tmc

    y = as_tensor("y_true", y_true, 1, integer=True)
    p = _as_probabilities(probs, y.shape[0])
    check_rows("y_true", y, "probs", p)
    c = p.shape[1]
    if y.min() < 0 or y.max() >= c:
        raise ValueError(f"y_true must lie in [0, {c}) for probs with {c} classes; got [{int(y.min())}, {int(y.max())}]")
    pred = p.argmax(1)
    out = {
        "accuracy": tmc.multiclass_accuracy(pred, y, num_classes=c, average="micro"),
        "precision": tmc.multiclass_precision(pred, y, num_classes=c, average="macro"),
        "recall": tmc.multiclass_recall(pred, y, num_classes=c, average="macro"),
        "f1": tmc.multiclass_f1_score(pred, y, num_classes=c, average="macro"),
    }
    if y.unique().numel() < 2:
        warnings.warn("classification_metrics: y_true holds a single class; AUROC and AUPRC are NaN", stacklevel=2)
        out["auroc"] = out["auprc"] = torch.tensor(float("nan"))
    elif c == 2:
        out["auroc"] = tmc.binary_auroc(p[:, 1], y)
        out["auprc"] = tmc.binary_average_precision(p[:, 1], y)
    else:
        out["auroc"] = tmc.multiclass_auroc(p, y, num_classes=c, average="macro")
        out["auprc"] = tmc.multiclass_average_precision(p, y, num_classes=c, average="macro")
    return {k: float(out[k]) for k in METRICS}
