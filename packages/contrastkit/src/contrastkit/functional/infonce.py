"""InfoNCE (van den Oord et al., 2018) and NT-Xent (SimCLR, Chen et al., 2020)."""

from __future__ import annotations

import torch
from torch import Tensor

from contrastkit.distributed import gather_candidates
from contrastkit.functional._common import check_finite, check_pair, maybe_normalize
from contrastkit.functional.kernel import KernelOutput, contrastive_cross_entropy


def info_nce_loss(
    anchors: Tensor,
    candidates: Tensor,
    temperature: float | Tensor = 0.1,
    *,
    extra_negatives: Tensor | None = None,
    normalize: bool = True,
    chunk_size: int | None = None,
    distributed: bool = False,
    return_output: bool = False,
) -> Tensor | KernelOutput:
    """InfoNCE: anchor i's positive is candidate i; every other candidate is a negative.

    ``l_i = -log exp(s_ii / t) / (sum_k exp(s_ik / t) + sum_q exp(<a_i, n_q> / t))``, mean over i,
    with ``s = cos(a, c)`` when ``normalize`` (van den Oord et al., "Representation Learning
    with Contrastive Predictive Coding", 2018; MoCo's queue is ``extra_negatives``).

    Args:
        anchors: ``(N, D)``. candidates: ``(N, D)`` (the positives, row-aligned).
        temperature: scalar or ``(N,)``.
        extra_negatives: ``(K, D)`` shared (a queue) or ``(N, K, D)`` per anchor.
        normalize: L2-normalize anchors, candidates and extra negatives first (cosine
            similarity); False uses the raw dot product.
        chunk_size: anchor rows per chunk (memory), same value and gradient.
        distributed: gather candidates from all ranks (with gradients); anchors stay local.
        return_output: return the kernel's :class:`KernelOutput` instead of the scalar loss.

    Example:
        >>> a, b = torch.randn(8, 16), torch.randn(8, 16)
        >>> info_nce_loss(a, b, temperature=0.1).shape
        torch.Size([])
    """
    check_pair("anchors", anchors, "candidates", candidates)
    anchors = maybe_normalize(anchors, normalize)
    candidates = maybe_normalize(candidates, normalize)
    if extra_negatives is not None:
        check_finite("extra_negatives", extra_negatives)
        extra_negatives = maybe_normalize(extra_negatives, normalize)
    gathered = gather_candidates(candidates, enabled=distributed)
    positive_index = torch.arange(anchors.shape[0], device=anchors.device) + gathered.offset
    out = contrastive_cross_entropy(
        anchors, gathered.candidates, positive_index=positive_index, temperature=temperature,
        extra_negatives=extra_negatives, chunk_size=chunk_size,
    )
    return out if return_output else out.loss


def two_view_indices(n: int, world_n: int, offset: int, device: torch.device) -> tuple[Tensor, Tensor]:
    """Positive and self indices of the local views ``[z1; z2]`` (2n rows) among the gathered
    candidates ``[z1_all; z2_all]`` (2 * world_n rows), where this rank's rows start at ``offset``."""
    local = torch.arange(n, device=device) + offset
    self_index = torch.cat([local, local + world_n])
    positive_index = torch.cat([local + world_n, local])
    return positive_index, self_index


def nt_xent_loss(
    z1: Tensor,
    z2: Tensor,
    temperature: float | Tensor = 0.5,
    *,
    normalize: bool = True,
    decoupled: bool = False,
    chunk_size: int | None = None,
    distributed: bool = False,
    return_output: bool = False,
) -> Tensor | KernelOutput:
    """NT-Xent (SimCLR): InfoNCE over the 2N views, each view's positive its pair, self excluded.

    ``l_k = -log exp(s_{k,p(k)} / t) / sum_{j != k} exp(s_kj / t)`` over the ``2N`` views
    ``[z1; z2]``, mean over the 2N views (Chen et al., "A Simple Framework for Contrastive
    Learning of Visual Representations", ICML 2020). ``decoupled=True`` removes the positive
    from the denominator (DCL, see :func:`contrastkit.functional.dcl_loss`).

    Args:
        z1, z2: ``(N, D)`` two views of the same N samples.
        temperature: scalar or ``(2N,)`` (one per view, in the order ``[z1; z2]``).
        normalize: L2-normalize the views first (cosine similarity).
        chunk_size: view rows per chunk; same value and gradient.
        distributed: gather both views from all ranks (with gradients); local views are anchors.
        return_output: return the kernel's :class:`KernelOutput` instead of the scalar loss.

    Example:
        >>> z1, z2 = torch.randn(8, 16), torch.randn(8, 16)
        >>> float(nt_xent_loss(z1, z1, temperature=0.5)) < float(nt_xent_loss(z1, z2, temperature=0.5))
        True
    """
    check_pair("z1", z1, "z2", z2)
    n = z1.shape[0]
    z = maybe_normalize(torch.cat([z1, z2]), normalize)
    g1 = gather_candidates(z[:n], enabled=distributed)
    g2 = gather_candidates(z[n:], enabled=distributed)
    gathered = g1.candidates.shape[0] != n  # False on a single process: then no copy of z
    candidates = torch.cat([g1.candidates, g2.candidates]) if gathered else z
    positive_index, self_index = two_view_indices(n, g1.candidates.shape[0], g1.offset, z.device)
    out = contrastive_cross_entropy(
        z, candidates, positive_index=positive_index, self_index=self_index,
        temperature=temperature, positive_in_denominator=not decoupled, chunk_size=chunk_size,
    )
    return out if return_output else out.loss
