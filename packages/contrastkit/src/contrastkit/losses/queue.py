"""A FIFO queue of past embeddings (MoCo's dictionary), kept in buffers so it is checkpointed."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from contrastkit.distributed import gather_labels
from contrastkit.functional._common import check_matrix


class FeatureQueue(nn.Module):
    """Ring buffer of the ``size`` most recent embeddings ``(size, dim)`` (He et al., MoCo, CVPR 2020).

    Until it is full only the filled rows are returned, so no placeholder vector ever acts as a
    negative. The buffers (``features``, ``ptr``, ``filled``) are part of the state dict.
    """

    def __init__(self, size: int, dim: int) -> None:
        super().__init__()
        if size < 1 or dim < 1:
            raise ValueError(f"queue size and dim must be >= 1; got size={size}, dim={dim}")
        self.register_buffer("features", torch.zeros(size, dim))
        self.register_buffer("ptr", torch.zeros((), dtype=torch.long))
        self.register_buffer("filled", torch.zeros((), dtype=torch.long))

    @property
    def size(self) -> int:
        return self.features.shape[0]

    @torch.no_grad()
    def enqueue(self, x: Tensor, *, distributed: bool = False) -> None:
        """Append ``x`` ``(B, dim)`` (detached; gathered from all ranks when ``distributed``),
        overwriting the oldest entries."""
        check_matrix("x", x)
        if x.shape[1] != self.features.shape[1]:
            raise ValueError(f"x must be (B, dim={self.features.shape[1]}); got {tuple(x.shape)}")
        x = gather_labels(x.detach(), enabled=distributed)[-self.size:].to(self.features)
        start = int(self.ptr)
        idx = (torch.arange(x.shape[0], device=x.device) + start) % self.size
        self.features[idx] = x
        self.ptr.fill_((start + x.shape[0]) % self.size)
        self.filled.fill_(min(self.size, int(self.filled) + x.shape[0]))

    def get(self) -> Tensor | None:
        """The stored embeddings ``(filled, dim)``, or None while empty."""
        n = int(self.filled)
        return self.features[:n] if n else None
