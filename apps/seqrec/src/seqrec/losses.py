"""The training objectives: next-item losses and MCLRec's contrastive terms.

Contrastive terms go through ContrastKit's kernel (``contrastkit.functional.nt_xent_loss``): the
official MCLRec ``info_nce`` is NT-Xent over the ``2B`` views (positive: the other view of the
same sequence; negatives: the other ``2B - 2`` views; self excluded), dot-product similarity
divided by the temperature (``sim='dot'``), or cosine (``sim='cos'``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from contrastkit.functional import nt_xent_loss
from torch import Tensor


def next_item_ce(hidden: Tensor, items: Tensor, targets: Tensor) -> Tensor:
    """Full softmax cross-entropy over all items.

    ``hidden`` (R, D) representations, ``items`` (N, D) the item table for ids ``1..N``,
    ``targets`` (R,) ids in ``1..N``. ``l = logsumexp_j <h, e_j> - <h, e_target>``, mean over R.
    """
    return F.cross_entropy(hidden @ items.T, targets - 1)


def next_item_bce(hidden: Tensor, items: Tensor, targets: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """SASRec's sampled binary cross-entropy: one uniform negative per target (redrawn once when
    it equals the target; any remaining collision is counted as a negative, as in SASRec's
    sampler it has probability ~1/N).

    ``l = -log sigmoid(<h, e_pos>) - log sigmoid(-<h, e_neg>)``, mean over R.
    """
    n = items.shape[0]
    neg = torch.randint(1, n + 1, targets.shape, device=targets.device, generator=generator)
    again = torch.randint(1, n + 1, targets.shape, device=targets.device, generator=generator)
    neg = torch.where(neg == targets, again, neg)
    pos_logit = (hidden * items[targets - 1]).sum(-1)
    neg_logit = (hidden * items[neg - 1]).sum(-1)
    return -(F.logsigmoid(pos_logit) + F.logsigmoid(-neg_logit)).mean()


def view_info_nce(a: Tensor, b: Tensor, temperature: float, sim: str = "dot") -> Tensor:
    """NT-Xent between two batches of views ``(B, D)``: official MCLRec ``info_nce`` + CE."""
    if sim not in ("dot", "cos"):
        raise ValueError(f"sim must be 'dot' or 'cos'; got {sim!r}")
    return nt_xent_loss(a, b, temperature=temperature, normalize=sim == "cos")


def meta_pairs(h1: Tensor, h2: Tensor, z1: Tensor, z2: Tensor) -> tuple[tuple[Tensor, Tensor], ...]:
    """The three pairs of MCLRec's ``L_cl2`` and ``R``: ``(h1, z2), (h2, z1), (z1, z2)`` where
    ``h`` are the encoder outputs of the two data-augmented views and ``z = augmenter(h)``."""
    return (h1, z2), (h2, z1), (z1, z2)


def mclrec_cl2(h1: Tensor, h2: Tensor, z1: Tensor, z2: Tensor) -> Tensor:
    """``L_cl2 = l(h1, z2) + l(h2, z1) + l(z1, z2)`` with ``l`` NT-Xent, dot product, temperature 1
    (the official ``meta_contrast``: ``info_nce(..., 1.0, batch_size, "dot")``)."""
    return sum(view_info_nce(a, b, 1.0, "dot") for a, b in meta_pairs(h1, h2, z1, z2))


def contrastive_regularization_pair(a: Tensor, b: Tensor, temperature: float) -> Tensor:
    """MCLRec's contrastive regularization of one pair of view batches (official ``meta_contrast_rl_1``).

    Over the ``2B`` views ``[a; b]`` with ``s = [a; b] [a; b]^T / t``: each view ``k`` has its
    positive ``p_k = s_{k, k±B}`` and negatives ``n_kj`` (the other ``2B - 2``). With
    ``m_k = max_j n_kj``::

        r = mean_k relu(p_k - min(p_k, m_k)) + mean_{k, j} relu(max(p_k, m_k) - n_kj)

    It penalizes positives that stand above the hardest negative and negatives far below it,
    which keeps the augmenters from producing trivially easy pairs. A margin hinge, not a softmax
    cross-entropy, so it is written here rather than through the kernel.
    """
    n = a.shape[0]
    z = torch.cat([a, b])
    s = (z @ z.T) / temperature
    idx = torch.arange(2 * n, device=z.device)
    partner = (idx + n) % (2 * n)
    pos = s[idx, partner]
    invalid = torch.zeros_like(s, dtype=torch.bool)
    invalid[idx, idx] = True
    invalid[idx, partner] = True
    hardest = s.masked_fill(invalid, float("-inf")).amax(1)
    low, high = torch.minimum(pos, hardest), torch.maximum(pos, hardest)
    first = F.relu(pos - low).mean()
    second = F.relu(high[:, None] - s).masked_fill(invalid, 0.0).sum() / (2 * n * (2 * n - 2))
    return first + second


def contrastive_regularization(h1: Tensor, h2: Tensor, z1: Tensor, z2: Tensor, temperature: float) -> Tensor:
    """``R`` = sum of :func:`contrastive_regularization_pair` over the three pairs of
    :func:`meta_pairs` (the official ``meta_rl`` returns ``0.1 * R``; the 0.1 is ``lambda_reg`` (γ) here)."""
    return sum(contrastive_regularization_pair(a, b, temperature) for a, b in meta_pairs(h1, h2, z1, z2))
