"""Module for SigLIP: it owns the learnable logit scale and bias."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from contrastkit.functional import siglip_loss


class SigLipLoss(nn.Module):
    """:func:`contrastkit.functional.siglip_loss` with a learnable scale and bias.

    Owns ``log_logit_scale`` (init ``log 10``) and ``logit_bias`` (init -10), the paper's
    initialization (Zhai et al., ICCV 2023).

    Example:
        >>> SigLipLoss()(torch.randn(4, 8), torch.randn(4, 8)).shape
        torch.Size([])
    """

    def __init__(self, init_logit_scale: float = 10.0, init_logit_bias: float = -10.0, *,
                 normalize: bool = True, chunk_size: int | None = None, distributed: bool = False) -> None:
        super().__init__()
        if not init_logit_scale > 0:
            raise ValueError(f"init_logit_scale must be > 0; got {init_logit_scale}")
        self.log_logit_scale = nn.Parameter(torch.tensor(math.log(init_logit_scale)))
        self.logit_bias = nn.Parameter(torch.tensor(float(init_logit_bias)))
        self.normalize, self.chunk_size, self.distributed = normalize, chunk_size, distributed
        self.last_num_dropped = 0

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        """``a``, ``b`` ``(N, D)`` paired embeddings."""
        return siglip_loss(a, b, self.log_logit_scale.exp(), self.logit_bias, normalize=self.normalize,
                           chunk_size=self.chunk_size, distributed=self.distributed)
