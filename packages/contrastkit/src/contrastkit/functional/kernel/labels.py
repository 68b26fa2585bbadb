"""Path 2 of the kernel: label positives (SupCon, COMET's trial/patient levels) as class sums.

With ``S_c = sum_{j: y_j = c} c_j`` the numerator of anchor ``i`` is::

    sum_{j in P(i)} z_ij / |P(i)| = (<a_s_i, S_{y_i}> - [self shares y_i] <a_s_i, c_self(i)>) / |P(i)|

and the ``-q`` part of the gradient, ``q_ij = [j in P(i)] / |P(i)|``, is a per-class sum too:
no ``(N, M)`` mask is ever built, so SupCon costs what InfoNCE costs. Used when the positives
stay in the denominator (for DCL the dense mask of ``spec.py`` is used instead).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from contrastkit.functional.kernel.spec import Spec


class ClassSums(NamedTuple):
    """Label positives reduced to per-class sums."""

    anchor_class: Tensor  # (N,) class id of each anchor (shared id space)
    candidate_class: Tensor  # (M,) class id of each candidate
    candidate_sum: Tensor  # (C, D) sum of the candidates of each class
    count: Tensor  # (N,) |P(i)|: positives of anchor i, self excluded
    self_same: Tensor  # (N,) bool: anchor i's self candidate exists and shares its label


def class_sums(spec: Spec, candidates: Tensor) -> ClassSums:
    """Per-class candidate sums and positive counts; ``candidates`` ``(M, D)`` in ``spec.acc_dtype``."""
    n = spec.anchor_labels.shape[0]
    _, ids = torch.unique(torch.cat([spec.anchor_labels, spec.candidate_labels]), return_inverse=True)
    ya, yc = ids[:n], ids[n:]
    n_classes = int(ids.max()) + 1
    total = torch.zeros(n_classes, candidates.shape[1], dtype=spec.acc_dtype, device=candidates.device)
    total.index_add_(0, yc, candidates)
    self_same = torch.zeros(n, dtype=torch.bool, device=candidates.device)
    if spec.self_index is not None:
        rows = torch.nonzero(spec.self_index >= 0).squeeze(1)
        self_same[rows] = yc[spec.self_index[rows]] == ya[rows]
    count = torch.bincount(yc, minlength=n_classes)[ya] - self_same.long()
    return ClassSums(ya, yc, total, count, self_same)


def class_numerator(sums: ClassSums, spec: Spec, a_s: Tensor, c: Tensor, r0: int, r1: int) -> Tensor:
    """``sum_{j in P(i)} z_ij / |P(i)|`` for rows ``r0:r1`` in ``O(r D)``."""
    num = (a_s * sums.candidate_sum[sums.anchor_class[r0:r1]]).sum(1)
    same = sums.self_same[r0:r1]
    if bool(same.any()):
        rows = torch.nonzero(same).squeeze(1)
        num[rows] -= (a_s[rows] * c[spec.self_index[r0:r1][rows]]).sum(1)
    return num / sums.count[r0:r1].clamp_min(1).to(num.dtype)


def add_class_gradient_(sums: ClassSums, spec: Spec, grads, a_s: Tensor, c: Tensor, kept: Tensor) -> None:
    """Add the ``-q`` part of the gradient for the kept rows (``grads``: a :class:`~.grads.Grads`)."""
    coef = kept.to(spec.acc_dtype) / sums.count.clamp_min(1).to(spec.acc_dtype)  # (N,)
    grads.grad_as -= coef[:, None] * sums.candidate_sum[sums.anchor_class]
    per_class = torch.zeros_like(sums.candidate_sum).index_add_(0, sums.anchor_class, coef[:, None] * a_s)
    grads.grad_c -= per_class[sums.candidate_class]
    rows = torch.nonzero(sums.self_same).squeeze(1)
    if rows.numel():
        cols = spec.self_index[rows]
        grads.grad_as[rows] += coef[rows, None] * c[cols]
        grads.grad_c.index_add_(0, cols, coef[rows, None] * a_s[rows])
