"""The logits of one row chunk and its positives (paths 1 and 3; path 2 via ``labels.py``).

For anchor rows ``r0:r1``: ``z = a_s @ [c; e].T`` ``(r, M + K)`` in float32 (float64 for float64
inputs), invalid entries (self-pairs; positives when decoupled) set to ``-inf``, and the
positives as

* path 1, ``positive_index``: one column per row, the numerator ``z_i,pos(i)`` is a gather;
* path 2, labels with positives in the denominator: class sums (``labels.py``);
* path 3, dense weights (soft weights, or labels when decoupled): ``q = w / sum_j w``,
  numerator ``sum_j q_ij z_ij``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from contrastkit.functional.kernel.labels import ClassSums, class_numerator
from contrastkit.functional.kernel.spec import Spec, dense_weights, self_columns


class Positives(NamedTuple):
    """Positives of one row chunk: a single column per row (``index``) or dense weights ``q``."""

    has_pos: Tensor  # (r,) bool
    numerator: Tensor  # (r,) sum_j q_ij z_ij
    index: Tensor | None  # (r,) long, rows with a positive only meaningful
    q: Tensor | None  # (r, M + K) normalized weights


def chunk_logits(spec: Spec, a_s: Tensor, c: Tensor, e: Tensor | None, r0: int, r1: int,
                 sums: ClassSums | None = None) -> tuple[Tensor, Positives]:
    """Scaled logits ``z`` ``(r, M + K)`` of rows ``r0:r1`` (``a_s`` = those rows), their positives."""
    m = c.shape[0]
    z = a_s @ c.T
    if e is not None:
        z_e = torch.einsum("rd,rkd->rk", a_s, e[r0:r1]) if spec.hard_negatives_per_anchor else a_s @ e.T
        z = torch.cat([z, z_e], dim=1)
    self_pairs = self_columns(spec, r0, r1)
    if spec.positive_index is not None:  # path 1
        idx = spec.positive_index[r0:r1]
        has_pos = idx >= 0
        if spec.self_index is not None:
            has_pos &= idx != spec.self_index[r0:r1]
        safe = idx.clamp_min(0)
        pos = Positives(has_pos, z.gather(1, safe[:, None]).squeeze(1), safe, None)
        if not spec.positive_in_denominator:
            rows = torch.nonzero(has_pos).squeeze(1)
            z[rows, safe[rows]] = float("-inf")
    elif sums is not None:  # path 2
        pos = Positives(sums.count[r0:r1] > 0, class_numerator(sums, spec, a_s, c, r0, r1), None, None)
    else:  # path 3
        w = dense_weights(spec, r0, r1, m, z.device)
        if e is not None:
            w = torch.cat([w, w.new_zeros(r1 - r0, z.shape[1] - m)], dim=1)
        wsum = w.sum(1)
        q = w.div_(wsum.clamp_min(1e-30)[:, None])
        pos = Positives(wsum > 0, (q * z).sum(1), None, q)
        if not spec.positive_in_denominator:
            z.masked_fill_(q > 0, float("-inf"))
    if self_pairs is not None:
        z[self_pairs] = float("-inf")
    return z, pos


def grad_logits_(p: Tensor, pos: Positives, row_ok: Tensor) -> None:
    """Turn the softmax ``p`` into ``dl_i/dz_ik = p_ik - q_ik`` in place (zero for dropped rows)."""
    if pos.index is not None:
        rows = torch.nonzero(row_ok).squeeze(1)
        p[rows, pos.index[rows]] -= 1.0
    elif pos.q is not None:
        p.sub_(pos.q)  # (class-sum positives add their -q part after the loop)
    if not bool(row_ok.all()):
        p.mul_(row_ok[:, None].to(p.dtype))
