"""The anchors→candidates pass of the kernel (every loss except the symmetric CLIP form).

For each chunk of anchor rows::

    z   = a_s @ [c; e].T                     (r, M + K), float32 (float64 for float64 inputs)
    p   = softmax_k z_ik over V(i)           in place, no copy of z
    l_i = logsumexp_k z_ik - sum_j q_ij z_ij
    g   = dl_i/dz_ik = p_ik - q_ik           added to the input gradients at once (grads.py)

so no ``(N, M)`` tensor outlives its chunk. An anchor is dropped (``l_i = 0``, counted) only
when it has no positive or no valid candidate; a non-finite ``l_i`` raises.
"""

from __future__ import annotations

import torch
from torch import Tensor

from contrastkit.functional.kernel.grads import Grads
from contrastkit.functional.kernel.labels import add_class_gradient_, class_sums
from contrastkit.functional.kernel.positives import chunk_logits, grad_logits_
from contrastkit.functional.kernel.spec import Spec
from contrastkit.functional.kernel.validate import check_finite_loss, check_logsumexp


def softmax_(z: Tensor) -> tuple[Tensor, Tensor]:
    """In-place row softmax of ``z`` (r, M); returns ``(p, lse)``; all -inf rows give p = 0, lse = -inf."""
    mx = z.amax(1)
    mx = torch.where(torch.isfinite(mx), mx, torch.zeros_like(mx))
    p = z.sub_(mx[:, None]).exp_()
    total = p.sum(1)
    lse = mx + total.log()
    p.div_(total.clamp_min(1e-30)[:, None])
    return p, lse


def rows_pass(spec: Spec, a_s: Tensor, c: Tensor, e: Tensor | None, grads: Grads | None,
              per_row: Tensor, kept: Tensor) -> tuple[Tensor, int]:
    """Loss of the anchors→candidates direction; fills ``per_row``, ``kept`` and ``grads``."""
    n = a_s.shape[0]
    sums = class_sums(spec, c) if spec.anchor_labels is not None and spec.positive_in_denominator else None
    for r0 in range(0, n, spec.chunk_size):
        r1 = min(r0 + spec.chunk_size, n)
        z, pos = chunk_logits(spec, a_s[r0:r1], c, e, r0, r1, sums)
        p, lse = softmax_(z)
        check_logsumexp(lse)
        row_ok = pos.has_pos & (lse > float("-inf"))  # -inf: no valid candidate
        per_row[r0:r1] = torch.where(row_ok, lse - pos.numerator, torch.zeros_like(lse))
        kept[r0:r1] = row_ok
        if grads is not None:
            grad_logits_(p, pos, row_ok)
            grads.add_chunk(p, a_s, c, e, r0, r1, spec.hard_negatives_per_anchor)
    check_finite_loss(per_row, "per-anchor losses")
    n_kept = int(kept.sum())
    denom = max(n_kept, 1) if spec.reduction == "mean" else 1
    if grads is not None:
        if sums is not None:
            add_class_gradient_(sums, spec, grads, a_s, c, kept)
        grads.scale_(1.0 / denom)
    return per_row.sum() / denom, n - n_kept
