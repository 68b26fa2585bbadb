"""Module for the CLIP loss: it owns the learnable logit scale."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from contrastkit.functional import clip_loss


class ClipLoss(nn.Module):
    """:func:`contrastkit.functional.clip_loss` with a learnable temperature.

    Owns ``log_logit_scale`` (init ``log(1 / 0.07)``, Radford et al. 2021); the multiplier
    ``exp(min(log_logit_scale, log(max_logit_scale)))`` (at most 100, as in CLIP) is passed to
    the function.

    Example:
        >>> ClipLoss()(torch.randn(4, 8), torch.randn(4, 8)).shape
        torch.Size([])
    """

    def __init__(self, init_logit_scale: float = 1 / 0.07, max_logit_scale: float = 100.0, *,
                 learnable: bool = True, normalize: bool = True, chunk_size: int | None = None,
                 distributed: bool = False) -> None:
        super().__init__()
        if not 0 < init_logit_scale <= max_logit_scale:
            raise ValueError(f"need 0 < init_logit_scale <= max_logit_scale; got {init_logit_scale}, {max_logit_scale}")
        self.log_logit_scale = nn.Parameter(torch.tensor(math.log(init_logit_scale)), requires_grad=learnable)
        self.max_log_scale = math.log(max_logit_scale)
        self.normalize, self.chunk_size, self.distributed = normalize, chunk_size, distributed
        self.last_num_dropped = 0

    def logit_scale(self) -> Tensor:
        """The clamped multiplier ``exp(log_logit_scale)``."""
        return self.log_logit_scale.clamp(max=self.max_log_scale).exp()

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        """``a``, ``b`` ``(N, D)`` paired embeddings."""
        out = clip_loss(a, b, self.logit_scale(), normalize=self.normalize, chunk_size=self.chunk_size,
                        distributed=self.distributed, return_output=True)
        self.last_num_dropped = out.num_dropped
        return out.loss
