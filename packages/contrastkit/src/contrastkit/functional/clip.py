"""The symmetric CLIP loss (Radford et al., ICML 2021)."""

from __future__ import annotations

import torch
from torch import Tensor

from contrastkit.distributed import gather_candidates
from contrastkit.functional._common import check_pair, maybe_normalize
from contrastkit.functional.kernel import contrastive_cross_entropy


def clip_loss(
    a: Tensor,
    b: Tensor,
    logit_scale: float | Tensor,
    *,
    normalize: bool = True,
    chunk_size: int | None = None,
    distributed: bool = False,
) -> Tensor:
    """Symmetric CLIP loss: mean of the a→b and b→a cross-entropies over ``scale * <a_i, b_j>``.

    ``L = 1/2 [ CE(scale * A B^T, I) + CE(scale * B A^T, I) ]`` (Radford et al., "Learning
    Transferable Visual Models From Natural Language Supervision", ICML 2021).

    Args:
        a, b: ``(N, D)`` paired embeddings (e.g. audio and text).
        logit_scale: the multiplier (``exp`` of the model's learnable log scale), not its log.
        distributed: each rank's rows contrast against all ranks' rows of the other modality
            (open_clip's ``local_loss=True`` with gradients through the gather).
    """
    check_pair("a", a, "b", b)
    a, b = maybe_normalize(a, normalize), maybe_normalize(b, normalize)
    temperature = 1.0 / torch.as_tensor(logit_scale, device=a.device)
    if not distributed:
        index = torch.arange(a.shape[0], device=a.device)
        return contrastive_cross_entropy(
            a, b, positive_index=index, temperature=temperature, symmetric=True, chunk_size=chunk_size,
        ).loss
    ga, gb = gather_candidates(a, enabled=True), gather_candidates(b, enabled=True)
    index = torch.arange(a.shape[0], device=a.device) + ga.offset
    a_to_b = contrastive_cross_entropy(a, gb.candidates, positive_index=index, temperature=temperature,
                                       chunk_size=chunk_size).loss
    b_to_a = contrastive_cross_entropy(b, ga.candidates, positive_index=index, temperature=temperature,
                                       chunk_size=chunk_size).loss
    return 0.5 * (a_to_b + b_to_a)
