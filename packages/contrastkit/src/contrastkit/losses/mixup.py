"""Module for the mixup contrastive loss (i-Mix / M3CoL)."""

from __future__ import annotations

from torch import Tensor, nn

from contrastkit.functional import mixup_contrastive_loss


class MixupContrastiveLoss(nn.Module):
    """:func:`contrastkit.functional.mixup_contrastive_loss` (i-Mix / M3CoL) with its settings.

    Example:
        >>> import torch
        >>> MixupContrastiveLoss(0.2)(torch.randn(4, 8), torch.randn(4, 8), torch.tensor([1, 0, 3, 2]), 0.7).shape
        torch.Size([])
    """

    def __init__(self, temperature: float = 0.2, *, normalize: bool = True, chunk_size: int | None = None,
                 distributed: bool = False) -> None:
        super().__init__()
        self.temperature, self.normalize = temperature, normalize
        self.chunk_size, self.distributed = chunk_size, distributed
        self.last_num_dropped = 0

    def forward(self, mixed_anchors: Tensor, candidates: Tensor, perm: Tensor, lam: Tensor | float) -> Tensor:
        """Embeddings of the mixed inputs and of the unmixed other view ``(N, D)``; ``perm``, ``lam``
        from :func:`contrastkit.functional.mix_inputs`."""
        out = mixup_contrastive_loss(mixed_anchors, candidates, perm, lam, self.temperature, normalize=self.normalize,
                                chunk_size=self.chunk_size, distributed=self.distributed, return_output=True)
        self.last_num_dropped = out.num_dropped
        return out.loss
