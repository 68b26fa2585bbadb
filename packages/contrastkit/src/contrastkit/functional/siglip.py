"""The pairwise sigmoid loss of SigLIP (Zhai et al., ICCV 2023)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from contrastkit.distributed import gather_candidates
from contrastkit.functional._common import (
    as_float64_scalar,
    check_chunk_size,
    check_finite,
    check_pair,
    check_positive,
    maybe_normalize,
)


class _SigmoidPairs(torch.autograd.Function):
    """Row-chunked sum of ``softplus(-z_ij * l_ij)``; the input gradients are made in the forward.

    ``l = scale * A B^T + bias``; ``d softplus(-z l) / dl = sigmoid(l) - [z = +1]``, so every
    chunk's gradient is known as soon as its logits are; no ``(N, M)`` tensor is kept.
    """

    @staticmethod
    def forward(ctx, a, b, scale, bias, offset: int, chunk_size: int, denom: float):
        n = a.shape[0]
        acc = torch.float64 if torch.float64 in (a.dtype, b.dtype) else torch.float32
        mm_dtype = torch.promote_types(a.dtype, b.dtype)
        if torch.is_autocast_enabled(a.device.type):
            mm_dtype = torch.get_autocast_dtype(a.device.type)
        a_mm, b_mm = a.to(mm_dtype), b.to(mm_dtype)
        s_acc, bias_acc = scale.to(acc), bias.to(acc)
        need_grad = any(ctx.needs_input_grad[:4])
        total = torch.zeros((), dtype=acc, device=a.device)
        grad_a = torch.zeros(a.shape, dtype=acc, device=a.device) if need_grad else None
        grad_b = torch.zeros(b.shape, dtype=acc, device=a.device) if need_grad else None
        grad_scale = torch.zeros((), dtype=acc, device=a.device)
        grad_bias = torch.zeros((), dtype=acc, device=a.device)
        for r0 in range(0, n, chunk_size):
            r1 = min(r0 + chunk_size, n)
            sim = (a_mm[r0:r1] @ b_mm.T).to(acc)
            logits = s_acc * sim + bias_acc
            rows = torch.arange(r1 - r0, device=a.device)
            cols = rows + r0 + offset
            # -log sigmoid(z l) = softplus(-z l): softplus(l) off the diagonal, softplus(-l) on it
            signed = logits.clone()
            signed[rows, cols] = -logits[rows, cols]
            total += F.softplus(signed).sum()
            if need_grad:
                g = torch.sigmoid(logits)
                g[rows, cols] -= 1.0
                grad_bias += g.sum()
                grad_scale += (g * sim).sum()
                g_mm = (g * s_acc).to(mm_dtype)
                grad_a[r0:r1] += (g_mm @ b_mm).to(acc)
                grad_b += (g_mm.T @ a_mm[r0:r1]).to(acc)
        if need_grad:
            ctx.save_for_backward(grad_a / denom, grad_b / denom, grad_scale / denom, grad_bias / denom)
            ctx.dtypes = (a.dtype, b.dtype, scale.dtype, bias.dtype)
        return total / denom

    @staticmethod
    def backward(ctx, grad_out):
        grads = []
        for k, (g, dt) in enumerate(zip(ctx.saved_tensors, ctx.dtypes, strict=True)):
            grads.append((g * grad_out.to(g.dtype)).to(dt) if ctx.needs_input_grad[k] else None)
        return (*grads, None, None, None)


def siglip_loss(
    a: Tensor,
    b: Tensor,
    logit_scale: float | Tensor,
    logit_bias: float | Tensor,
    *,
    normalize: bool = True,
    chunk_size: int | None = None,
    distributed: bool = False,
) -> Tensor:
    """SigLIP: a binary sigmoid loss on every pair, summed over the N×N pairs and divided by N.

    ``L = -1/N sum_i sum_j log sigmoid(z_ij (scale <a_i, b_j> + bias))``, ``z_ij = +1`` if
    ``i = j`` else ``-1`` (Zhai et al., "Sigmoid Loss for Language Image Pre-Training", ICCV
    2023, Algorithm 1). No softmax, so no normalization over the batch.

    The rows are processed in chunks of ``chunk_size``; the gradients with respect to ``a``,
    ``b``, the scale and the bias are accumulated during the forward pass, so memory stays at
    ``O(chunk_size * N)`` however large N is. Same value and gradients for any chunk size.

    Args:
        a, b: ``(N, D)`` paired embeddings (e.g. image and text).
        logit_scale: the multiplier ``t`` itself (``exp`` of the model's log scale ``t'``; paper
            init 10), not its log: it must be finite and > 0 (a negative ``t`` would reward
            dissimilar pairs), as in :func:`~contrastkit.functional.clip_loss`.
        logit_bias: the bias ``b`` (paper init -10).
        normalize: L2-normalize ``a`` and ``b`` first (as in the paper).
        chunk_size: rows of ``a`` per chunk (default: all at once).
        distributed: ``b`` is gathered from all ranks with gradients; each rank sums its local
            rows against every gathered column and divides by its local N. The gather's
            backward sums the column gradients of all ranks into the owner of each ``b`` row,
            so after DDP averages the gradients over W ranks, every parameter receives exactly
            the gradient of the full-batch loss (``1/(W N) sum`` over all ``W N × W N`` pairs).
            The paper's ring of chunks computes the same loss with less communication.

    Returns:
        scalar loss (float32, or float64 for float64 inputs).

    Example:
        >>> a, b = torch.randn(8, 16), torch.randn(8, 16)
        >>> siglip_loss(a, b, logit_scale=10.0, logit_bias=-10.0).shape
        torch.Size([])
    """
    check_pair("a", a, "b", b)
    scale = as_float64_scalar(logit_scale, a.device)
    bias = as_float64_scalar(logit_bias, a.device)
    if scale.dim() != 0 or bias.dim() != 0:
        raise ValueError("logit_scale and logit_bias must be scalars")
    check_positive("logit_scale", scale)  # the multiplier itself: <= 0 would reward dissimilar pairs
    check_finite("logit_bias", bias)
    check_chunk_size(chunk_size)
    a, b = maybe_normalize(a, normalize), maybe_normalize(b, normalize)
    gathered = gather_candidates(b, enabled=distributed)
    n = a.shape[0]
    return _SigmoidPairs.apply(a, gathered.candidates, scale, bias, gathered.offset, chunk_size or n, float(n))
