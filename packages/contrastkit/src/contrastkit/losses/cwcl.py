"""Module for the continuously weighted contrastive loss (CWCL)."""

from __future__ import annotations

from torch import Tensor, nn

from contrastkit.functional import cwcl_loss


class CWCLLoss(nn.Module):
    """:func:`contrastkit.functional.cwcl_loss` with its settings.

    ``last_num_dropped`` counts the rows (and, symmetric, columns) whose weights were all zero.

    Example:
        >>> import torch
        >>> a, b = torch.randn(4, 8), torch.randn(4, 8)
        >>> CWCLLoss(0.1)(a, b, torch.eye(4)).shape
        torch.Size([])
    """

    def __init__(self, temperature: float = 0.1, *, symmetric: bool = True, normalize: bool = True,
                 chunk_size: int | None = None, distributed: bool = False) -> None:
        super().__init__()
        self.temperature, self.symmetric = temperature, symmetric
        self.normalize, self.chunk_size, self.distributed = normalize, chunk_size, distributed
        self.last_num_dropped = 0

    def forward(self, a: Tensor, b: Tensor, weights: Tensor, weights_ba: Tensor | None = None) -> Tensor:
        """``a``, ``b`` ``(N, D)``; ``weights`` ``(N, M)`` in ``[0, 1]``."""
        out = cwcl_loss(a, b, weights, self.temperature, weights_ba=weights_ba, symmetric=self.symmetric,
                   normalize=self.normalize, chunk_size=self.chunk_size, distributed=self.distributed,
                   return_output=True)
        self.last_num_dropped = out.num_dropped
        return out.loss
