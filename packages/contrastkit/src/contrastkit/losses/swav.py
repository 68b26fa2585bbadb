"""Module for SwAV: it owns the prototypes."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.functional import swav_loss
from contrastkit.functional._common import check_pair


class SwAVLoss(nn.Module):
    """:func:`contrastkit.functional.swav_loss` with K learnable prototypes ``(K, D)``.

    As in SwAV (Caron et al., NeurIPS 2020) the prototypes are L2-normalized in place (without
    gradient) at every call, and the scores are ``normalize(z) @ C^T``. Prototypes are
    initialized from ``generator`` (``seed``) so runs are reproducible.

    Example:
        >>> loss_fn = SwAVLoss(dim=8, n_prototypes=5)
        >>> loss_fn(torch.randn(16, 8), torch.randn(16, 8)).shape
        torch.Size([])
    """

    def __init__(self, dim: int, n_prototypes: int, temperature: float = 0.1, *, epsilon: float = 0.05,
                 n_iters: int = 3, seed: int = 0, distributed: bool = False) -> None:
        super().__init__()
        if dim < 1 or n_prototypes < 1:
            raise ValueError(f"dim and n_prototypes must be >= 1; got {dim}, {n_prototypes}")
        init = torch.randn(n_prototypes, dim, generator=torch.Generator().manual_seed(seed))
        self.prototypes = nn.Parameter(F.normalize(init, dim=1))
        self.temperature, self.epsilon, self.n_iters = temperature, epsilon, n_iters
        self.distributed = distributed
        self.last_num_dropped = 0

    @torch.no_grad()
    def normalize_prototypes(self) -> None:
        """Project the prototypes back onto the unit sphere (SwAV does this before each step)."""
        self.prototypes.copy_(F.normalize(self.prototypes, dim=1))

    def scores(self, z: Tensor) -> Tensor:
        """Prototype scores ``(B, K)`` of embeddings ``z`` ``(B, D)``."""
        return F.normalize(z, dim=1) @ self.prototypes.T.to(z.dtype)

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        """``z1``, ``z2`` ``(B, D)``: embeddings of two views of the same B samples."""
        check_pair("z1", z1, "z2", z2)
        self.normalize_prototypes()
        return swav_loss(self.scores(z1), self.scores(z2), self.temperature, epsilon=self.epsilon,
                         n_iters=self.n_iters, distributed=self.distributed)
