"""Cross-modal / instance retrieval recall@k (as reported for CLIP, CLAP and CompA).

For query ``q`` with positive set ``P(q)`` among ``G`` gallery items and similarity
``s_qj = <q, g_j>`` (cosine when ``normalize``), the rank of its best positive is

    r_q = 1 + #{ j not in P(q) : s_qj >= max_{p in P(q)} s_qp }

and ``R@k = 1/Q sum_q [r_q <= k]``: the fraction of queries with a positive among the top k
(torchmetrics' ``retrieval_hit_rate``; equal to ``retrieval_recall`` when there is one
positive). Tied negatives count ahead of the positive (pessimistic), so a constant encoder
never scores well. Queries are processed in batches of ``batch_size`` rows: memory is
``O(batch_size * G)``, whereas torchmetrics' retrieval metrics take the flattened ``(Q * G)``
scores and loop over queries in Python, which is why the count is done here on tensors.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from contrastkit.eval._inputs import as_tensor, check_ks
from contrastkit.eval.ranking import ranks_of_best_positive


def _positive_rows(positives: Tensor, q: int, g: int) -> Tensor:
    if positives.dtype == torch.bool:
        if positives.shape != (q, g):
            raise ValueError(f"positives as a mask must be (Q, G)=({q}, {g}); got {tuple(positives.shape)}")
        empty = torch.nonzero(~positives.any(1)).flatten()
        if empty.numel():
            raise ValueError(f"positives: query {int(empty[0])} (and {empty.numel() - 1} more) has no positive")
        return positives
    if positives.is_floating_point() or positives.shape != (q,):
        raise ValueError(f"positives must be (Q,)=({q},) gallery indices or a (Q, G) bool mask; "
                         f"got {tuple(positives.shape)} {positives.dtype}")
    if positives.min() < 0 or positives.max() >= g:
        raise ValueError(f"positives must index the gallery [0, {g}); got [{int(positives.min())}, {int(positives.max())}]")
    return positives.long()


def retrieval_recall_at_k(
    query_emb: Any,
    gallery_emb: Any,
    positives: Any,
    ks: int | Iterable[int] = (1, 5, 10),
    *,
    normalize: bool = True,
    batch_size: int = 1024,
) -> dict[int, float]:
    """Recall@k of retrieving the gallery's positives for each query (see module docstring).

    Args:
        query_emb: ``(Q, D)`` query embeddings (e.g. text).
        gallery_emb: ``(G, D)`` gallery embeddings (e.g. audio).
        positives: ``(Q,)`` long index of each query's one positive, or ``(Q, G)`` bool mask.
        ks: cut-offs.
        normalize: L2-normalize both sides first (cosine similarity).
        batch_size: queries per batch.

    Returns:
        ``{k: R@k}``.
    """
    q = as_tensor("query_emb", query_emb, 2)
    g = as_tensor("gallery_emb", gallery_emb, 2)
    if q.shape[1] != g.shape[1]:
        raise ValueError(f"query_emb (Q, D={q.shape[1]}) and gallery_emb (G, D={g.shape[1]}) differ in D")
    pos = positives.detach().cpu() if isinstance(positives, Tensor) else torch.as_tensor(positives)
    pos = _positive_rows(pos, q.shape[0], g.shape[0])
    ks = check_ks(ks)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}")
    if normalize:
        q, g = F.normalize(q, dim=1), F.normalize(g, dim=1)
    dtype = torch.promote_types(q.dtype, g.dtype)
    q, g = q.to(dtype), g.to(dtype)
    ranks = []
    for r0 in range(0, q.shape[0], batch_size):
        s = q[r0:r0 + batch_size] @ g.T
        if pos.dtype == torch.bool:
            mask = pos[r0:r0 + batch_size]
        else:
            mask = torch.zeros(s.shape, dtype=torch.bool)
            mask[torch.arange(s.shape[0]), pos[r0:r0 + batch_size]] = True
        ranks.append(ranks_of_best_positive(s, mask))
    r = torch.cat(ranks)
    return {k: float((r <= k).double().mean()) for k in ks}
