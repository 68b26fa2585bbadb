"""SwAV: online clustering with Sinkhorn–Knopp codes and swapped prediction (Caron et al., NeurIPS 2020)."""

from __future__ import annotations

import torch
from torch import Tensor

from contrastkit.distributed import world
from contrastkit.functional._common import check_finite, check_positive


@torch.no_grad()
def sinkhorn_knopp(scores: Tensor, epsilon: float = 0.05, n_iters: int = 3, *, distributed: bool = False) -> Tensor:
    """Soft codes ``Q`` ``(B, K)`` that spread the batch equally over the K prototypes.

    ``Q = Diag(u) exp(C^T Z / eps) Diag(v)`` found by ``n_iters`` alternating normalizations of
    ``exp(scores / eps)`` (transposed to ``(K, B)``): every prototype row to total ``1/K``,
    every sample column to total ``1/B``; returned scaled by ``B`` so each sample's code sums to
    1 (Caron et al., "Unsupervised Learning of Visual Features by Contrasting Cluster
    Assignments", NeurIPS 2020, Sec. 3.1; eps = 0.05, 3 iterations). No gradient.
    The exponent is shifted by its maximum first (the normalizations cancel the shift).

    Args:
        scores: ``(B, K)`` similarities of the B samples to the K prototypes.
        epsilon: entropy regularization (> 0). n_iters: normalization rounds (>= 1).
        distributed: the row sums run over all ranks' samples (all-reduce), B = global batch.

    Example:
        >>> q = sinkhorn_knopp(torch.randn(16, 4))
        >>> torch.allclose(q.sum(1), torch.ones(16))
        True
    """
    if scores.dim() != 2 or scores.numel() == 0:
        raise ValueError(f"scores must be a non-empty (B, K) tensor; got shape {tuple(scores.shape)}")
    check_finite("scores", scores)
    check_positive("epsilon", epsilon)
    if n_iters < 1:
        raise ValueError(f"n_iters must be >= 1; got {n_iters}")
    dist_on = distributed and world()[1] > 1

    def all_sum(x: Tensor) -> Tensor:
        if dist_on:
            torch.distributed.all_reduce(x)
        return x

    s = scores.float() if scores.dtype in (torch.float16, torch.bfloat16) else scores
    shift = all_sum_max(s.max(), dist_on)
    q = torch.exp((s - shift) / epsilon).T  # (K, B)
    b_total = q.shape[1] * (world()[1] if dist_on else 1)
    k = q.shape[0]
    q /= all_sum(q.sum())
    for _ in range(n_iters):
        q /= all_sum(q.sum(dim=1, keepdim=True))
        q /= k
        q /= q.sum(dim=0, keepdim=True)
        q /= b_total
    return (q * b_total).T


def all_sum_max(x: Tensor, enabled: bool) -> Tensor:
    """Maximum of a scalar over ranks when ``enabled``."""
    if enabled:
        x = x.clone()
        torch.distributed.all_reduce(x, op=torch.distributed.ReduceOp.MAX)
    return x


def swav_loss(
    scores_1: Tensor,
    scores_2: Tensor,
    temperature: float = 0.1,
    *,
    epsilon: float = 0.05,
    n_iters: int = 3,
    codes: tuple[Tensor, Tensor] | None = None,
    distributed: bool = False,
) -> Tensor:
    """Swapped prediction: each view predicts the other view's Sinkhorn code.

    ``L = -1/2 mean_b [ sum_k q1_bk log p2_bk + sum_k q2_bk log p1_bk ]`` with
    ``p_v = softmax(scores_v / t)`` and ``q_v = sinkhorn_knopp(scores_v)`` (no gradient)
    (Caron et al., NeurIPS 2020, Sec. 3.1; t = 0.1). The scores are ``z_v C^T`` of the
    normalized features with the normalized prototypes (see ``contrastkit.losses.SwAVLoss``).

    Args:
        scores_1, scores_2: ``(B, K)`` prototype scores of two views of the same B samples.
        temperature: softmax temperature (> 0).
        epsilon, n_iters: Sinkhorn–Knopp settings.
        codes: ``(q1, q2)`` ``(B, K)`` computed beforehand (e.g. by ``sinkhorn_knopp`` over the
            scores stacked with SwAV's queue, keeping the batch's rows); used as constants.
        distributed: codes are computed over the global batch (the loss stays local).

    Example:
        >>> s1, s2 = torch.randn(16, 8), torch.randn(16, 8)
        >>> swav_loss(s1, s2).shape
        torch.Size([])
    """
    if scores_1.dim() != 2 or scores_1.shape != scores_2.shape:
        raise ValueError(f"scores_1 and scores_2 must both be (B, K) with the same shape; "
                         f"got {tuple(scores_1.shape)} and {tuple(scores_2.shape)}")
    check_finite("scores_1", scores_1)
    check_finite("scores_2", scores_2)
    check_positive("temperature", temperature)
    if codes is None:
        q1 = sinkhorn_knopp(scores_1, epsilon, n_iters, distributed=distributed)
        q2 = sinkhorn_knopp(scores_2, epsilon, n_iters, distributed=distributed)
    else:
        q1, q2 = (q.detach() for q in codes)
        if q1.shape != scores_1.shape or q2.shape != scores_2.shape:
            raise ValueError(f"codes must both have the scores' shape {tuple(scores_1.shape)}")
    s1 = scores_1.float() if scores_1.dtype in (torch.float16, torch.bfloat16) else scores_1
    s2 = scores_2.float() if scores_2.dtype in (torch.float16, torch.bfloat16) else scores_2
    log_p1 = torch.log_softmax(s1 / temperature, dim=1)
    log_p2 = torch.log_softmax(s2 / temperature, dim=1)
    return -0.5 * ((q1 * log_p2).sum(1) + (q2 * log_p1).sum(1)).mean()
