"""Module for the supervised contrastive loss."""

from __future__ import annotations

from torch import Tensor, nn

from contrastkit.functional import supcon_loss


class SupConLoss(nn.Module):
    """:func:`contrastkit.functional.supcon_loss` (Khosla et al. L_out) with its settings.

    ``last_num_dropped`` holds the number of anchors of the last call that had no positive.

    Example:
        >>> import torch
        >>> SupConLoss(0.1)(torch.randn(6, 8), torch.tensor([0, 0, 1, 1, 2, 2])).shape
        torch.Size([])
    """

    def __init__(self, temperature: float = 0.1, *, normalize: bool = True, chunk_size: int | None = None,
                 distributed: bool = False) -> None:
        super().__init__()
        self.temperature, self.normalize = temperature, normalize
        self.chunk_size, self.distributed = chunk_size, distributed
        self.last_num_dropped = 0

    def forward(self, features: Tensor, labels: Tensor) -> Tensor:
        """``features`` ``(N, D)`` or ``(N, V, D)``, ``labels`` ``(N,)``."""
        out = supcon_loss(features, labels, self.temperature, normalize=self.normalize, chunk_size=self.chunk_size,
                     distributed=self.distributed, return_output=True)
        self.last_num_dropped = out.num_dropped
        return out.loss
