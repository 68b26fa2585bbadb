"""Full-ranking metrics with one relevant item per user: HR@k and NDCG@k.

The leave-one-out protocol of sequential recommendation (SASRec, Kang & McAuley 2018; MCLRec,
Qin et al. SIGIR 2023): user ``u`` scores all ``I`` items, its held-out target ``t_u`` gets the
1-based rank

    r_u = 1 + #{ j != t_u : s_uj > s_ut }            (ties="optimistic")
    r_u = 1 + #{ j != t_u : s_uj >= s_ut }           (ties="pessimistic", the default)

and, with a single relevant item (so IDCG = 1),

    HR@k   = 1/N sum_u [r_u <= k]
    NDCG@k = 1/N sum_u [r_u <= k] / log2(r_u + 1)

Ranks are counted over rows in batches (``O(batch * I)`` memory), which equals reading the
target's position off ``torch.topk`` when scores are distinct, is deterministic when they tie
(pessimistic ties keep a constant scorer from scoring HR@k = 1), and needs no sort. Items a user
must not be ranked against (its history) should be set to ``-inf`` in ``scores`` beforehand.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor

from contrastkit.eval._inputs import as_tensor, check_ks, check_rows


def ranks_of_best_positive(scores: Tensor, positive: Tensor, ties: str = "pessimistic") -> Tensor:
    """1-based rank of each row's highest-scoring positive among that row's non-positives.

    Args:
        scores: ``(B, I)`` scores (``-inf`` allowed for excluded items).
        positive: ``(B, I)`` bool, at least one True per row.
        ties: ``"pessimistic"`` counts tied non-positives ahead of the positive, ``"optimistic"``
            behind it.
    """
    if ties not in ("pessimistic", "optimistic"):
        raise ValueError(f"ties must be 'pessimistic' or 'optimistic'; got {ties!r}")
    best = scores.masked_fill(~positive, float("-inf")).amax(1, keepdim=True)
    ahead = scores >= best if ties == "pessimistic" else scores > best
    return 1 + (ahead & ~positive).sum(1)


def target_ranks(scores: Any, targets: Any, *, ties: str = "pessimistic", batch_size: int = 1024) -> Tensor:
    """1-based rank ``r_u`` of each user's target item (see the module docstring).

    Args:
        scores: ``(N, I)`` item scores per user (``-inf`` for excluded items; no NaN).
        targets: ``(N,)`` target item index per user.
        batch_size: users per batch.

    Returns:
        ``(N,)`` long ranks in ``[1, I]``.
    """
    s = torch.as_tensor(scores.detach() if isinstance(scores, Tensor) else scores)
    if s.dim() != 2 or s.numel() == 0:
        raise ValueError(f"scores must be a non-empty (N, I) matrix; got shape {tuple(s.shape)}")
    if torch.isnan(s).any():
        raise ValueError("scores contains NaN values")
    t = as_tensor("targets", targets, 1, integer=True).to(s.device)
    check_rows("scores", s, "targets", t)
    if t.min() < 0 or t.max() >= s.shape[1]:
        raise ValueError(f"targets must index items in [0, {s.shape[1]}); got [{int(t.min())}, {int(t.max())}]")
    if not torch.isfinite(s.gather(1, t[:, None])).all():
        raise ValueError("scores of the target items must be finite (a target was excluded with -inf?)")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}")
    out = []
    for r0 in range(0, s.shape[0], batch_size):
        rows = s[r0:r0 + batch_size]
        positive = torch.zeros(rows.shape, dtype=torch.bool, device=s.device)
        positive[torch.arange(rows.shape[0], device=s.device), t[r0:r0 + batch_size]] = True
        out.append(ranks_of_best_positive(rows, positive, ties))
    return torch.cat(out).cpu()


def _ranks(ranks: Any) -> Tensor:
    r = as_tensor("ranks", ranks, 1, integer=True)
    if r.min() < 1:
        raise ValueError(f"ranks are 1-based and must be >= 1; got a minimum of {int(r.min())}")
    return r


def hit_rate_from_ranks(ranks: Any, ks: int | Iterable[int] = (5, 10, 20)) -> dict[int, float]:
    """``HR@k = mean [r <= k]`` for each ``k``, from 1-based ranks ``(N,)``."""
    r = _ranks(ranks)
    return {k: float((r <= k).double().mean()) for k in check_ks(ks)}


def ndcg_from_ranks(ranks: Any, ks: int | Iterable[int] = (5, 10, 20)) -> dict[int, float]:
    """``NDCG@k = mean [r <= k] / log2(r + 1)`` for each ``k``, from 1-based ranks ``(N,)``."""
    r = _ranks(ranks).double()
    gain = 1.0 / torch.log2(r + 1.0)
    return {k: float(torch.where(r <= k, gain, torch.zeros_like(gain)).mean()) for k in check_ks(ks)}


def hit_rate_at_k(scores: Any, targets: Any, ks: int | Iterable[int] = (5, 10, 20), *,
                  ties: str = "pessimistic", batch_size: int = 1024) -> dict[int, float]:
    """HR@k of full-ranking scores ``(N, I)`` against one target per user ``(N,)``."""
    return hit_rate_from_ranks(target_ranks(scores, targets, ties=ties, batch_size=batch_size), ks)


def ndcg_at_k(scores: Any, targets: Any, ks: int | Iterable[int] = (5, 10, 20), *,
              ties: str = "pessimistic", batch_size: int = 1024) -> dict[int, float]:
    """NDCG@k of full-ranking scores ``(N, I)`` against one target per user ``(N,)``."""
    return ndcg_from_ranks(target_ranks(scores, targets, ties=ties, batch_size=batch_size), ks)


__all__ = [
    "hit_rate_at_k", "hit_rate_from_ranks", "ndcg_at_k", "ndcg_from_ranks", "ranks_of_best_positive",
    "target_ranks",
]
