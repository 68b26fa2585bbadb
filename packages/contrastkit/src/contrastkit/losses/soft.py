"""Module for the soft contrastive loss: targets from label similarity."""

from __future__ import annotations

from torch import Tensor, nn

from contrastkit.functional import soft_contrastive_loss


class SoftContrastiveLoss(nn.Module):
    """:func:`contrastkit.functional.soft_contrastive_loss` with its settings.

    Example:
        >>> import torch
        >>> y = torch.tensor([[1, 0], [1, 1], [0, 1], [1, 0]])
        >>> SoftContrastiveLoss(0.1, similarity="jaccard")(torch.randn(4, 8), y).shape
        torch.Size([])
    """

    def __init__(self, temperature: float = 0.1, *, similarity: str = "cosine", normalize: bool = True,
                 chunk_size: int | None = None, distributed: bool = False) -> None:
        super().__init__()
        if similarity not in ("cosine", "jaccard"):
            raise ValueError(f"similarity must be 'cosine' or 'jaccard'; got {similarity!r}")
        self.temperature, self.similarity = temperature, similarity
        self.normalize, self.chunk_size, self.distributed = normalize, chunk_size, distributed
        self.last_num_dropped = 0

    def forward(self, features: Tensor, labels: Tensor) -> Tensor:
        """``features`` ``(N, D)``; ``labels`` ``(N,)`` or ``(N, C)`` multi-hot / soft."""
        out = soft_contrastive_loss(features, labels, self.temperature, similarity=self.similarity,
                               normalize=self.normalize, chunk_size=self.chunk_size, distributed=self.distributed,
                               return_output=True)
        self.last_num_dropped = out.num_dropped
        return out.loss
