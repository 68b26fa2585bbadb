"""Decoupled contrastive learning, DCL and its weighted variant DCLW (Yeh et al., ECCV 2022)."""

from __future__ import annotations

import torch
from torch import Tensor

from contrastkit.distributed import gather_candidates
from contrastkit.functional._common import as_float64_scalar, check_pair, check_positive, maybe_normalize
from contrastkit.functional.infonce import nt_xent_loss
from contrastkit.functional.kernel import KernelOutput


def dcl_loss(
    z1: Tensor,
    z2: Tensor,
    temperature: float | Tensor = 0.1,
    *,
    normalize: bool = True,
    chunk_size: int | None = None,
    distributed: bool = False,
    return_output: bool = False,
) -> Tensor | KernelOutput:
    """DCL: NT-Xent over the 2N views with the positive removed from the denominator.

    ``l_k = -s_{k,p(k)} / t + log sum_{j not in {k, p(k)}} exp(s_kj / t)``, mean over the 2N views
    ``[z1; z2]`` (Yeh et al., "Decoupled Contrastive Learning", ECCV 2022). The authors'
    code sums the two directions ``DCL(z1, z2) + DCL(z2, z1)``; that is ``2 *`` this mean.

    Args:
        z1, z2: ``(N, D)`` two views of the same N samples.
        temperature: scalar or ``(2N,)`` (one per view of ``[z1; z2]``).
        normalize: L2-normalize the views first (cosine similarity).
        chunk_size: view rows per chunk; same value and gradient.
        distributed: gather both views from all ranks with gradients (see ``nt_xent_loss``).
        return_output: return the kernel's :class:`KernelOutput`.

    Example:
        >>> z1, z2 = torch.randn(8, 16), torch.randn(8, 16)
        >>> dcl_loss(z1, z2, temperature=0.1).shape
        torch.Size([])
    """
    return nt_xent_loss(z1, z2, temperature, normalize=normalize, decoupled=True, chunk_size=chunk_size,
                   distributed=distributed, return_output=return_output)


def dclw_weights(z1: Tensor, z2: Tensor, sigma: float = 0.5, *, distributed: bool = False) -> Tensor:
    """The von Mises–Fisher weights of DCLW, ``(N,)``: ``w_i = 2 - N_all softmax_i(<z1_i, z2_i> / sigma)``.

    The softmax runs over the whole (gathered, when ``distributed``) batch, so the weights
    average to 1. Inputs are used as given (normalize first). Differentiable, as in the
    authors' code.
    """
    pos = (z1 * z2).sum(1)
    if distributed:
        g = gather_candidates(pos[:, None], enabled=True)
        all_pos = g.candidates[:, 0]
        local = slice(g.offset, g.offset + pos.shape[0])
    else:
        all_pos, local = pos, slice(None)
    x = all_pos.float() if all_pos.dtype in (torch.float16, torch.bfloat16) else all_pos
    p = torch.softmax(x / sigma, dim=0)
    return 2.0 - all_pos.shape[0] * p[local]


def dclw_loss(
    z1: Tensor,
    z2: Tensor,
    temperature: float | Tensor = 0.1,
    sigma: float = 0.5,
    *,
    normalize: bool = True,
    chunk_size: int | None = None,
    distributed: bool = False,
) -> Tensor:
    """DCLW: DCL whose positive term is weighted by a von Mises–Fisher weight.

    ``l_k = -w_i s_ii / t + log sum_{j not in {k, p(k)}} exp(s_kj / t)`` with
    ``w_i = 2 - N exp(s_ii / sigma) / sum_m exp(s_mm / sigma)`` (``s_ii = <z1_i, z2_i>``), so
    easy positives (high similarity) weigh less (Yeh et al., ECCV 2022; sigma = 0.5).
    Computed as the kernel's DCL plus the correction ``mean_k (1 - w_i) s_ii / t_k``.

    Args:
        z1, z2: ``(N, D)`` two views. temperature: scalar or ``(2N,)``.
        sigma: the vMF concentration of the weights (> 0).
        normalize: L2-normalize the views first.
        chunk_size: view rows per chunk for the DCL part.
        distributed: the DCL part gathers both views; the weights' softmax runs over the
            gathered positive similarities (with gradients).

    Example:
        >>> z1, z2 = torch.randn(8, 16), torch.randn(8, 16)
        >>> dclw_loss(z1, z2, temperature=0.1, sigma=0.5).shape
        torch.Size([])
    """
    check_pair("z1", z1, "z2", z2)
    check_positive("sigma", sigma)
    check_positive("temperature", temperature)
    base = dcl_loss(z1, z2, temperature, normalize=normalize, chunk_size=chunk_size, distributed=distributed)
    n1, n2 = maybe_normalize(z1, normalize), maybe_normalize(z2, normalize)
    w = dclw_weights(n1, n2, sigma, distributed=distributed)
    pos = (n1 * n2).sum(1).to(w.dtype)
    t = as_float64_scalar(temperature, z1.device)
    if t.dim() == 0:
        correction = ((1.0 - w) * pos).mean() / t
    else:
        if t.shape != (2 * z1.shape[0],):
            raise ValueError(f"temperature must be a scalar or of shape (2N,); got {tuple(t.shape)}")
        inv_t = 1.0 / t.to(w.dtype)
        correction = (((1.0 - w) * pos)[None, :] * inv_t.view(2, -1)).mean()
    return base + correction.to(base.dtype)
