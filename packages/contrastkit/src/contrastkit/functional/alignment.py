"""Alignment and uniformity on the hypersphere (Wang & Isola, ICML 2020)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from contrastkit.functional._common import check_matrix, check_pair, check_positive, maybe_normalize


def _float(x: Tensor) -> Tensor:
    """Half-precision inputs are computed in float32."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def align_loss(x: Tensor, y: Tensor, alpha: float = 2.0, *, normalize: bool = True) -> Tensor:
    """Alignment: ``L_align = E_i ||x_i - y_i||_2^alpha`` over positive pairs ``(x_i, y_i)``.

    (Wang & Isola, "Understanding Contrastive Representation Learning through Alignment and
    Uniformity on the Hypersphere", ICML 2020; alpha = 2 in their experiments.)
    Identical pairs give 0 with a zero (not NaN) gradient for any ``alpha > 0``.

    Args:
        x, y: ``(N, D)`` positive pairs. alpha: the exponent (> 0).
        normalize: L2-normalize ``x`` and ``y`` first (the loss is defined on the sphere).

    Example:
        >>> x = torch.randn(8, 16)
        >>> float(align_loss(x, x))
        0.0
    """
    check_pair("x", x, "y", y)
    check_positive("alpha", alpha)
    x, y = _float(maybe_normalize(x, normalize)), _float(maybe_normalize(y, normalize))
    d2 = (x - y).pow(2).sum(1)
    if alpha == 2:
        return d2.mean()
    nonzero = d2 > 0
    safe = torch.where(nonzero, d2, torch.ones_like(d2))  # the power's gradient is infinite at 0
    return torch.where(nonzero, safe.pow(alpha / 2), torch.zeros_like(d2)).mean()


def uniform_loss(x: Tensor, t: float = 2.0, *, normalize: bool = True) -> Tensor:
    """Uniformity: ``L_unif = log E_{i<j} exp(-t ||x_i - x_j||_2^2)`` (Gaussian potential).

    (Wang & Isola, ICML 2020; t = 2 in their experiments.) Uses
    ``||x_i - x_j||^2 = ||x_i||^2 + ||x_j||^2 - 2 <x_i, x_j>`` (one ``N×N`` product) and a
    log-sum-exp, so duplicated points stay finite. Needs N >= 2.

    Args:
        x: ``(N, D)``. t: the potential's scale (> 0).
        normalize: L2-normalize ``x`` first.

    Example:
        >>> x = torch.nn.functional.normalize(torch.randn(64, 3), dim=1)
        >>> float(uniform_loss(x)) < 0
        True
    """
    check_matrix("x", x)
    check_positive("t", t)
    n = x.shape[0]
    if n < 2:
        raise ValueError(f"uniform_loss needs at least 2 rows in x; got {n}")
    x = _float(maybe_normalize(x, normalize))
    sq = x.pow(2).sum(1)
    d2 = (sq[:, None] + sq[None, :] - 2 * (x @ x.T)).clamp_min(0)
    iu = torch.triu_indices(n, n, offset=1, device=x.device)
    pairs = d2[iu[0], iu[1]]
    return torch.logsumexp(-t * pairs, dim=0) - math.log(pairs.numel())
