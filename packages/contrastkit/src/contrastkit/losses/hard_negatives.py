"""Module for MoCHi (functional/hard_negatives.py): a MoCo queue plus hard negative mixing."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from contrastkit.functional import info_nce_loss, mochi_loss
from contrastkit.functional._common import maybe_normalize
from contrastkit.losses.queue import FeatureQueue


class MoCHiLoss(nn.Module):
    """:func:`contrastkit.functional.mochi_loss` with its own queue of past keys.

    While the queue holds fewer than ``n_hard`` entries, ``n_hard`` is reduced to what it holds;
    while it is empty, plain InfoNCE over the batch keys is used. Call :meth:`enqueue` with
    the keys after each step. Paper defaults: N = 1024, s = 1024, s' = 256, t = 0.2
    (Kalantidis et al., NeurIPS 2020).

    Example:
        >>> loss_fn = MoCHiLoss(dim=8, queue_size=32, n_hard=8, s_mix=4, s_prime=2)
        >>> q, k = torch.randn(4, 8), torch.randn(4, 8)
        >>> loss_fn.enqueue(torch.randn(16, 8))
        >>> loss_fn(q, k, generator=torch.Generator().manual_seed(0)).shape
        torch.Size([])
    """

    def __init__(self, dim: int, queue_size: int = 65536, *, temperature: float = 0.2, n_hard: int = 1024,
                 s_mix: int = 1024, s_prime: int = 256, in_batch_negatives: bool = True, normalize: bool = True,
                 chunk_size: int | None = None) -> None:
        super().__init__()
        self.queue = FeatureQueue(queue_size, dim)
        self.temperature, self.n_hard, self.s_mix, self.s_prime = temperature, n_hard, s_mix, s_prime
        self.in_batch_negatives, self.normalize, self.chunk_size = in_batch_negatives, normalize, chunk_size
        self.last_num_dropped = 0

    def forward(self, query: Tensor, key: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """``query``, ``key`` ``(N, D)``; ``generator`` drives the mixing draws."""
        queued = self.queue.get()
        if queued is None:
            queued = key.new_zeros(0, key.shape[1])
        if queued.shape[0] == 0:
            out = info_nce_loss(query, key, self.temperature, normalize=self.normalize, chunk_size=self.chunk_size,
                           return_output=True)
        else:
            out = mochi_loss(query, key, queued.to(query.dtype), n_hard=min(self.n_hard, queued.shape[0]),
                             s_mix=self.s_mix, s_prime=self.s_prime, temperature=self.temperature,
                             generator=generator, in_batch_negatives=self.in_batch_negatives,
                             normalize=self.normalize, chunk_size=self.chunk_size, return_output=True)
        self.last_num_dropped = out.num_dropped
        return out.loss

    def enqueue(self, keys: Tensor) -> None:
        """Store ``keys`` ``(B, D)`` (normalized when ``normalize``) as future negatives."""
        self.queue.enqueue(maybe_normalize(keys.detach(), self.normalize))
