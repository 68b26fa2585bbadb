"""Supervised contrastive loss (Khosla et al., NeurIPS 2020), the L_out variant."""

from __future__ import annotations

import torch
from torch import Tensor

from contrastkit.distributed import gather_candidates, gather_labels
from contrastkit.functional._common import check_matrix, maybe_normalize
from contrastkit.functional.kernel import KernelOutput, contrastive_cross_entropy


def supcon_loss(
    features: Tensor,
    labels: Tensor,
    temperature: float | Tensor = 0.1,
    *,
    normalize: bool = True,
    chunk_size: int | None = None,
    distributed: bool = False,
    return_output: bool = False,
) -> Tensor | KernelOutput:
    """SupCon ``L_out``: positives are all other samples with the same label.

    ``l_i = -1/|P(i)| sum_{p in P(i)} log exp(s_ip / t) / sum_{a != i} exp(s_ia / t)``, mean over
    anchors with at least one positive; anchors without one are dropped, not NaN. Self is
    excluded from numerator and denominator. (Khosla et al., "Supervised Contrastive Learning",
    NeurIPS 2020, eq. 2; the ``t / base_t`` factor of their code is 1 here.)

    Args:
        features: ``(N, D)``, or ``(N, V, D)`` with V views per sample (views flattened to
            ``N * V`` anchors sharing their sample's label).
        labels: ``(N,)`` integer labels.
        temperature: scalar or per-anchor ``(N,)`` (``(N * V,)`` with views).
        normalize: L2-normalize the features first (cosine similarity).
        chunk_size: anchor rows per chunk; same value and gradient.
        distributed: gather features and labels from all ranks; local features are anchors.
        return_output: return the kernel's :class:`KernelOutput` (with ``num_dropped``).

    Example:
        >>> f, y = torch.randn(8, 16), torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
        >>> supcon_loss(f, y, temperature=0.1).shape
        torch.Size([])
    """
    if features.dim() == 3:
        n, v, d = features.shape
        features = features.reshape(n * v, d)
        labels = labels.repeat_interleave(v)
    if features.dim() != 2 or labels.shape != (features.shape[0],):
        raise ValueError(
            f"features must be (N, D) or (N, V, D) and labels (N,); got {tuple(features.shape)} "
            f"and {tuple(labels.shape)}"
        )
    check_matrix("features", features)
    if labels.is_floating_point():
        raise ValueError(f"labels must be integers; got {labels.dtype}")
    features = maybe_normalize(features, normalize)
    gathered = gather_candidates(features, enabled=distributed)
    cand_labels = gather_labels(labels, enabled=distributed)
    self_index = torch.arange(features.shape[0], device=features.device) + gathered.offset
    out = contrastive_cross_entropy(
        features, gathered.candidates, anchor_labels=labels, candidate_labels=cand_labels,
        self_index=self_index, temperature=temperature, chunk_size=chunk_size,
    )
    return out if return_output else out.loss
