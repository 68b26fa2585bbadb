"""MoCHi: hard negative mixing against a MoCo queue (Kalantidis et al., NeurIPS 2020)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from contrastkit.functional._common import (
    as_float64_scalar,
    check_chunk_size,
    check_matrix,
    check_pair,
    maybe_normalize,
)
from contrastkit.functional.kernel import KernelOutput, contrastive_cross_entropy


def hardest_negatives(query: Tensor, queue: Tensor, n_hard: int, chunk_size: int | None = None) -> Tensor:
    """Indices ``(N, n_hard)`` of each query's most similar queue entries, hardest first.

    Computed in row chunks (``(chunk, K)`` similarities at a time); no gradient.
    """
    n = query.shape[0]
    step = chunk_size or n
    out = []
    with torch.no_grad():
        for r0 in range(0, n, step):
            sim = query[r0:r0 + step] @ queue.T
            out.append(sim.topk(n_hard, dim=1).indices)
    return torch.cat(out)


def hard_negative_mixing(
    query: Tensor,
    queue: Tensor,
    n_hard: int,
    s_mix: int,
    s_prime: int,
    *,
    generator: torch.Generator | None = None,
    normalize: bool = True,
    chunk_size: int | None = None,
) -> Tensor:
    """Synthesize MoCHi's hard negatives for every query, ``(N, s_mix + s_prime, D)``, detached.

    The queue is sorted by similarity to the query and its top ``n_hard`` entries
    ``Q~ = {n_1, ..., n_{n_hard}}`` are mixed (Kalantidis et al., "Hard Negative Mixing for
    Contrastive Learning", NeurIPS 2020):

    * ``s_mix`` negatives ``h = normalize(alpha n_i + (1 - alpha) n_j)``, ``n_i, n_j`` drawn
      from ``Q~``, ``alpha ~ U(0, 1)``;
    * ``s_prime`` harder negatives ``h' = normalize(beta q + (1 - beta) n_j)``,
      ``beta ~ U(0, 0.5)`` so the query's own weight stays below one half.

    As in the paper no gradient flows through the synthetic points (they are detached).

    Args:
        query: ``(N, D)``. queue: ``(K, D)`` with ``K >= n_hard``.
        n_hard: size of the hardest subset ``N`` in the paper. s_mix, s_prime: ``s``, ``s'``.
        generator: random source for the pairs and the coefficients (reproducible).
        normalize: L2-normalize query and queue first (the paper's features are normalized).
        chunk_size: query rows per chunk when ranking the queue.

    Example:
        >>> q, queue = torch.randn(4, 8), torch.randn(32, 8)
        >>> hard_negative_mixing(q, queue, n_hard=16, s_mix=8, s_prime=4).shape
        torch.Size([4, 12, 8])
    """
    check_matrix("query", query)
    check_matrix("queue", queue)
    check_chunk_size(chunk_size)
    if query.shape[1] != queue.shape[1]:
        raise ValueError(f"query (N, D={query.shape[1]}) and queue (K, D={queue.shape[1]}) must share D")
    if not 1 <= n_hard <= queue.shape[0]:
        raise ValueError(f"n_hard must be in [1, K={queue.shape[0]}]; got {n_hard}")
    if s_mix < 0 or s_prime < 0 or s_mix + s_prime == 0:
        raise ValueError(f"s_mix and s_prime must be >= 0 and not both 0; got {s_mix}, {s_prime}")
    q = maybe_normalize(query.detach(), normalize)
    k = maybe_normalize(queue.detach(), normalize)
    n, dev = q.shape[0], q.device
    hard = hardest_negatives(q, k, n_hard, chunk_size)  # (N, n_hard)
    parts = []
    if s_mix:
        ij = torch.randint(0, n_hard, (2, n, s_mix), generator=generator).to(dev)
        alpha = torch.rand(n, s_mix, 1, generator=generator).to(device=dev, dtype=q.dtype)
        n_i = k[hard.gather(1, ij[0])]
        n_j = k[hard.gather(1, ij[1])]
        parts.append(F.normalize(alpha * n_i + (1 - alpha) * n_j, dim=-1))
    if s_prime:
        j = torch.randint(0, n_hard, (n, s_prime), generator=generator).to(dev)
        beta = 0.5 * torch.rand(n, s_prime, 1, generator=generator).to(device=dev, dtype=q.dtype)
        parts.append(F.normalize(beta * q[:, None, :] + (1 - beta) * k[hard.gather(1, j)], dim=-1))
    return torch.cat(parts, dim=1)


def mochi_loss(
    query: Tensor,
    key: Tensor,
    queue: Tensor,
    *,
    n_hard: int = 1024,
    s_mix: int = 1024,
    s_prime: int = 256,
    temperature: float | Tensor = 0.2,
    generator: torch.Generator | None = None,
    synthetic: Tensor | None = None,
    in_batch_negatives: bool = True,
    normalize: bool = True,
    chunk_size: int | None = None,
    return_output: bool = False,
) -> Tensor | KernelOutput:
    """InfoNCE of the queries against their keys, the queue and MoCHi's synthetic negatives.

    ``l_i = -log exp(<q_i, k_i>/t) / (exp(<q_i, k_i>/t) + sum_{n in Neg_i} exp(<q_i, n>/t))`` where
    ``Neg_i`` = the queue and query i's ``s_mix + s_prime`` synthetic negatives
    (:func:`hard_negative_mixing`; Kalantidis et al., NeurIPS 2020, MoCo's loss with the
    synthetic negatives added; paper defaults N=1024, s=1024, s'=256, t=0.2 on MoCo-v2).

    ``in_batch_negatives=True`` (default) runs the kernel with the keys and the queue as
    candidates and the synthetic points as per-anchor ``extra_negatives`` (chunked, memory
    lean); the other queries' keys are then negatives too, as in ``info_nce_loss`` with a queue.
    ``False`` gives MoCo's exact logits ``[q·k_i, q·queue, q·h]`` (positive first), built
    densely as MoCo does.

    Args:
        query: ``(N, D)``; key: ``(N, D)`` (momentum encoder, usually detached by the caller);
        queue: ``(K, D)``.
        n_hard, s_mix, s_prime, generator: see :func:`hard_negative_mixing`.
        synthetic: ``(N, S, D)`` negatives made beforehand (then n_hard, s_mix, s_prime and
            generator are unused); they are used as given (not normalized, not detached).
        temperature: scalar.
        normalize: L2-normalize query, key and queue first.
        chunk_size: query rows per chunk.
        return_output: return a :class:`KernelOutput`.

    Example:
        >>> q, k, queue = torch.randn(4, 8), torch.randn(4, 8), torch.randn(64, 8)
        >>> mochi_loss(q, k, queue, n_hard=16, s_mix=8, s_prime=4).shape
        torch.Size([])
    """
    check_pair("query", query, "key", key)
    check_matrix("queue", queue)
    check_chunk_size(chunk_size)
    if synthetic is None:
        synthetic = hard_negative_mixing(query, queue, n_hard, s_mix, s_prime, generator=generator,
                                         normalize=normalize, chunk_size=chunk_size)
    elif synthetic.dim() != 3 or synthetic.shape[0] != query.shape[0] or synthetic.shape[2] != query.shape[1]:
        raise ValueError(f"synthetic must be (N, S, D)=({query.shape[0]}, S, {query.shape[1]}); "
                         f"got {tuple(synthetic.shape)}")
    q, k, queue = (maybe_normalize(x, normalize) for x in (query, key, queue))
    n = q.shape[0]
    if in_batch_negatives:
        out = contrastive_cross_entropy(
            q, torch.cat([k, queue]), positive_index=torch.arange(n, device=q.device),
            extra_negatives=synthetic.to(q.dtype), temperature=temperature, chunk_size=chunk_size,
        )
        return out if return_output else out.loss
    t = as_float64_scalar(temperature, q.device)
    logits = torch.cat([(q * k).sum(1, keepdim=True), q @ queue.T, torch.einsum("nd,nkd->nk", q, synthetic)], dim=1)
    logits = logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits
    per = F.cross_entropy(logits / t.to(logits.dtype), torch.zeros(n, dtype=torch.long, device=q.device),
                          reduction="none")
    loss = per.mean()
    return KernelOutput(loss, per.detach(), 0) if return_output else loss
