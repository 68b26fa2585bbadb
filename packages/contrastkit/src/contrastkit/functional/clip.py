"""The symmetric CLIP loss (Radford et al., ICML 2021)."""

from __future__ import annotations

import torch
from torch import Tensor

from contrastkit.distributed import gather_candidates
from contrastkit.functional._common import as_float64_scalar, check_pair, check_positive, maybe_normalize
from contrastkit.functional.kernel import KernelOutput, contrastive_cross_entropy


def clip_loss(
    a: Tensor,
    b: Tensor,
    logit_scale: float | Tensor,
    *,
    normalize: bool = True,
    chunk_size: int | None = None,
    distributed: bool = False,
    return_output: bool = False,
) -> Tensor | KernelOutput:
    """Symmetric CLIP loss: mean of the a→b and b→a cross-entropies over ``scale * <a_i, b_j>``.

    ``L = 1/2 [ CE(scale * A B^T, I) + CE(scale * B A^T, I) ]`` (Radford et al., "Learning
    Transferable Visual Models From Natural Language Supervision", ICML 2021).

    Args:
        a, b: ``(N, D)`` paired embeddings (e.g. audio and text).
        logit_scale: the multiplier (``exp`` of the model's learnable log scale), not its log.
        normalize: L2-normalize ``a`` and ``b`` first (cosine similarity, as in CLIP).
        chunk_size: rows per chunk; same value and gradient.
        distributed: each rank's rows contrast against all ranks' rows of the other modality
            (open_clip's ``local_loss=True`` with gradients through the gather).
        return_output: return a :class:`KernelOutput` (``per_anchor`` is the a→b direction's).

    Example:
        >>> a, b = torch.randn(8, 16), torch.randn(8, 16)
        >>> clip_loss(a, b, logit_scale=1 / 0.07).shape
        torch.Size([])
    """
    check_pair("a", a, "b", b)
    check_positive("logit_scale", logit_scale)
    a, b = maybe_normalize(a, normalize), maybe_normalize(b, normalize)
    temperature = 1.0 / as_float64_scalar(logit_scale, a.device)
    if not distributed:
        index = torch.arange(a.shape[0], device=a.device)
        out = contrastive_cross_entropy(
            a, b, positive_index=index, temperature=temperature, symmetric=True, chunk_size=chunk_size,
        )
        return out if return_output else out.loss
    ga, gb = gather_candidates(a, enabled=True), gather_candidates(b, enabled=True)
    index = torch.arange(a.shape[0], device=a.device) + ga.offset
    a_to_b = contrastive_cross_entropy(a, gb.candidates, positive_index=index, temperature=temperature,
                                       chunk_size=chunk_size)
    b_to_a = contrastive_cross_entropy(b, ga.candidates, positive_index=index, temperature=temperature,
                                       chunk_size=chunk_size)
    loss = 0.5 * (a_to_b.loss + b_to_a.loss)
    if return_output:
        return KernelOutput(loss, a_to_b.per_anchor, a_to_b.num_dropped + b_to_a.num_dropped)
    return loss
