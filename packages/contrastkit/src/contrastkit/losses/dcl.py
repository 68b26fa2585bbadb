"""Module for decoupled contrastive learning (DCL and DCLW)."""

from __future__ import annotations

from torch import Tensor, nn

from contrastkit.functional import dcl_loss, dclw_loss


class DCLLoss(nn.Module):
    """:func:`contrastkit.functional.dcl_loss`, or :func:`~contrastkit.functional.dclw_loss` when ``weighted``.

    Example:
        >>> import torch
        >>> DCLLoss(0.1, weighted=True)(torch.randn(4, 8), torch.randn(4, 8)).shape
        torch.Size([])
    """

    def __init__(self, temperature: float = 0.1, *, weighted: bool = False, sigma: float = 0.5,
                 normalize: bool = True, chunk_size: int | None = None, distributed: bool = False) -> None:
        super().__init__()
        self.temperature, self.weighted, self.sigma = temperature, weighted, sigma
        self.normalize, self.chunk_size, self.distributed = normalize, chunk_size, distributed
        self.last_num_dropped = 0

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        """``z1``, ``z2`` ``(N, D)``: two views of the same samples."""
        kw = {"normalize": self.normalize, "chunk_size": self.chunk_size, "distributed": self.distributed}
        if self.weighted:
            return dclw_loss(z1, z2, self.temperature, self.sigma, **kw)
        out = dcl_loss(z1, z2, self.temperature, return_output=True, **kw)
        self.last_num_dropped = out.num_dropped
        return out.loss
