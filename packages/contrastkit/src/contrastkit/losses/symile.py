"""Module for Symile: it owns the learnable logit scale."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from contrastkit.functional import symile_loss


class SymileLoss(nn.Module):
    """:func:`contrastkit.functional.symile_loss` with a learnable ``log_logit_scale``.

    ``negatives="n"`` is the paper's O(N) sampling, ``"n_squared"`` uses all N² - 1 negatives
    (Saporta et al., NeurIPS 2024). The multiplier passed on is ``exp(log_logit_scale)``,
    clamped at ``max_logit_scale``.

    Example:
        >>> a, b, c = torch.randn(4, 8), torch.randn(4, 8), torch.randn(4, 8)
        >>> SymileLoss()(a, b, c, generator=torch.Generator().manual_seed(0)).shape
        torch.Size([])
    """

    def __init__(self, init_logit_scale: float = 1 / 0.07, max_logit_scale: float = 100.0, *,
                 negatives: str = "n", learnable: bool = True, normalize: bool = True,
                 chunk_size: int | None = None) -> None:
        super().__init__()
        if negatives not in ("n", "n_squared"):
            raise ValueError(f"negatives must be 'n' or 'n_squared'; got {negatives!r}")
        if not 0 < init_logit_scale <= max_logit_scale:
            raise ValueError(f"need 0 < init_logit_scale <= max_logit_scale; got {init_logit_scale}, {max_logit_scale}")
        self.log_logit_scale = nn.Parameter(torch.tensor(math.log(init_logit_scale)), requires_grad=learnable)
        self.max_log_scale = math.log(max_logit_scale)
        self.negatives, self.normalize, self.chunk_size = negatives, normalize, chunk_size
        self.last_num_dropped = 0

    def forward(self, a: Tensor, b: Tensor, c: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """``a``, ``b``, ``c`` ``(N, D)``: the three modalities of N samples."""
        scale = self.log_logit_scale.clamp(max=self.max_log_scale).exp()
        return symile_loss(a, b, c, scale, negatives=self.negatives, generator=generator, normalize=self.normalize,
                      chunk_size=self.chunk_size)
