"""The training objectives: next-item losses and MCLRec's contrastive terms.

Contrastive terms go through ContrastKit's kernel (``contrastkit.functional.nt_xent_loss``): the
official MCLRec ``info_nce`` is NT-Xent over the ``2B`` views (positive: the other view of the
same sequence; negatives: the other ``2B - 2`` views; self excluded), dot-product similarity
divided by the temperature (``sim='dot'``), or cosine (``sim='cos'``).

Under DDP (``distributed=True``, W processes holding B sequences each) every contrastive term
gathers both views from all ranks, with gradients: the local ``2B`` views are the anchors, the
``2BW`` global views their candidates, as on one device with a batch of ``BW``. The next-item
losses stay local (per sequence); :func:`global_mean_factor` weights them so that DDP's gradient
average is the gradient of the mean over all ranks' rows.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from contrastkit.distributed import gather_candidates, global_count, world
from contrastkit.functional import nt_xent_loss, two_view_indices
from torch import Tensor


def global_mean_factor(rows: int, like: Tensor, distributed: bool) -> float:
    """``rows * W / sum_r rows_r``: the factor that turns a mean over this rank's ``rows`` into its
    share of the mean over every rank's rows (1.0 on one process or with equal counts); ``like``
    is the loss it multiplies (its device carries the count).

    DDP averages the ranks' gradients; with unequal counts (the shifted form has one target per
    non-padded position) a plain local mean would weight the ranks' rows unequally. The sum is
    :func:`contrastkit.distributed.global_count` (one gather per call).
    """
    _, size = world()
    if not distributed or size == 1:
        return 1.0
    return rows * size / global_count(rows, like, distributed)


def next_item_ce_loss(hidden: Tensor, items: Tensor, targets: Tensor) -> Tensor:
    """Full softmax cross-entropy over all items.

    ``hidden`` (R, D) representations, ``items`` (N, D) the item table for ids ``1..N``,
    ``targets`` (R,) ids in ``1..N``. ``l = logsumexp_j <h, e_j> - <h, e_target>``, mean over R.
    """
    return F.cross_entropy(hidden @ items.T, targets - 1)


def next_item_bce_loss(hidden: Tensor, items: Tensor, targets: Tensor, generator: torch.Generator | None = None) -> Tensor:
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


def view_info_nce_loss(a: Tensor, b: Tensor, temperature: float, sim: str = "dot", distributed: bool = False) -> Tensor:
    """NT-Xent between two batches of views ``(B, D)``: official MCLRec ``info_nce`` + CE
    (``distributed``: both views gathered from all ranks, local views the anchors)."""
    if sim not in ("dot", "cos"):
        raise ValueError(f"sim must be 'dot' or 'cos'; got {sim!r}")
    return nt_xent_loss(a, b, temperature=temperature, normalize=sim == "cos", distributed=distributed)


def meta_pairs(h1: Tensor, h2: Tensor, z1: Tensor, z2: Tensor) -> tuple[tuple[Tensor, Tensor], ...]:
    """The three pairs of MCLRec's ``L_cl2`` and ``R``: ``(h1, z2), (h2, z1), (z1, z2)`` where
    ``h`` are the encoder outputs of the two data-augmented views and ``z = augmenter(h)``."""
    return (h1, z2), (h2, z1), (z1, z2)


def mclrec_cl2_loss(h1: Tensor, h2: Tensor, z1: Tensor, z2: Tensor, distributed: bool = False) -> Tensor:
    """``L_cl2 = l(h1, z2) + l(h2, z1) + l(z1, z2)`` with ``l`` NT-Xent, dot product, temperature 1
    (the official ``meta_contrast``: ``info_nce(..., 1.0, batch_size, "dot")``)."""
    return sum(view_info_nce_loss(a, b, 1.0, "dot", distributed) for a, b in meta_pairs(h1, h2, z1, z2))


def contrastive_regularization_pair_loss(a: Tensor, b: Tensor, temperature: float, distributed: bool = False) -> Tensor:
    """MCLRec's contrastive regularization of one pair of view batches (official ``meta_contrast_rl_1``).

    Over the ``2B`` views ``[a; b]`` with ``s = [a; b] [a; b]^T / t``: each view ``k`` has its
    positive ``p_k = s_{k, k±B}`` and negatives ``n_kj`` (the other ``2B - 2``). With
    ``m_k = max_j n_kj``::

        r = mean_k relu(p_k - min(p_k, m_k)) + mean_{k, j} relu(max(p_k, m_k) - n_kj)

    It penalizes positives that stand above the hardest negative and negatives far below it,
    which keeps the augmenters from producing trivially easy pairs. A margin hinge, not a softmax
    cross-entropy, so it is written here rather than through the kernel. ``distributed``: the
    ``2B`` local views are anchors against the ``2BW`` views gathered from all ranks (both means
    taken over the local anchors, which DDP's gradient average turns into the global means).
    """
    n = a.shape[0]
    ga, gb = gather_candidates(a, distributed), gather_candidates(b, distributed)
    big_n = ga.candidates.shape[0]
    anchors = torch.cat([a, b])
    s = (anchors @ torch.cat([ga.candidates, gb.candidates]).T) / temperature  # (2n, 2N)
    partner, self_index = two_view_indices(n, big_n, ga.offset, a.device)
    rows = torch.arange(2 * n, device=a.device)
    pos = s[rows, partner]
    invalid = torch.zeros_like(s, dtype=torch.bool)
    invalid[rows, self_index] = True
    invalid[rows, partner] = True
    hardest = s.masked_fill(invalid, float("-inf")).amax(1)
    low, high = torch.minimum(pos, hardest), torch.maximum(pos, hardest)
    first = F.relu(pos - low).mean()
    second = F.relu(high[:, None] - s).masked_fill(invalid, 0.0).sum() / (2 * n * (2 * big_n - 2))
    return first + second


def contrastive_regularization_loss(h1: Tensor, h2: Tensor, z1: Tensor, z2: Tensor, temperature: float,
                               distributed: bool = False) -> Tensor:
    """``R`` = sum of :func:`contrastive_regularization_pair_loss` over the three pairs of
    :func:`meta_pairs` (the official ``meta_rl`` returns ``0.1 * R``; the 0.1 is ``lambda_reg`` (γ) here)."""
    return sum(contrastive_regularization_pair_loss(a, b, temperature, distributed) for a, b in meta_pairs(h1, h2, z1, z2))
