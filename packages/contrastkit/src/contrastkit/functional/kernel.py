"""The one kernel behind almost every contrastive loss in ContrastKit.

A weighted log-softmax cross-entropy of anchors against candidates::

    z_ik = s_ik / t_i                         s = anchors @ candidates.T   (N, M)
    q_ij = w_ij / sum_j w_ij                  positives as normalized weights
    l_i  = sum_j q_ij [ logsumexp_{k in V(i)} z_ik  -  z_ij ]
    loss = mean over anchors that have a positive (sum_j w_ij > 0)

``V(i)`` is the set of valid candidates of anchor ``i``: every candidate except its own
self-pair (``self_index``) and, for decoupled losses (DCL), except its positives.
Extra candidates (a queue, mined or synthesized hard negatives) join ``V(i)`` with weight 0.

Positives are given in exactly one of three forms:

* ``positive_index`` ``(N,)`` long: candidate index of anchor i's positive, ``-1`` for none
  (InfoNCE, NT-Xent, CLIP);
* ``anchor_labels`` ``(N,)`` and ``candidate_labels`` ``(M,)``: ``w_ij = [y_i == y_j]``, built
  block by block, never as an ``(N, M)`` tensor (SupCon, COMET trial/patient levels);
* ``weights`` ``(N, M)``: soft non-negative weights (CWCL, soft contrastive, mixup).

Anchors without any positive are dropped from the mean and counted, never turned into NaN.

Speed and memory: the rows are processed in chunks of ``chunk_size``. Because the output is a
scalar, the gradient with respect to the logits, ``dl/dz_ik = p_ik - q_ik`` (for kept rows), is
known during the forward pass; each chunk's contribution to the input gradients is accumulated
there and only the ``(N, D)`` / ``(M, D)`` gradients are saved for backward. No ``(N, M)`` tensor
outlives its chunk, and the cost is three matrix products, as for a dense cross-entropy.
The similarity product runs in the inputs' dtype (autocast decides under autocast); the
log-softmax, its accumulation and the gradients are computed in float32.

With ``symmetric=True`` the mean of both directions is returned (CLIP): anchors against
candidates and candidates against anchors, sharing one similarity matrix (two passes over the
chunks when chunked, one when not).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor


class KernelOutput(NamedTuple):
    """What :func:`contrastive_cross_entropy` returns.

    loss:        scalar, differentiable.
    per_anchor:  ``(N,)`` loss of each anchor (0 for dropped anchors), no gradient; ``(G, N)`` from
                 :func:`~contrastkit.functional.grouped_contrastive_cross_entropy`.
    num_dropped: anchors (and, when symmetric, candidates) with no positive.
    """

    loss: Tensor
    per_anchor: Tensor
    num_dropped: int


def _check_inputs(anchors: Tensor, candidates: Tensor, n_forms: int) -> None:
    if anchors.dim() != 2 or candidates.dim() != 2:
        raise ValueError(
            f"anchors and candidates must be 2-D (N, D) and (M, D); got {tuple(anchors.shape)} "
            f"and {tuple(candidates.shape)}"
        )
    if anchors.shape[1] != candidates.shape[1]:
        raise ValueError(
            f"anchors (N, D={anchors.shape[1]}) and candidates (M, D={candidates.shape[1]}) "
            "must share the feature dimension D"
        )
    if anchors.shape[0] == 0 or candidates.shape[0] == 0:
        raise ValueError("anchors and candidates must not be empty")
    if n_forms != 1:
        raise ValueError(
            "give positives in exactly one form: positive_index, (anchor_labels, "
            f"candidate_labels) or weights; got {n_forms}"
        )


def _row_scale(temperature: float | Tensor, n: int, device: torch.device) -> Tensor:
    """Return ``1 / t`` of shape ``(n,)`` (a view of a scalar when scalar); float64 when ``t`` is a
    Python number or a float64 tensor, else float32."""
    # A Python number is taken in float64 so that float64 inputs are not rounded to float32.
    t = torch.as_tensor(temperature, device=device, dtype=None if isinstance(temperature, Tensor) else torch.float64)
    t = t.to(torch.float64 if t.dtype == torch.float64 else torch.float32)
    if t.dim() == 0:
        t = t.expand(n)
    if t.shape != (n,):
        raise ValueError(f"temperature must be a scalar or of shape (N,)=({n},); got {tuple(t.shape)}")
    if isinstance(temperature, Tensor):
        if not bool(torch.isfinite(t).all()) or bool((t <= 0).any()):
            raise ValueError("temperature must be finite and > 0")
    elif not (math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be finite and > 0; got {temperature}")
    return 1.0 / t


class _Spec(NamedTuple):
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


def _self_columns(spec: _Spec, r0: int, r1: int) -> tuple[Tensor, Tensor] | None:
    """``(rows, cols)`` of the self-pairs among anchor rows ``r0:r1`` (rows local to the chunk)."""
    if spec.self_index is None:
        return None
    idx = spec.self_index[r0:r1]
    rows = torch.nonzero(idx >= 0).squeeze(1)
    return rows, idx[rows]


def _dense_weights(spec: _Spec, r0: int, r1: int, m: int, device: torch.device) -> Tensor:
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
    self_pairs = _self_columns(spec, r0, r1)
    if self_pairs is not None:
        w[self_pairs] = 0.0
    return w


class _Positives(NamedTuple):
    """Positives of one row chunk: a single column per row (``index``) or dense weights ``q``."""

    has_pos: Tensor  # (r,) bool
    numerator: Tensor  # (r,) sum_j q_ij z_ij
    index: Tensor | None  # (r,) long, rows with a positive only meaningful
    q: Tensor | None  # (r, M + K) normalized weights


class _ClassSums(NamedTuple):
    """Label positives reduced to per-class sums, for positives that stay in the denominator.

    With ``S_c = sum_{j: y_j = c} c_j`` the numerator ``sum_{j in P(i)} z_ij = <a_s_i, S_{y_i}>``
    minus the self-pair, and the ``-q`` part of the gradient is a per-class sum too: no
    ``(N, M)`` mask is ever built (SupCon costs what InfoNCE costs).
    """

    anchor_class: Tensor  # (N,) class id of each anchor (shared id space)
    candidate_class: Tensor  # (M,) class id of each candidate
    candidate_sum: Tensor  # (C, D) sum of the candidates of each class
    count: Tensor  # (N,) |P(i)|: positives of anchor i, self excluded
    self_same: Tensor  # (N,) bool: anchor i's self candidate exists and shares its label


def _class_sums(spec: _Spec, candidates: Tensor) -> _ClassSums:
    n = spec.anchor_labels.shape[0]
    _, ids = torch.unique(torch.cat([spec.anchor_labels, spec.candidate_labels]), return_inverse=True)
    ya, yc = ids[:n], ids[n:]
    n_classes = int(ids.max()) + 1
    total = torch.zeros(n_classes, candidates.shape[1], dtype=spec.acc_dtype, device=candidates.device)
    total.index_add_(0, yc, candidates.to(spec.acc_dtype))
    self_same = torch.zeros(n, dtype=torch.bool, device=candidates.device)
    if spec.self_index is not None:
        rows = torch.nonzero(spec.self_index >= 0).squeeze(1)
        self_same[rows] = yc[spec.self_index[rows]] == ya[rows]
    count = torch.bincount(yc, minlength=n_classes)[ya] - self_same.long()
    return _ClassSums(ya, yc, total, count, self_same)


def _class_numerator(sums: _ClassSums, spec: _Spec, a_s: Tensor, c_mm: Tensor, r0: int, r1: int) -> Tensor:
    """``sum_{j in P(i)} z_ij / |P(i)|`` for rows ``r0:r1`` in ``O(r D)``."""
    a = a_s.to(spec.acc_dtype)
    num = (a * sums.candidate_sum[sums.anchor_class[r0:r1]]).sum(1)
    same = sums.self_same[r0:r1]
    if bool(same.any()):
        rows = torch.nonzero(same).squeeze(1)
        num[rows] -= (a[rows] * c_mm[spec.self_index[r0:r1][rows]].to(spec.acc_dtype)).sum(1)
    return num / sums.count[r0:r1].clamp_min(1).to(num.dtype)


def _class_gradient_(sums: _ClassSums, spec: _Spec, grads, a_s_all: Tensor, c_mm: Tensor, kept: Tensor) -> None:
    """Add the ``-q`` part of the gradient, ``q_ij = [j in P(i)] / |P(i)|``, for kept rows."""
    acc = spec.acc_dtype
    coef = kept.to(acc) / sums.count.clamp_min(1).to(acc)  # (N,)
    a = a_s_all.to(acc)
    grads.grad_as -= coef[:, None] * sums.candidate_sum[sums.anchor_class]
    per_class = torch.zeros_like(sums.candidate_sum).index_add_(0, sums.anchor_class, coef[:, None] * a)
    grads.grad_c -= per_class[sums.candidate_class]
    rows = torch.nonzero(sums.self_same).squeeze(1)
    if rows.numel():
        cols = spec.self_index[rows]
        grads.grad_as[rows] += coef[rows, None] * c_mm[cols].to(acc)
        grads.grad_c.index_add_(0, cols, coef[rows, None] * a[rows])


def _row_logits(spec, a_s, c_mm, e_mm, r0, r1, sums: _ClassSums | None = None):
    """Scaled logits ``z`` ``(r, M + K)`` of one chunk, its positives, and invalid entries set to -inf."""
    m = c_mm.shape[0]
    acc = spec.acc_dtype
    z = (a_s @ c_mm.T).to(acc)
    if e_mm is not None:
        if spec.hard_negatives_per_anchor:
            z_e = torch.einsum("rd,rkd->rk", a_s, e_mm[r0:r1]).to(acc)
        else:
            z_e = (a_s @ e_mm.T).to(acc)
        z = torch.cat([z, z_e], dim=1)
    self_pairs = _self_columns(spec, r0, r1)
    if spec.positive_index is not None:
        idx = spec.positive_index[r0:r1]
        has_pos = idx >= 0
        if spec.self_index is not None:
            has_pos &= idx != spec.self_index[r0:r1]
        safe = idx.clamp_min(0)
        pos = _Positives(has_pos, z.gather(1, safe[:, None]).squeeze(1), safe, None)
        if not spec.positive_in_denominator:
            rows = torch.nonzero(has_pos).squeeze(1)
            z[rows, safe[rows]] = float("-inf")
    elif sums is not None:
        pos = _Positives(sums.count[r0:r1] > 0, _class_numerator(sums, spec, a_s, c_mm, r0, r1), None, None)
    else:
        w = _dense_weights(spec, r0, r1, m, z.device)
        if e_mm is not None:
            w = torch.cat([w, w.new_zeros(r1 - r0, z.shape[1] - m)], dim=1)
        wsum = w.sum(1)
        q = w.div_(wsum.clamp_min(1e-30)[:, None])
        pos = _Positives(wsum > 0, (q * z).sum(1), None, q)
        if not spec.positive_in_denominator:
            z.masked_fill_(q > 0, float("-inf"))
    if self_pairs is not None:
        z[self_pairs] = float("-inf")
    return z, pos


def _softmax_(z: Tensor) -> tuple[Tensor, Tensor]:
    """In-place row softmax of ``z`` (r, M); returns ``(p, lse)``; all -inf rows give p = 0, lse = -inf."""
    mx = z.amax(1)
    mx = torch.where(torch.isfinite(mx), mx, torch.zeros_like(mx))
    p = z.sub_(mx[:, None]).exp_()
    total = p.sum(1)
    lse = mx + total.log()
    p.div_(total.clamp_min(1e-30)[:, None])
    return p, lse


class _ContrastiveCE(torch.autograd.Function):
    """Chunked forward that also produces the input gradients; backward only scales them.

    The scale ``1/t`` is folded into the anchors (``a_s = a * scale``), so ``z = a_s @ c.T`` and
    ``dL/dscale_i = <dL/da_s_i, a_i>`` costs ``O(N D)``, not a pass over ``(N, M)``.
    """

    @staticmethod
    def forward(ctx, anchors, candidates, extra, scale, spec: _Spec):
        n = anchors.shape[0]
        dev, acc = anchors.device, spec.acc_dtype
        need_grad = any(ctx.needs_input_grad[:4])
        mm_dtype = torch.promote_types(anchors.dtype, candidates.dtype)
        if torch.is_autocast_enabled(dev.type):
            mm_dtype = torch.get_autocast_dtype(dev.type)
        a_mm, c_mm = anchors.to(mm_dtype), candidates.to(mm_dtype)
        e_mm = None if extra is None else extra.to(mm_dtype)
        a_s_all = a_mm * scale[:, None].to(mm_dtype)

        per_row = torch.zeros(n, dtype=acc, device=dev)
        kept = torch.zeros(n, dtype=torch.bool, device=dev)
        grads = _Grads.zeros(anchors, candidates, extra, acc) if need_grad else None
        if spec.symmetric:
            loss, dropped = _symmetric(spec, a_s_all, c_mm, need_grad, grads, per_row, kept)
        else:
            use_sums = spec.anchor_labels is not None and spec.positive_in_denominator
            sums = _class_sums(spec, c_mm) if use_sums else None
            for r0 in range(0, n, spec.chunk_size):
                r1 = min(r0 + spec.chunk_size, n)
                z, pos = _row_logits(spec, a_s_all[r0:r1], c_mm, e_mm, r0, r1, sums)
                p, lse = _softmax_(z)
                row_ok = pos.has_pos & torch.isfinite(lse)
                per_row[r0:r1] = torch.where(row_ok, lse - pos.numerator, torch.zeros_like(lse))
                kept[r0:r1] = row_ok
                if need_grad:
                    _grad_logits_(p, pos, row_ok)
                    grads.add_chunk(p, a_mm, a_s_all, c_mm, e_mm, r0, r1, spec.hard_negatives_per_anchor)

            n_kept = int(kept.sum())
            denom = max(n_kept, 1) if spec.reduction == "mean" else 1
            loss = per_row.sum() / denom
            dropped = n - n_kept
            if need_grad:
                if sums is not None:
                    _class_gradient_(sums, spec, grads, a_s_all, c_mm, kept)
                grads.scale_(1.0 / denom)

        if need_grad:
            grads.finish(a_mm, scale, ctx.needs_input_grad[3])
            ctx.save_for_backward(*grads.tensors())
            ctx.dtypes = (anchors.dtype, candidates.dtype, None if extra is None else extra.dtype)
        ctx.mark_non_differentiable(per_row)
        return loss, per_row, torch.tensor(dropped)

    @staticmethod
    def backward(ctx, grad_loss, _grad_rows, _grad_dropped):
        grad_a, grad_c, grad_s, grad_e = ctx.saved_tensors
        da_t, dc_t, de_t = ctx.dtypes
        g = grad_loss.to(grad_a.dtype)
        da = (grad_a * g).to(da_t) if ctx.needs_input_grad[0] else None
        dc = (grad_c * g).to(dc_t) if ctx.needs_input_grad[1] else None
        de = (grad_e * g).to(de_t) if de_t is not None and ctx.needs_input_grad[2] else None
        ds = grad_s * g if ctx.needs_input_grad[3] else None
        return da, dc, de, ds, None


def _grad_logits_(p: Tensor, pos: _Positives, row_ok: Tensor) -> None:
    """Turn the softmax ``p`` into ``dl_i/dz_ik = p_ik - q_ik`` in place (zero for dropped rows)."""
    if pos.index is not None:
        rows = torch.nonzero(row_ok).squeeze(1)
        p[rows, pos.index[rows]] -= 1.0
    elif pos.q is not None:
        p.sub_(pos.q)  # (class-sum positives add their -q part after the loop)
    if not bool(row_ok.all()):
        p.mul_(row_ok[:, None].to(p.dtype))


class _Grads:
    """Accumulated gradients w.r.t. the scaled anchors, the candidates and the extra negatives."""

    def __init__(self, grad_as, grad_c, grad_e):
        self.grad_as, self.grad_c, self.grad_e = grad_as, grad_c, grad_e
        self.grad_a = self.grad_s = None

    @classmethod
    def zeros(cls, anchors, candidates, extra, acc):
        def zeros(t):
            return None if t is None else torch.zeros(t.shape, dtype=acc, device=t.device)

        return cls(zeros(anchors), zeros(candidates), zeros(extra))

    def add_chunk(self, g, a_mm, a_s_all, c_mm, e_mm, r0, r1, per_anchor_negatives):
        """``g`` ``(r, M + K)`` = dL/dz of rows ``r0:r1``; ``z = a_s @ [c; e].T``."""
        m = c_mm.shape[0]
        a_s = a_s_all[r0:r1]
        g = g.to(a_mm.dtype)
        g_c = g[:, :m]
        if self.grad_as.dtype == g.dtype:  # accumulate in place, no temporaries
            self.grad_as[r0:r1].addmm_(g_c, c_mm)
            self.grad_c.addmm_(g_c.T, a_s)
        else:
            self.grad_as[r0:r1] += (g_c @ c_mm).to(self.grad_as.dtype)
            self.grad_c += (g_c.T @ a_s).to(self.grad_c.dtype)
        if e_mm is not None:
            g_e = g[:, m:]
            if per_anchor_negatives:
                self.grad_as[r0:r1] += torch.einsum("rk,rkd->rd", g_e, e_mm[r0:r1]).to(self.grad_as.dtype)
                self.grad_e[r0:r1] += torch.einsum("rk,rd->rkd", g_e, a_s).to(self.grad_e.dtype)
            else:
                self.grad_as[r0:r1] += (g_e @ e_mm).to(self.grad_as.dtype)
                self.grad_e += (g_e.T @ a_s).to(self.grad_e.dtype)

    def scale_(self, factor: float) -> None:
        for t in (self.grad_as, self.grad_c, self.grad_e):
            if t is not None:
                t.mul_(factor)

    def finish(self, a_mm, scale, scale_needs_grad: bool):
        """Chain rule through ``a_s = a * scale``: ``da = scale * da_s``, ``dscale = <da_s, a>``
        (the latter only when the temperature requires a gradient)."""
        if scale_needs_grad:
            self.grad_s = (self.grad_as * a_mm.to(self.grad_as.dtype)).sum(1)
        else:
            self.grad_s = self.grad_as.new_zeros(0)
        self.grad_a = self.grad_as * scale[:, None].to(self.grad_as.dtype)

    def tensors(self):
        e = self.grad_e if self.grad_e is not None else self.grad_a.new_zeros(0)
        return self.grad_a, self.grad_c, self.grad_s, e


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


def _symmetric(spec, a_s, c_mm, need_grad, grads, per_row, kept):
    """Both directions of a symmetric loss (CLIP): ``L = 1/2 (mean_i l_i^row + mean_j l_j^col)``.

    ``dL/dz = 1/2 (P^row - Q^row) / n_r + 1/2 (P^col - Q^col) / n_c`` with row- and
    column-normalized softmaxes and positive weights. Pass 1 computes each chunk's logits once
    for the row log-sum-exp, the online column log-sum-exp and the positives' sums; pass 2
    recomputes the logits for the gradient (two logit products and two gradient products per
    chunk). With one chunk the logits and their exponentials of pass 1 are reused.
    """
    n, m = a_s.shape[0], c_mm.shape[0]
    acc, dev = spec.acc_dtype, a_s.device
    chunks = [(r0, min(r0 + spec.chunk_size, n)) for r0 in range(0, n, spec.chunk_size)]
    single = len(chunks) == 1
    row_lse = torch.empty(n, dtype=acc, device=dev)
    col_lse = torch.full((m,), float("-inf"), dtype=acc, device=dev)
    row_w, row_num = torch.zeros(n, dtype=acc, device=dev), torch.zeros(n, dtype=acc, device=dev)
    col_w, col_num = torch.zeros(m, dtype=acc, device=dev), torch.zeros(m, dtype=acc, device=dev)

    def logits(r0, r1):
        z = (a_s[r0:r1] @ c_mm.T).to(acc)
        self_pairs = _self_columns(spec, r0, r1)
        if self_pairs is not None:
            z[self_pairs] = float("-inf")
        return z

    def positives(r0, r1):
        """``(rows, cols)`` of one-hot positives, or dense weights ``(r, M)``."""
        if spec.positive_index is None:
            return None, _dense_weights(spec, r0, r1, m, dev)
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

    row_ok = (row_w > 0) & torch.isfinite(row_lse)
    col_ok = (col_w > 0) & torch.isfinite(col_lse)
    row_loss = torch.where(row_ok, row_lse - row_num / row_w.clamp_min(1e-30), torch.zeros_like(row_lse))
    col_loss = torch.where(col_ok, col_lse - col_num / col_w.clamp_min(1e-30), torch.zeros_like(col_lse))
    per_row.copy_(row_loss)
    kept.copy_(row_ok)
    n_r, n_c = int(row_ok.sum()), int(col_ok.sum())
    d_r = max(n_r, 1) if spec.reduction == "mean" else 1
    d_c = max(n_c, 1) if spec.reduction == "mean" else 1
    loss = 0.5 * (row_loss.sum() / d_r + col_loss.sum() / d_c)
    if need_grad:
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
            grads.add_chunk(g, a_s, a_s, c_mm, None, r0, r1, False)
    return loss, (n - n_r) + (m - n_c)


def contrastive_cross_entropy(
    anchors: Tensor,
    candidates: Tensor,
    *,
    positive_index: Tensor | None = None,
    anchor_labels: Tensor | None = None,
    candidate_labels: Tensor | None = None,
    weights: Tensor | None = None,
    temperature: float | Tensor = 0.1,
    self_index: Tensor | None = None,
    extra_negatives: Tensor | None = None,
    positive_in_denominator: bool = True,
    symmetric: bool = False,
    chunk_size: int | None = None,
    reduction: str = "mean",
) -> KernelOutput:
    """Weighted log-softmax cross-entropy of anchors against candidates (see module docstring).

    Args:
        anchors: ``(N, D)``; used as given (callers normalize).
        candidates: ``(M, D)``.
        positive_index: ``(N,)`` long, candidate index of each anchor's positive, ``-1`` = none.
        anchor_labels, candidate_labels: ``(N,)`` and ``(M,)`` integer labels; equal labels
            are positives.
        weights: ``(N, M)`` non-negative soft positive weights (treated as constants).
        temperature: scalar or ``(N,)`` per-anchor temperature ``t_i`` (a tensor may require
            grad; CLIP passes ``1 / logit_scale``).
        self_index: ``(N,)`` long, candidate index that is anchor i itself (excluded from
            numerator and denominator), ``-1`` = none.
        extra_negatives: ``(K, D)`` negatives shared by all anchors (a queue) or ``(N, K, D)``
            per-anchor hard negatives.
        positive_in_denominator: False removes the positives from the log-sum-exp (DCL).
        symmetric: also the candidates→anchors direction, returning the mean of both
            (needs ``N == M`` semantics only through the weights; no extra negatives).
        chunk_size: rows per chunk (default: all rows at once).
        reduction: ``"mean"`` over kept anchors, or ``"sum"``.

    Returns:
        :class:`KernelOutput` ``(loss, per_anchor, num_dropped)``.
    """
    n_forms = sum(x is not None for x in (positive_index, anchor_labels, weights))
    _check_inputs(anchors, candidates, n_forms)
    n, m = anchors.shape[0], candidates.shape[0]
    dev = anchors.device
    if anchor_labels is not None and (
        candidate_labels is None or anchor_labels.shape != (n,) or candidate_labels.shape != (m,)
    ):
        raise ValueError("anchor_labels must be (N,) and candidate_labels (M,)")
    if positive_index is not None:
        if positive_index.shape != (n,):
            raise ValueError(f"positive_index must have shape (N,)=({n},); got {tuple(positive_index.shape)}")
        if positive_index.numel() and int(positive_index.max()) >= m:
            raise ValueError(f"positive_index has an entry >= M={m}")
        positive_index = positive_index.to(device=dev, dtype=torch.long)
    if weights is not None:
        if weights.shape != (n, m):
            raise ValueError(f"weights must have shape (N, M)=({n}, {m}); got {tuple(weights.shape)}")
        if (weights < 0).any() or not torch.isfinite(weights).all():
            raise ValueError("weights must be finite and non-negative")
        weights = weights.detach()
    if self_index is not None:
        if self_index.shape != (n,):
            raise ValueError(f"self_index must have shape (N,)=({n},)")
        self_index = self_index.to(device=dev, dtype=torch.long)
    per_anchor_hn = extra_negatives is not None and extra_negatives.dim() == 3
    if extra_negatives is not None:
        if symmetric:
            raise ValueError("extra_negatives are not supported with symmetric=True")
        ok = extra_negatives.shape[-1] == anchors.shape[1] and (
            extra_negatives.dim() == 2 or (per_anchor_hn and extra_negatives.shape[0] == n)
        )
        if not ok:
            raise ValueError("extra_negatives must be (K, D) or (N, K, D)")
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum'; got {reduction!r}")
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1; got {chunk_size}")
    acc = torch.float64 if torch.float64 in (anchors.dtype, candidates.dtype) else torch.float32
    scale = _row_scale(temperature, n, dev).to(acc)
    if symmetric and not positive_in_denominator:
        raise ValueError("symmetric=True needs positive_in_denominator=True")
    if symmetric and scale.stride(0) != 0 and not torch.all(scale == scale[0]):
        raise ValueError("symmetric=True needs one scalar temperature")
    spec = _Spec(
        positive_index, anchor_labels, candidate_labels, weights, self_index,
        positive_in_denominator, symmetric, chunk_size or n, reduction, per_anchor_hn, acc,
    )
    # The autograd Function needs a differentiable tensor for the scale; a broadcast view of a
    # scalar temperature is fine (its gradient is summed back by autograd).
    loss, per_row, dropped = _ContrastiveCE.apply(anchors, candidates, extra_negatives, scale, spec)
    return KernelOutput(loss, per_row, int(dropped))
