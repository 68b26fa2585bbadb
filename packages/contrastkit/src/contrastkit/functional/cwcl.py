"""Continuously weighted contrastive loss, CWCL (Srinivasa et al., NeurIPS 2023)."""

from __future__ import annotations

from torch import Tensor

from contrastkit.distributed import gather_candidates, world
from contrastkit.functional._common import check_finite, check_pair, maybe_normalize
from contrastkit.functional.kernel import KernelOutput, contrastive_cross_entropy


def check_unit_weights(name: str, weights: Tensor, shape: tuple[int, int]) -> None:
    """``weights`` must be a finite ``shape`` tensor with every entry in ``[0, 1]``."""
    if tuple(weights.shape) != shape:
        raise ValueError(f"{name} must have shape {shape}; got {tuple(weights.shape)}")
    check_finite(name, weights)
    if (weights < 0).any() or (weights > 1).any():
        lo, hi = float(weights.min()), float(weights.max())
        raise ValueError(f"{name} must lie in [0, 1]; got values in [{lo:.4g}, {hi:.4g}]")


def cwcl_weights(x: Tensor, *, normalize: bool = True) -> Tensor:
    """The paper's intra-modal weights ``w_ij = <x_i, x_j> / 2 + 1/2`` in ``[0, 1]``, ``(N, N)``.

    ``x`` ``(N, D)`` are embeddings of the modality whose (frozen, pre-trained) encoder defines
    similarity; normalized first when ``normalize``. Detached, as the weights are targets.
    """
    x = maybe_normalize(x.detach(), normalize)
    return ((x @ x.T) * 0.5 + 0.5).clamp(0.0, 1.0)


def cwcl_loss(
    a: Tensor,
    b: Tensor,
    weights: Tensor,
    temperature: float | Tensor = 0.1,
    *,
    weights_ba: Tensor | None = None,
    symmetric: bool = True,
    normalize: bool = True,
    chunk_size: int | None = None,
    distributed: bool = False,
    return_output: bool = False,
) -> Tensor | KernelOutput:
    """CWCL: every pair is a positive to the degree ``w_ij`` in ``[0, 1]``.

    ``L_{a→b} = -1/N sum_i 1/(sum_j w_ij) sum_j w_ij log [exp(<a_i, b_j>/t) / sum_k exp(<a_i, b_k>/t)]``
    (Srinivasa et al., "CWCL: Cross-Modal Transfer with Continuously Weighted Contrastive Loss",
    NeurIPS 2023; one-hot ``w`` gives CLIP's loss). With ``symmetric`` the mean of both
    directions is returned; ``b→a`` uses ``weights_ba`` or, by default, ``weights.T``
    (``w_ji``), as the paper's weights come from a symmetric intra-modal similarity
    (see :func:`cwcl_weights`). The mean of the two directions is returned (a sum of them
    differs by a factor of 2 only).
    Anchors whose weights are all zero are dropped and counted.

    Args:
        a, b: ``(N, D)`` paired embeddings.
        weights: ``(N, M)`` in ``[0, 1]`` (constants, no gradient); ``M = N``, or the
            gathered ``W * N`` when ``distributed``.
        temperature: scalar (``(N,)`` when not symmetric).
        weights_ba: ``(N, M)`` weights of the ``b→a`` direction (needed when distributed and
            symmetric).
        symmetric: average the ``a→b`` and ``b→a`` directions.
        normalize: L2-normalize ``a`` and ``b`` first (cosine similarity).
        chunk_size: rows per chunk; same value and gradient.
        distributed: each rank's rows against all ranks' rows of the other modality; the
            weight rows are the local anchors' rows against the gathered columns.
        return_output: return a :class:`KernelOutput` (per-anchor losses of ``a→b``).

    Example:
        >>> a, b = torch.randn(8, 16), torch.randn(8, 16)
        >>> cwcl_loss(a, b, cwcl_weights(b), temperature=0.1).shape
        torch.Size([])
    """
    check_pair("a", a, "b", b)
    n = a.shape[0]
    m = n * world()[1] if distributed else n
    check_unit_weights("weights", weights, (n, m))
    if weights_ba is not None:
        check_unit_weights("weights_ba", weights_ba, (n, m))
    a, b = maybe_normalize(a, normalize), maybe_normalize(b, normalize)
    weights = weights.detach().to(a.device)
    if not distributed and weights_ba is None:
        out = contrastive_cross_entropy(a, b, weights=weights, temperature=temperature, symmetric=symmetric,
                                        chunk_size=chunk_size)
        return out if return_output else out.loss
    if symmetric and weights_ba is None:
        raise ValueError("cwcl_loss(distributed=True, symmetric=True) needs weights_ba, the (N, W*N) rows of b→a")
    ga = gather_candidates(a, enabled=distributed)
    gb = gather_candidates(b, enabled=distributed)
    a_to_b = contrastive_cross_entropy(a, gb.candidates, weights=weights, temperature=temperature,
                                       chunk_size=chunk_size)
    if not symmetric:
        return a_to_b if return_output else a_to_b.loss
    b_to_a = contrastive_cross_entropy(b, ga.candidates, weights=weights_ba.detach().to(a.device),
                                       temperature=temperature, chunk_size=chunk_size)
    loss = 0.5 * (a_to_b.loss + b_to_a.loss)
    if return_output:
        return KernelOutput(loss, a_to_b.per_anchor, a_to_b.num_dropped + b_to_a.num_dropped)
    return loss
