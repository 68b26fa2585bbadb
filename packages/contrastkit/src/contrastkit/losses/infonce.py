"""Modules for InfoNCE (with an optional MoCo queue) and NT-Xent."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from contrastkit.functional import info_nce_loss, nt_xent_loss
from contrastkit.functional._common import maybe_normalize
from contrastkit.losses.queue import FeatureQueue


class InfoNCELoss(nn.Module):
    """:func:`contrastkit.functional.info_nce_loss` with its settings and an optional negative queue.

    With ``queue_size > 0`` the module owns a :class:`FeatureQueue`; its entries are added to
    every anchor's negatives, and :meth:`enqueue` stores the current keys after the step
    (MoCo, He et al., CVPR 2020).

    Example:
        >>> loss_fn = InfoNCELoss(temperature=0.2, queue_size=16, dim=8)
        >>> q, k = torch.randn(4, 8), torch.randn(4, 8)
        >>> loss = loss_fn(q, k); loss_fn.enqueue(k)
    """

    def __init__(self, temperature: float = 0.1, *, queue_size: int = 0, dim: int | None = None,
                 normalize: bool = True, chunk_size: int | None = None, distributed: bool = False) -> None:
        super().__init__()
        self.temperature, self.normalize = temperature, normalize
        self.chunk_size, self.distributed = chunk_size, distributed
        if queue_size and dim is None:
            raise ValueError("InfoNCELoss(queue_size > 0) needs dim, the embedding size")
        self.queue = FeatureQueue(queue_size, dim) if queue_size else None
        self.last_num_dropped = 0

    def forward(self, anchors: Tensor, candidates: Tensor, extra_negatives: Tensor | None = None) -> Tensor:
        """``anchors``, ``candidates`` ``(N, D)``; ``extra_negatives`` ``(K, D)`` or ``(N, K, D)``."""
        queued = self.queue.get() if self.queue is not None else None
        if queued is not None:
            if extra_negatives is not None and extra_negatives.dim() != 2:
                raise ValueError("per-anchor extra_negatives (N, K, D) cannot be combined with the queue")
            queued = queued.to(anchors.dtype)
            extra_negatives = queued if extra_negatives is None else torch.cat([extra_negatives, queued])
        out = info_nce_loss(anchors, candidates, self.temperature, extra_negatives=extra_negatives,
                       normalize=self.normalize, chunk_size=self.chunk_size, distributed=self.distributed,
                       return_output=True)
        self.last_num_dropped = out.num_dropped
        return out.loss

    def enqueue(self, keys: Tensor) -> None:
        """Store ``keys`` ``(B, D)`` (normalized when ``normalize``) as future negatives."""
        if self.queue is None:
            raise RuntimeError("this InfoNCELoss has no queue (queue_size=0)")
        self.queue.enqueue(maybe_normalize(keys.detach(), self.normalize), distributed=self.distributed)


class NTXentLoss(nn.Module):
    """:func:`contrastkit.functional.nt_xent_loss` (SimCLR) with its settings.

    Example:
        >>> NTXentLoss(temperature=0.5)(torch.randn(4, 8), torch.randn(4, 8)).shape
        torch.Size([])
    """

    def __init__(self, temperature: float = 0.5, *, normalize: bool = True, chunk_size: int | None = None,
                 distributed: bool = False) -> None:
        super().__init__()
        self.temperature, self.normalize = temperature, normalize
        self.chunk_size, self.distributed = chunk_size, distributed
        self.last_num_dropped = 0

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        """``z1``, ``z2`` ``(N, D)``: two views of the same samples."""
        out = nt_xent_loss(z1, z2, self.temperature, normalize=self.normalize, chunk_size=self.chunk_size,
                      distributed=self.distributed, return_output=True)
        self.last_num_dropped = out.num_dropped
        return out.loss
