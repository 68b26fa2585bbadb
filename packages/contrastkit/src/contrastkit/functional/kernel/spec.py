"""One kernel call's configuration, and its positives as dense weights (all three forms).

Positives come in exactly one of three forms: ``positive_index`` ``(N,)`` (one column per
anchor), ``anchor_labels``/``candidate_labels`` (``w_ij = [y_i == y_j]``) or soft ``weights``
``(N, M)``. :func:`dense_weights` turns any of them into the unnormalized ``w`` of a row chunk
``r0:r1`` (self-pairs zeroed), for the paths that need the dense form.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor


class Spec(NamedTuple):
    """Non-tensor configuration and index tensors of one kernel call."""

    positive_index: Tensor | None
    anchor_labels: Tensor | None
    candidate_labels: Tensor | None
    weights: Tensor | None
    self_index: Tensor | None
    positive_in_denominator: bool
    symmetric: bool
    chunk_size: int
    reduction: str
    hard_negatives_per_anchor: bool
    acc_dtype: torch.dtype


def self_columns(spec: Spec, r0: int, r1: int) -> tuple[Tensor, Tensor] | None:
    """``(rows, cols)`` of the self-pairs among anchor rows ``r0:r1`` (rows local to the chunk)."""
    if spec.self_index is None:
        return None
    idx = spec.self_index[r0:r1]
    rows = torch.nonzero(idx >= 0).squeeze(1)
    return rows, idx[rows]


def dense_weights(spec: Spec, r0: int, r1: int, m: int, device: torch.device) -> Tensor:
    """Unnormalized positive weights ``w`` for anchor rows ``r0:r1``, ``(r, M)``, self-pairs zeroed."""
    if spec.positive_index is not None:
        w = torch.zeros(r1 - r0, m, dtype=spec.acc_dtype, device=device)
        idx = spec.positive_index[r0:r1]
        rows = torch.nonzero(idx >= 0).squeeze(1)
        w[rows, idx[rows]] = 1.0
    elif spec.anchor_labels is not None:
        w = (spec.anchor_labels[r0:r1, None] == spec.candidate_labels[None, :]).to(spec.acc_dtype)
    else:
        w = spec.weights[r0:r1].to(spec.acc_dtype, copy=True)  # later steps write into w
    self_pairs = self_columns(spec, r0, r1)
    if self_pairs is not None:
        w[self_pairs] = 0.0
    return w
