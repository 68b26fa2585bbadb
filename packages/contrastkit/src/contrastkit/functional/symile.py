"""Symile: contrastive learning over three modalities with the multilinear inner product
(Saporta et al., NeurIPS 2024)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from contrastkit.functional._common import (
    as_float64_scalar,
    check_chunk_size,
    check_matrix,
    check_positive,
    maybe_normalize,
)


def mip(a: Tensor, b: Tensor, c: Tensor) -> Tensor:
    """Multilinear inner product ``MIP(a, b, c) = sum_d a_d b_d c_d`` of rows, ``(N,)``."""
    return (a * b * c).sum(-1)


def _acc(x: Tensor) -> Tensor:
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def _rows_n(x: Tensor, y: Tensor, z: Tensor, s1: Tensor, s2: Tensor, scale: Tensor, r0: int) -> Tensor:
    """Summed CE of anchor rows ``x`` (global rows ``r0:``) against ``y_s1(j) z_s2(j)``, ``j != i``."""
    r = x.shape[0]
    logits = _acc(x @ (y[s1] * z[s2]).T) * scale
    rows = torch.arange(r, device=x.device)
    pos = _acc(mip(x, y[r0:r0 + r], z[r0:r0 + r])) * scale
    logits = logits.index_put((rows, rows + r0), pos)
    return F.cross_entropy(logits, rows + r0, reduction="sum")


def _rows_n_squared(x: Tensor, y: Tensor, z: Tensor, scale: Tensor, r0: int) -> Tensor:
    """Summed CE of anchor rows ``x`` against every ``(y_j, z_k)``; the positive is ``(i, i)``."""
    r, n = x.shape[0], y.shape[0]
    logits = _acc(torch.einsum("rd,jd,kd->rjk", x, y, z)).reshape(r, n * n) * scale
    target = (torch.arange(r, device=x.device) + r0) * (n + 1)
    return F.cross_entropy(logits, target, reduction="sum")


def symile_loss(
    a: Tensor,
    b: Tensor,
    c: Tensor,
    logit_scale: float | Tensor,
    *,
    negatives: str = "n",
    generator: torch.Generator | None = None,
    shuffles: Tensor | None = None,
    normalize: bool = True,
    chunk_size: int | None = None,
) -> Tensor:
    """Symile loss: each modality in turn is the anchor, scored by the MIP with the other two.

    For anchor modality ``x`` with the others ``(y, z)``:
    ``L_x = -1/N sum_i log [exp(s MIP(x_i, y_i, z_i)) / sum_{(j,k) in Neg(i) ∪ {(i,i)}} exp(s MIP(x_i, y_j, z_k))]``
    and ``L = (L_a + L_b + L_c) / 3`` (Saporta et al., "Contrasting with Symile: Simple
    Model-Agnostic Representation Learning for Unlimited Modalities", NeurIPS 2024).

    * ``negatives="n_squared"``: ``Neg(i)`` is every ``(j, k) != (i, i)``, N² - 1 negatives.
    * ``negatives="n"`` (the paper's O(N) sampling): the non-anchor modalities are shuffled
      independently, ``y_s1(j), z_s2(j)``, and ``Neg(i) = {(s1(j), s2(j)) : j != i}``: N - 1
      negatives per anchor. ``shuffles`` ``(3, 2, N)`` fixes the permutations of the three
      directions (anchors a, b, c; others in (a, b, c) order); otherwise they are drawn from
      ``generator``.

    Args:
        a, b, c: ``(N, D)`` representations of the three modalities.
        logit_scale: the multiplier ``s`` (``exp`` of a learnable log scale), not its log.
        negatives: ``"n"`` or ``"n_squared"``.
        normalize: L2-normalize the representations first (as in the paper's encoders).
        chunk_size: anchor rows per chunk; each chunk's logits are recomputed in backward
            (activation checkpointing), so ``"n_squared"`` needs ``O(chunk N²)`` memory.

    Example:
        >>> a, b, c = torch.randn(8, 16), torch.randn(8, 16), torch.randn(8, 16)
        >>> symile_loss(a, b, c, logit_scale=10.0, generator=torch.Generator().manual_seed(0)).shape
        torch.Size([])
    """
    for name, x in (("a", a), ("b", b), ("c", c)):
        check_matrix(name, x)
    if not a.shape == b.shape == c.shape:
        raise ValueError(f"a, b and c must share the shape (N, D); got {tuple(a.shape)}, {tuple(b.shape)}, "
                         f"{tuple(c.shape)}")
    check_positive("logit_scale", logit_scale)
    check_chunk_size(chunk_size)
    if negatives not in ("n", "n_squared"):
        raise ValueError(f"negatives must be 'n' or 'n_squared'; got {negatives!r}")
    n = a.shape[0]
    if negatives == "n":
        if shuffles is None:
            shuffles = torch.stack([torch.stack([torch.randperm(n, generator=generator) for _ in range(2)])
                                    for _ in range(3)])
        if shuffles.shape != (3, 2, n):
            raise ValueError(f"shuffles must have shape (3, 2, N)=(3, 2, {n}); got {tuple(shuffles.shape)}")
        shuffles = shuffles.to(a.device)
    reps = [maybe_normalize(x, normalize) for x in (a, b, c)]
    scale = as_float64_scalar(logit_scale, a.device)
    step = chunk_size or n
    total = 0.0
    for d in range(3):
        x = reps[d]
        y, z = (reps[j] for j in range(3) if j != d)
        for r0 in range(0, n, step):
            xr = x[r0:r0 + step]
            if negatives == "n":
                args = (_rows_n, xr, y, z, shuffles[d, 0], shuffles[d, 1], scale, r0)
            else:
                args = (_rows_n_squared, xr, y, z, scale, r0)
            part = checkpoint(*args, use_reentrant=False) if chunk_size else args[0](*args[1:])
            total = total + part
    return total / (3 * n)
