"""The symmetric pass of the kernel (CLIP): both directions from one logit matrix.

``L = 1/2 (mean_i l_i^row + mean_j l_j^col)`` with ``l^row`` the anchors→candidates and
``l^col`` the candidates→anchors cross-entropy of ``z = a_s @ c.T``, so
``dL/dz = 1/2 (P^row - Q^row) / n_r + 1/2 (P^col - Q^col) / n_c`` with row- and
column-normalized softmaxes and positive weights. Pass 1 computes each chunk's logits once
for the row log-sum-exp, the online column log-sum-exp and the positives' sums; pass 2
recomputes the logits for the gradient (two logit products and two gradient products per
chunk). With one chunk the logits and their exponentials of pass 1 are reused.
"""

from __future__ import annotations

import torch
from torch import Tensor

from contrastkit.functional.kernel.grads import Grads
from contrastkit.functional.kernel.spec import Spec, dense_weights, self_columns
from contrastkit.functional.kernel.validate import check_finite_loss, check_logsumexp


def _exp_shifted(z: Tensor, dim: int, inplace: bool) -> tuple[Tensor, Tensor, Tensor]:
    """``e = exp(z - max_dim z)``, its sum along ``dim`` and the log-sum-exp along ``dim``
    (all -inf lines give 0 and -inf)."""
    mx = z.amax(dim, keepdim=True)
    mx = torch.where(torch.isfinite(mx), mx, torch.zeros_like(mx))
    e = z.sub_(mx).exp_() if inplace else (z - mx).exp_()
    total = e.sum(dim)
    return e, total, mx.squeeze(dim) + total.log()


def _safe(lse: Tensor) -> Tensor:
    return torch.where(torch.isfinite(lse), lse, torch.zeros_like(lse))


def symmetric_pass(spec: Spec, a_s: Tensor, c: Tensor, grads: Grads | None, per_row: Tensor,
                   kept: Tensor) -> tuple[Tensor, int]:
    """Loss of both directions; fills ``per_row`` / ``kept`` (the row direction's) and ``grads``."""
    n, m = a_s.shape[0], c.shape[0]
    acc, dev = spec.acc_dtype, a_s.device
    chunks = [(r0, min(r0 + spec.chunk_size, n)) for r0 in range(0, n, spec.chunk_size)]
    single = len(chunks) == 1
    row_lse = torch.empty(n, dtype=acc, device=dev)
    col_lse = torch.full((m,), float("-inf"), dtype=acc, device=dev)
    row_w, row_num = torch.zeros(n, dtype=acc, device=dev), torch.zeros(n, dtype=acc, device=dev)
    col_w, col_num = torch.zeros(m, dtype=acc, device=dev), torch.zeros(m, dtype=acc, device=dev)

    def logits(r0, r1):
        z = a_s[r0:r1] @ c.T
        self_pairs = self_columns(spec, r0, r1)
        if self_pairs is not None:
            z[self_pairs] = float("-inf")
        return z

    def positives(r0, r1):
        """``(rows, cols)`` of one-hot positives, or dense weights ``(r, M)``."""
        if spec.positive_index is None:
            return None, dense_weights(spec, r0, r1, m, dev)
        idx = spec.positive_index[r0:r1]
        has = idx >= 0
        if spec.self_index is not None:
            has &= idx != spec.self_index[r0:r1]
        rows = torch.nonzero(has).squeeze(1)
        return (rows, idx[rows]), None

    cache = None
    for r0, r1 in chunks:
        z = logits(r0, r1)
        one_hot, w = positives(r0, r1)
        if one_hot is not None:
            rows, cols = one_hot
            vals = z[rows, cols]
            row_w[r0 + rows] = 1.0
            row_num[r0 + rows] = vals
            col_w.index_add_(0, cols, torch.ones_like(vals))
            col_num.index_add_(0, cols, vals)
        else:
            wz = torch.where(w > 0, z, torch.zeros_like(z)) * w
            row_w[r0:r1], row_num[r0:r1] = w.sum(1), wz.sum(1)
            col_w += w.sum(0)
            col_num += wz.sum(0)
        exp_r, sum_r, row_lse[r0:r1] = _exp_shifted(z, 1, inplace=False)
        exp_c, sum_c, chunk_col_lse = _exp_shifted(z, 0, inplace=True)  # z is not needed afterwards
        col_lse = torch.logaddexp(col_lse, chunk_col_lse)
        if single:
            cache = (exp_r, sum_r, exp_c, sum_c, one_hot, w)

    check_logsumexp(row_lse)
    check_logsumexp(col_lse)
    row_ok = (row_w > 0) & (row_lse > float("-inf"))  # -inf: no valid candidate
    col_ok = (col_w > 0) & (col_lse > float("-inf"))
    row_loss = torch.where(row_ok, row_lse - row_num / row_w.clamp_min(1e-30), torch.zeros_like(row_lse))
    col_loss = torch.where(col_ok, col_lse - col_num / col_w.clamp_min(1e-30), torch.zeros_like(col_lse))
    check_finite_loss(torch.cat([row_loss, col_loss]), "per-anchor losses")
    per_row.copy_(row_loss)
    kept.copy_(row_ok)
    n_r, n_c = int(row_ok.sum()), int(col_ok.sum())
    d_r = max(n_r, 1) if spec.reduction == "mean" else 1
    d_c = max(n_c, 1) if spec.reduction == "mean" else 1
    loss = 0.5 * (row_loss.sum() / d_r + col_loss.sum() / d_c)
    if grads is not None:
        f_r = row_ok.to(acc) * (0.5 / d_r)  # (N,) row factors
        f_c = col_ok.to(acc) * (0.5 / d_c)  # (M,) column factors
        for r0, r1 in chunks:
            if cache is not None:  # one chunk: exp(z - row max), exp(z - column max) from pass 1
                exp_r, sum_r, exp_c, sum_c, one_hot, w = cache
                g = exp_r.mul_((f_r / sum_r.clamp_min(1e-30))[:, None])
                g.add_(exp_c.mul_((f_c / sum_c.clamp_min(1e-30))[None, :]))
            else:
                z = logits(r0, r1)
                one_hot, w = positives(r0, r1)
                g = torch.exp(z - _safe(row_lse[r0:r1])[:, None]).mul_(f_r[r0:r1, None])
                g.add_(z.sub_(_safe(col_lse)[None, :]).exp_().mul_(f_c[None, :]))
            if one_hot is not None:
                rows, cols = one_hot
                g[rows, cols] -= f_r[r0 + rows] + f_c[cols] / col_w[cols]
            else:
                g.sub_(w * (f_r[r0:r1] / row_w[r0:r1].clamp_min(1e-30))[:, None])
                g.sub_(w * (f_c / col_w.clamp_min(1e-30))[None, :])
            grads.add_chunk(g, a_s, c, None, r0, r1, False)
    return loss, (n - n_r) + (m - n_c)
