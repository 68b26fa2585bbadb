"""Soft contrastive loss: targets from label similarity (multi-label / soft-label SupCon)."""

from __future__ import annotations

import torch
from torch import Tensor

from contrastkit.distributed import gather_candidates, gather_labels
from contrastkit.functional._common import check_finite, check_matrix, maybe_normalize
from contrastkit.functional.kernel import KernelOutput, contrastive_cross_entropy


def label_similarity(labels_a: Tensor, labels_b: Tensor, kind: str = "cosine") -> Tensor:
    """Similarity ``(N, M)`` in ``[0, 1]`` of non-negative label vectors ``(N, C)`` and ``(M, C)``.

    ``"cosine"``: ``<y_i, y_j> / (||y_i|| ||y_j||)`` (0 for an all-zero vector);
    ``"jaccard"``: ``sum_c min(y_ic, y_jc) / sum_c max(y_ic, y_jc)`` (intersection over union
    of multi-hot vectors; 0 when both are empty). Integer class labels ``(N,)`` are one-hot
    encoded first, which makes both kinds the SupCon mask.
    """
    if labels_a.dim() == 1:
        if labels_a.is_floating_point() or labels_b.is_floating_point():
            raise ValueError("1-D labels must be integer class ids")
        n_classes = int(max(labels_a.max(), labels_b.max())) + 1
        labels_a = torch.nn.functional.one_hot(labels_a, n_classes)
        labels_b = torch.nn.functional.one_hot(labels_b, n_classes)
    ya, yb = labels_a.double(), labels_b.double()
    if kind == "cosine":
        na = ya.norm(dim=1, keepdim=True).clamp_min(1e-12)
        nb = yb.norm(dim=1, keepdim=True).clamp_min(1e-12)
        return (ya / na) @ (yb / nb).T
    if kind == "jaccard":
        inter = torch.minimum(ya[:, None, :], yb[None, :, :]).sum(-1)
        union = torch.maximum(ya[:, None, :], yb[None, :, :]).sum(-1)
        return torch.where(union > 0, inter / union.clamp_min(1e-12), torch.zeros_like(inter))
    raise ValueError(f"similarity must be 'cosine' or 'jaccard'; got {kind!r}")


def soft_contrastive_loss(
    features: Tensor,
    labels: Tensor | None = None,
    temperature: float | Tensor = 0.1,
    *,
    label_sim: Tensor | None = None,
    similarity: str = "cosine",
    normalize: bool = True,
    chunk_size: int | None = None,
    distributed: bool = False,
    return_output: bool = False,
) -> Tensor | KernelOutput:
    """Soft supervised contrastive loss with targets from label similarity, self excluded.

    ``l_i = sum_{j != i} q_ij [log sum_{k != i} exp(s_ik / t) - s_ij / t]``,
    ``q_ij = w_ij / sum_{j != i} w_ij``, ``w_ij = sim(y_i, y_j)`` (see :func:`label_similarity`),
    mean over anchors with some positive weight (others are dropped and counted). With one-hot
    labels this is SupCon's ``L_out`` (Khosla et al., NeurIPS 2020); with multi-hot or soft labels
    the binary positive mask becomes graded targets, as CWCL does across modalities
    (Srinivasa et al., NeurIPS 2023).

    Args:
        features: ``(N, D)``.
        labels: ``(N,)`` integer classes or ``(N, C)`` non-negative multi-hot / soft labels.
        temperature: scalar or ``(N,)``.
        label_sim: instead of ``labels``, the weights ``(N, M)`` themselves (non-negative;
            ``M = N``, or the gathered ``W * N`` when ``distributed``).
        similarity: ``"cosine"`` or ``"jaccard"`` for ``labels``.
        normalize: L2-normalize the features first (cosine similarity).
        chunk_size: anchor rows per chunk; same value and gradient.
        distributed: gather features and labels from all ranks; local features are anchors.
        return_output: return the kernel's :class:`KernelOutput` (with ``num_dropped``).

    Example:
        >>> f = torch.randn(4, 8)
        >>> y = torch.tensor([[1, 0, 1], [1, 0, 0], [0, 1, 0], [0, 1, 1]])
        >>> soft_contrastive_loss(f, y, temperature=0.1, similarity="jaccard").shape
        torch.Size([])
    """
    check_matrix("features", features)
    if (labels is None) == (label_sim is None):
        raise ValueError("give exactly one of labels and label_sim")
    n = features.shape[0]
    features = maybe_normalize(features, normalize)
    gathered = gather_candidates(features, enabled=distributed)
    m = gathered.candidates.shape[0]
    if labels is not None:
        if labels.shape[0] != n or labels.dim() not in (1, 2):
            raise ValueError(f"labels must be (N,) or (N, C) with N={n}; got {tuple(labels.shape)}")
        check_finite("labels", labels.double())
        if (labels < 0).any():
            raise ValueError("labels must be non-negative")
        weights = label_similarity(labels, gather_labels(labels, enabled=distributed), similarity)
    else:
        if label_sim.shape != (n, m):
            raise ValueError(f"label_sim must have shape (N, M)=({n}, {m}); got {tuple(label_sim.shape)}")
        check_finite("label_sim", label_sim)
        if (label_sim < 0).any():
            raise ValueError("label_sim must be non-negative")
        weights = label_sim.detach()
    self_index = torch.arange(n, device=features.device) + gathered.offset
    out = contrastive_cross_entropy(
        features, gathered.candidates, weights=weights.to(features.device), self_index=self_index,
        temperature=temperature, chunk_size=chunk_size,
    )
    return out if return_output else out.loss
