"""MCLRec's learnable model augmenter (Qin et al., SIGIR 2023, Sec. 3.3; official ``Extractor``).

``z = normalize(W_3 GELU(W_2 GELU(W_1 h + b_1) + b_2) + b_3)``, layer sizes 64 -> 32 -> 16 -> 64,
L2-normalized output, no dropout. PyTorch's default ``nn.Linear`` initialization (the official
augmenters are built outside the model and are not re-initialized).
"""

from __future__ import annotations

from itertools import pairwise

import torch.nn.functional as F
from torch import Tensor, nn


class Augmenter(nn.Module):
    """MLP augmenter ``(B, sizes[0]) -> (B, sizes[-1])``, unit-norm rows."""

    def __init__(self, sizes: tuple[int, ...]) -> None:
        super().__init__()
        if len(sizes) < 2:
            raise ValueError(f"sizes needs at least an input and an output size; got {sizes}")
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in pairwise(sizes))

    def forward(self, h: Tensor) -> Tensor:
        for i, layer in enumerate(self.layers):
            h = layer(h)
            if i < len(self.layers) - 1:
                h = F.gelu(h)
        return F.normalize(h, dim=-1)
