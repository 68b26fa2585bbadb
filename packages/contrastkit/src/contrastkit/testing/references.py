"""Slow, explicit-loop float64 references for every ContrastKit loss.

Each reference is written from the paper's formula with Python loops over anchors and
candidates, in float64, and never calls :mod:`contrastkit.functional` (in particular never the
kernel), so that a test comparing the two can fail. They are differentiable (plain autograd),
so gradients can be compared too. Use them only on tiny inputs (N, M up to a few dozen).

All inputs are used as given: the references do not normalize, callers pass what the fast
function sees after its own ``normalize=True`` step (use :func:`l2n`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import Tensor


class RefOutput(NamedTuple):
    """Loss, per-anchor losses ``(N,)`` (0 where dropped) and number of dropped anchors."""

    loss: Tensor
    per_anchor: Tensor
    num_dropped: int


def l2n(x: Tensor) -> Tensor:
    """Row-wise L2 normalization written out (``x / max(||x||, 1e-12)``), float64."""
    x = x.double()
    norms = x.pow(2).sum(-1, keepdim=True).sqrt()
    return x / norms.clamp_min(1e-12)


def _dot(u: Tensor, v: Tensor) -> Tensor:
    return (u.double() * v.double()).sum()


def _lse(values: Sequence[Tensor]) -> Tensor:
    """log(sum(exp(v))) of a list of scalars, stabilized by the max."""
    vals = torch.stack(list(values))
    mx = vals.max().detach()
    return mx + torch.log(torch.exp(vals - mx).sum())


def _temperature(temperature: float | Tensor, i: int) -> Tensor:
    t = torch.as_tensor(temperature, dtype=torch.float64)
    return t if t.dim() == 0 else t[i]


def ref_weighted_ce(
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
    reduction: str = "mean",
) -> RefOutput:
    """Loop reference of the generic weighted log-softmax cross-entropy (all kernel options).

    ``l_i = sum_j q_ij [log sum_{k in V(i)} exp(s_ik / t_i) - s_ij / t_i]`` with
    ``q_ij = w_ij / sum_j w_ij``; ``V(i)`` = candidates and extra negatives, minus the self pair,
    minus the positives when ``positive_in_denominator`` is False. Anchors with no positive are
    dropped. ``symmetric`` averages with the candidates→anchors direction (weights transposed).
    """
    n, m = anchors.shape[0], candidates.shape[0]

    def w_of(i: int, j: int) -> float:
        if self_index is not None and int(self_index[i]) == j:
            return 0.0
        if positive_index is not None:
            return 1.0 if int(positive_index[i]) == j else 0.0
        if anchor_labels is not None:
            return 1.0 if int(anchor_labels[i]) == int(candidate_labels[j]) else 0.0
        return float(weights[i, j])

    def excluded(i: int, j: int) -> bool:
        return self_index is not None and int(self_index[i]) == j

    def extras(i: int) -> list[Tensor]:
        if extra_negatives is None:
            return []
        rows = extra_negatives[i] if extra_negatives.dim() == 3 else extra_negatives
        return [rows[k] for k in range(rows.shape[0])]

    per_anchor, kept = [], 0
    for i in range(n):
        t = _temperature(temperature, i)
        w = [w_of(i, j) for j in range(m)]
        total = sum(w)
        if total <= 0:
            per_anchor.append(torch.zeros((), dtype=torch.float64))
            continue
        logits = []
        for j in range(m):
            if excluded(i, j) or (not positive_in_denominator and w[j] > 0):
                continue
            logits.append(_dot(anchors[i], candidates[j]) / t)
        logits += [_dot(anchors[i], e) / t for e in extras(i)]
        if not logits:
            per_anchor.append(torch.zeros((), dtype=torch.float64))
            continue
        lse = _lse(logits)
        li = sum((w[j] / total) * (lse - _dot(anchors[i], candidates[j]) / t) for j in range(m) if w[j] > 0)
        per_anchor.append(li)
        kept += 1
    per = torch.stack(per_anchor)
    loss = per.sum() / (max(kept, 1) if reduction == "mean" else 1)
    dropped = n - kept
    if not symmetric:
        return RefOutput(loss, per.detach(), dropped)

    col_losses, col_kept = [], 0
    t = _temperature(temperature, 0)
    for j in range(m):
        w = [w_of(i, j) for i in range(n)]
        total = sum(w)
        if total <= 0:
            continue
        logits = [_dot(anchors[i], candidates[j]) / t for i in range(n) if not excluded(i, j)]
        lse = _lse(logits)
        col_losses.append(
            sum((w[i] / total) * (lse - _dot(anchors[i], candidates[j]) / t) for i in range(n) if w[i] > 0)
        )
        col_kept += 1
    col = torch.stack(col_losses).sum() / (max(col_kept, 1) if reduction == "mean" else 1)
    return RefOutput(0.5 * (loss + col), per.detach(), dropped + m - col_kept)


def _softmax_ce_row(logits: list[Tensor], target: int) -> Tensor:
    """``-log softmax(logits)[target]``."""
    return _lse(logits) - logits[target]


def ref_info_nce(anchors: Tensor, candidates: Tensor, temperature: float = 0.1,
                 extra_negatives: Tensor | None = None) -> Tensor:
    """InfoNCE (van den Oord et al. 2018): ``-log e^{s_ii/t} / (sum_k e^{s_ik/t} + sum_q e^{<a_i,n_q>/t})``."""
    n = anchors.shape[0]
    losses = []
    for i in range(n):
        logits = [_dot(anchors[i], candidates[k]) / temperature for k in range(n)]
        if extra_negatives is not None:
            rows = extra_negatives[i] if extra_negatives.dim() == 3 else extra_negatives
            logits += [_dot(anchors[i], rows[q]) / temperature for q in range(rows.shape[0])]
        losses.append(_softmax_ce_row(logits, i))
    return torch.stack(losses).mean()


def _two_view_terms(z1: Tensor, z2: Tensor, temperature: float, decoupled: bool) -> list[Tensor]:
    """Per-view NT-Xent / DCL losses over the 2N views ``[z1; z2]``."""
    n = z1.shape[0]
    views = [z1[i] for i in range(n)] + [z2[i] for i in range(n)]
    out = []
    for k in range(2 * n):
        p = (k + n) % (2 * n)
        pos = _dot(views[k], views[p]) / temperature
        denom = [_dot(views[k], views[j]) / temperature for j in range(2 * n) if j != k and (j != p or not decoupled)]
        out.append(_lse(denom) - pos)
    return out


def ref_nt_xent(z1: Tensor, z2: Tensor, temperature: float = 0.5) -> Tensor:
    """NT-Xent (Chen et al. 2020) over 2N views: ``-log e^{s_kp/t} / sum_{j != k} e^{s_kj/t}``, mean."""
    return torch.stack(_two_view_terms(z1, z2, temperature, decoupled=False)).mean()


def ref_dcl(z1: Tensor, z2: Tensor, temperature: float = 0.1) -> Tensor:
    """DCL (Yeh et al. 2022): NT-Xent with the positive removed from the denominator, mean over 2N."""
    return torch.stack(_two_view_terms(z1, z2, temperature, decoupled=True)).mean()


def ref_dclw(z1: Tensor, z2: Tensor, temperature: float = 0.1, sigma: float = 0.5) -> Tensor:
    """DCLW: DCL whose positive term is weighted by ``w_i = 2 - N e^{s_ii/sigma} / sum_k e^{s_kk/sigma}``."""
    n = z1.shape[0]
    pos = [_dot(z1[i], z2[i]) for i in range(n)]
    lse_pos = _lse([p / sigma for p in pos])
    w = [2.0 - n * torch.exp(p / sigma - lse_pos) for p in pos]
    views = [z1[i] for i in range(n)] + [z2[i] for i in range(n)]
    losses = []
    for k in range(2 * n):
        i, p = k % n, (k + n) % (2 * n)
        neg = [_dot(views[k], views[j]) / temperature for j in range(2 * n) if j not in (k, p)]
        losses.append(_lse(neg) - w[i] * pos[i] / temperature)
    return torch.stack(losses).mean()


def ref_supcon(features: Tensor, labels: Tensor, temperature: float = 0.1) -> RefOutput:
    """SupCon L_out (Khosla et al. 2020, eq. 2), anchors without positives dropped."""
    n = features.shape[0]
    losses, kept = [], 0
    per = []
    for i in range(n):
        positives = [p for p in range(n) if p != i and int(labels[p]) == int(labels[i])]
        if not positives:
            per.append(torch.zeros((), dtype=torch.float64))
            continue
        lse = _lse([_dot(features[i], features[a]) / temperature for a in range(n) if a != i])
        li = sum(lse - _dot(features[i], features[p]) / temperature for p in positives) / len(positives)
        losses.append(li)
        per.append(li)
        kept += 1
    loss = torch.stack(losses).mean() if losses else torch.zeros((), dtype=torch.float64)
    return RefOutput(loss, torch.stack(per).detach(), n - kept)


def ref_clip(a: Tensor, b: Tensor, logit_scale: float | Tensor) -> Tensor:
    """CLIP (Radford et al. 2021): mean of the a→b and b→a cross-entropies of ``scale <a_i, b_j>``."""
    n = a.shape[0]
    a2b = [_softmax_ce_row([logit_scale * _dot(a[i], b[j]) for j in range(n)], i) for i in range(n)]
    b2a = [_softmax_ce_row([logit_scale * _dot(b[i], a[j]) for j in range(n)], i) for i in range(n)]
    return 0.5 * (torch.stack(a2b).mean() + torch.stack(b2a).mean())


def _log_sigmoid(x: Tensor) -> Tensor:
    """``log(1 / (1 + e^{-x}))`` written stably: ``min(x, 0) - log(1 + e^{-|x|})``."""
    return torch.clamp(x, max=0.0) - torch.log1p(torch.exp(-x.abs()))


def ref_siglip(a: Tensor, b: Tensor, logit_scale: float | Tensor, logit_bias: float | Tensor) -> Tensor:
    """SigLIP (Zhai et al. 2023): ``-1/N sum_i sum_j log sigmoid(z_ij (scale <a_i, b_j> + bias))``."""
    n = a.shape[0]
    total = torch.zeros((), dtype=torch.float64)
    for i in range(n):
        for j in range(n):
            z = 1.0 if i == j else -1.0
            total = total - _log_sigmoid(z * (logit_scale * _dot(a[i], b[j]) + logit_bias))
    return total / n


def ref_cwcl(a: Tensor, b: Tensor, weights: Tensor, temperature: float = 0.1, symmetric: bool = True) -> Tensor:
    """CWCL (Srinivasa et al. 2023): ``-1/N sum_i 1/sum_j w_ij sum_j w_ij log softmax_j(<a_i,b_j>/t)``.

    ``symmetric`` averages with the b→a direction, whose weights are ``w_ji``.
    """
    n = a.shape[0]

    def direction(x: Tensor, y: Tensor, w: Tensor) -> Tensor:
        losses = []
        for i in range(n):
            total = float(sum(float(w[i, j]) for j in range(n)))
            if total <= 0:
                continue
            logits = [_dot(x[i], y[j]) / temperature for j in range(n)]
            lse = _lse(logits)
            losses.append(sum(float(w[i, j]) / total * (lse - logits[j]) for j in range(n)))
        return torch.stack(losses).mean()

    a2b = direction(a, b, weights)
    if not symmetric:
        return a2b
    return 0.5 * (a2b + direction(b, a, weights.T))


def ref_symile(a: Tensor, b: Tensor, c: Tensor, logit_scale: float | Tensor,
               negatives: str = "n", shuffles: Tensor | None = None) -> Tensor:
    """Symile (Saporta et al. 2024), mean over the three anchor modalities.

    ``MIP(x, y, z) = sum_d x_d y_d z_d``. ``negatives="n_squared"``: anchor ``x_i`` against every
    ``(y_j, z_k)``, positive ``(i, i)``. ``negatives="n"``: anchor ``x_i`` against
    ``(y_i, z_i)`` and ``(y_{s1(j)}, z_{s2(j)})`` for ``j != i``, with ``shuffles[d] = (s1, s2)``
    the two permutations of direction ``d`` (anchors a, b, c in that order).
    """
    n = a.shape[0]
    reps = [a, b, c]

    def mip(x: Tensor, y: Tensor, z: Tensor) -> Tensor:
        return (x.double() * y.double() * z.double()).sum()

    losses = []
    for d in range(3):
        x = reps[d]
        y, z = (reps[j] for j in range(3) if j != d)  # the other two, in (a, b, c) order
        for i in range(n):
            if negatives == "n_squared":
                logits = [logit_scale * mip(x[i], y[j], z[k]) for j in range(n) for k in range(n)]
                target = i * n + i
            else:
                s1, s2 = shuffles[d]
                logits = [
                    logit_scale * (mip(x[i], y[i], z[i]) if j == i else mip(x[i], y[int(s1[j])], z[int(s2[j])]))
                    for j in range(n)
                ]
                target = i
            losses.append((d, _softmax_ce_row(logits, target)))
    per_dir = [torch.stack([v for d2, v in losses if d2 == d]).mean() for d in range(3)]
    return sum(per_dir) / 3.0


def ref_sinkhorn(scores: Tensor, epsilon: float = 0.05, n_iters: int = 3) -> Tensor:
    """Sinkhorn–Knopp codes ``(B, K)`` written with loops (Caron et al. 2020).

    ``Q = exp(scores / eps)^T`` normalized to sum 1, then ``n_iters`` times: rows (prototypes)
    to sum ``1/K``, columns (samples) to sum ``1/B``; finally scaled so each sample sums to 1.
    """
    bsz, k = scores.shape
    s = scores.double().detach()
    mx = float(s.max())
    q = [[math.exp((float(s[b, p]) - mx) / epsilon) for b in range(bsz)] for p in range(k)]
    total = sum(sum(row) for row in q)
    q = [[v / total for v in row] for row in q]
    for _ in range(n_iters):
        for p in range(k):
            rs = sum(q[p])
            q[p] = [v / rs / k for v in q[p]]
        for b in range(bsz):
            cs = sum(q[p][b] for p in range(k))
            for p in range(k):
                q[p][b] = q[p][b] / cs / bsz
    return torch.tensor([[q[p][b] * bsz for p in range(k)] for b in range(bsz)], dtype=torch.float64)


def ref_swav(scores_1: Tensor, scores_2: Tensor, temperature: float = 0.1,
             epsilon: float = 0.05, n_iters: int = 3) -> Tensor:
    """SwAV swapped prediction: ``-1/2 mean_b [sum_k q1_bk log p2_bk + sum_k q2_bk log p1_bk]``."""
    q1, q2 = ref_sinkhorn(scores_1, epsilon, n_iters), ref_sinkhorn(scores_2, epsilon, n_iters)
    bsz, k = scores_1.shape
    total = torch.zeros((), dtype=torch.float64)
    for b in range(bsz):
        lse1 = _lse([scores_1[b, p].double() / temperature for p in range(k)])
        lse2 = _lse([scores_2[b, p].double() / temperature for p in range(k)])
        for p in range(k):
            total = total - q1[b, p] * (scores_2[b, p].double() / temperature - lse2)
            total = total - q2[b, p] * (scores_1[b, p].double() / temperature - lse1)
    return total / (2 * bsz)


def ref_align(x: Tensor, y: Tensor, alpha: float = 2.0) -> Tensor:
    """Alignment (Wang & Isola 2020): ``mean_i ||x_i - y_i||_2^alpha``."""
    n = x.shape[0]
    vals = []
    for i in range(n):
        d2 = sum((x[i, k].double() - y[i, k].double()) ** 2 for k in range(x.shape[1]))
        vals.append(d2 ** (alpha / 2))
    return torch.stack(vals).mean()


def ref_uniform(x: Tensor, t: float = 2.0) -> Tensor:
    """Uniformity (Wang & Isola 2020): ``log mean_{i<j} exp(-t ||x_i - x_j||_2^2)``."""
    n = x.shape[0]
    terms = []
    for i in range(n):
        for j in range(i + 1, n):
            d2 = sum((x[i, k].double() - x[j, k].double()) ** 2 for k in range(x.shape[1]))
            terms.append(-t * d2)
    return _lse(terms) - math.log(len(terms))
