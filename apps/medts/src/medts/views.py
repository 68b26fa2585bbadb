"""Augmented views for pretraining: COMET's masks (through the encoder) and SimCLR-style jitter/scale."""

from __future__ import annotations

import torch
from torch import Tensor

from medts.models.encoder import make_mask


def stacked_masks(modes: list[str], b: int, t: int, device) -> Tensor:
    """``(len(modes) * B, T)`` keep-masks, one fresh draw per view, stacked view-major."""
    return torch.cat([make_mask(m, b, t, device=device) for m in modes])


def indexed_masks(modes: list[str], index: Tensor, t: int, device) -> Tensor:
    """``(len(modes) * B, T)`` keep-masks like :func:`stacked_masks`, row ``(view k, sample i)``
    drawn from a generator seeded with ``(index_i, k)``: the same mask for a sample whatever its
    batch, process or the RNG state (evaluation; one small draw per row)."""
    rows = []
    for k, m in enumerate(modes):
        for i in index.tolist():
            g = torch.Generator().manual_seed(int(i) * 64 + k)
            rows.append(make_mask(m, 1, t, generator=g))
    return torch.cat(rows).to(device)


def jitter_scale(x: Tensor, jitter: float = 0.1, scale: float = 0.1) -> Tensor:
    """``x * s + e`` with ``s ~ N(1, scale^2)`` per sample and channel and ``e ~ N(0, jitter^2)``
    per value (the time-series SimCLR augmentations of TS-TCC, Eldele et al., IJCAI 2021)."""
    s = 1 + scale * torch.randn(x.shape[0], 1, x.shape[2], device=x.device, dtype=x.dtype)
    return x * s + jitter * torch.randn_like(x)
