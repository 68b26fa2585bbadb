"""COMET's four contrastive levels (Wang et al., NeurIPS 2023, Sec. 3): the sample and observation
levels through the core's grouped kernel
:func:`contrastkit.functional.grouped_contrastive_cross_entropy` (one call for all timestamps /
all samples), the trial and patient levels as a plain masked log-softmax over one ``(B, B)``
similarity matrix.

All take two views ``z1, z2`` of per-timestamp representations ``(B, T, D)``.

* Observation (:func:`observation_loss`): inside one sample, timestamp ``t`` of view 1 and
  timestamp ``t`` of view 2 are positives; the other ``2T - 2`` timestamps of the same sample are
  negatives. Raw dot products, temperature 1 (TS2Vec's temporal loss). Mean over samples,
  timestamps and both views.
* Sample (:func:`sample_loss`): at each timestamp, sample ``i`` in view 1 and in view 2 are
  positives, the other ``2B - 2`` samples negatives (TS2Vec's instance loss).
* Both are hierarchical (:func:`hierarchical_levels`): computed on the representation, then again
  after max-pooling time by 2, while ``T > 1``, and averaged over the ``d`` levels.
* Trial and patient (:func:`id_loss_from_similarity` of :func:`id_similarity`): the representation is normalized over time per channel,
  flattened to ``(B, T*D)`` and compared by cosine similarity with temperature 0.1; positives are
  pairs of *other* samples with the same trial (patient) id. With ``pairing="official"`` the
  pairs are exactly those of the official code: ``(view1_i, view2_j)`` with ``i < j`` (anchors in
  view 1) and ``(view2_c, view1_r)`` with ``r > c`` (anchors in view 2); each term is a mean over
  its pairs and the two terms are averaged. ``pairing="all"`` uses every other same-id sample,
  both directions, per-anchor mean (SupCon ``L_out`` across views, self-pair in the denominator).

The official code builds the id pairs with numpy string operations every step; here the positives
are a ``(B, B)`` mask from the ids on the device, and both pairings are one masked log-softmax
over the similarity matrix (see :func:`_pair_mean`, :func:`_anchor_mean`; no pair loops).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
import torch.nn.functional as F
from contrastkit.functional import grouped_contrastive_cross_entropy
from torch import Tensor


def _two_view_nt_xent(z: Tensor) -> Tensor:
    """Mean NT-Xent of ``G`` independent groups ``z = [view1; view2]`` ``(G, 2n, D)``: in each group
    row ``k``'s positive is row ``k +- n``, the self-pair is excluded, raw dot products,
    temperature 1. One grouped kernel call for all groups."""
    n2 = z.shape[1]
    idx = torch.arange(n2, device=z.device)
    return grouped_contrastive_cross_entropy(z, z, positive_index=(idx + n2 // 2) % n2, self_index=idx,
                                             temperature=1.0).loss


def sample_loss(z1: Tensor, z2: Tensor) -> Tensor:
    """Instance contrast at every timestamp; ``(B, T, D)`` x2 -> scalar (0 when B == 1).

    Groups are the ``T`` timestamps, each ``(2B, D)``; the mean over groups equals the official
    mean over timestamps of per-timestamp means (every group has ``2B`` kept anchors)."""
    if z1.shape[0] == 1:
        return z1.new_zeros(())
    return _two_view_nt_xent(torch.cat([z1, z2]).transpose(0, 1))


def observation_loss(z1: Tensor, z2: Tensor) -> Tensor:
    """Timestamp contrast inside every sample; ``(B, T, D)`` x2 -> scalar (0 when T == 1).
    Groups are the ``B`` samples, each ``(2T, D)``."""
    if z1.shape[1] == 1:
        return z1.new_zeros(())
    return _two_view_nt_xent(torch.cat([z1, z2], dim=1))


def hierarchical_levels(loss_fns: dict[str, Callable[[Tensor, Tensor], Tensor]], z1: Tensor,
                        z2: Tensor) -> dict[str, Tensor]:
    """Each ``loss_fn`` averaged over the time scales ``T, T//2, ...`` (max-pool by 2) while ``T > 1``.

    The pooling pyramid is built once and shared by all the losses (the sample and observation
    levels use the same views)."""
    totals = {k: z1.new_zeros(()) for k in loss_fns}
    depth = 0
    while z1.shape[1] > 1:
        for k, fn in loss_fns.items():
            totals[k] = totals[k] + fn(z1, z2)
        depth += 1
        z1 = F.max_pool1d(z1.transpose(1, 2), kernel_size=2).transpose(1, 2)
        z2 = F.max_pool1d(z2.transpose(1, 2), kernel_size=2).transpose(1, 2)
    return {k: v / max(depth, 1) for k, v in totals.items()}


def flatten_for_id(z: Tensor) -> Tensor:
    """``(B, T, D)`` -> ``(B, T*D)``: L2-normalize over time per channel (as the official code's
    ``normalize(z, dim=1)``), flatten, then L2-normalize the flat vector (its cosine)."""
    return F.normalize(F.normalize(z, dim=1).reshape(z.shape[0], -1), dim=1)


def _log_softmax(sim: Tensor, temperature: float) -> Tensor:
    """Row-wise ``log softmax(sim / t)``, in float32 when ``sim`` is half precision; a
    non-finite similarity raises (a diverged run must not look converged)."""
    if not torch.isfinite(sim).all():
        raise ValueError("id loss: the similarity matrix holds NaN/inf (diverged encoder or NaN input)")
    if sim.dtype in (torch.float16, torch.bfloat16):
        sim = sim.float()
    return torch.log_softmax(sim / temperature, dim=1)


def _pair_mean(sim: Tensor, w: Tensor, temperature: float) -> Tensor:
    """Mean over the positive pairs ``(i, j)`` (``w_ij = 1``) of ``-log softmax_k(s_ik / t)_j``:
    ``-(1/P) sum_ij w_ij log_softmax(sim / t)_ij``, ``P = sum w``; ``sim`` ``(B, B)``."""
    return -(w * _log_softmax(sim, temperature)).sum() / w.sum()


def _anchor_mean(sim: Tensor, w: Tensor, temperature: float) -> Tensor:
    """Per-anchor mean over its positives, then mean over the anchors that have one (SupCon L_out)."""
    per_pair = -(w * _log_softmax(sim, temperature))
    n = w.sum(1)
    kept = n > 0
    return (per_pair.sum(1)[kept] / n[kept]).mean()


def id_similarity(z1: Tensor, z2: Tensor) -> Tensor:
    """``(B, B)`` cosine similarities of the flattened representations, rows view 1, columns view 2
    (computed once per view pair and shared by the trial and patient levels)."""
    return flatten_for_id(z1) @ flatten_for_id(z2).T


def id_loss_from_similarity(sim: Tensor, ids: Tensor, temperature: float = 0.1,
                            pairing: Literal["official", "all"] = "official") -> Tensor:
    """Trial- or patient-level contrast from :func:`id_similarity` ``sim`` ``(B, B)`` and ids ``(B,)``.

    ``official``: ``(L_12 + L_21) / 2`` with ``L_12 = -(1/P) sum_{i<j, id_i=id_j} log softmax_k(s_ik/t)_j``
    (anchors in view 1, rows) and ``L_21`` the same on ``sim.T`` (anchors in view 2, columns).
    ``all``: every other same-id sample, per-anchor mean, both directions. Returns 0 when no two
    samples share an id (the official code divides by zero); NaN/inf similarities raise.
    """
    if ids.shape != (sim.shape[0],):
        raise ValueError(f"ids must be (B,)=({sim.shape[0]},); got {tuple(ids.shape)}")
    same = ids[:, None] == ids[None, :]
    if pairing == "all":
        w = (same & ~torch.eye(len(ids), dtype=torch.bool, device=ids.device)).to(sim.dtype)
        if w.sum() == 0:
            return sim.new_zeros(())
        return (_anchor_mean(sim, w, temperature) + _anchor_mean(sim.T, w, temperature)) / 2
    if pairing != "official":
        raise ValueError(f"pairing must be 'official' or 'all'; got {pairing!r}")
    w = torch.triu(same, diagonal=1).to(sim.dtype)
    if w.sum() == 0:
        return sim.new_zeros(())
    # view-1 anchors i with positives j > i (rows of sim); view-2 anchors c with positives r > c
    # (columns of sim): the same upper-triangular mask on sim.T
    return (_pair_mean(sim, w, temperature) + _pair_mean(sim.T, w, temperature)) / 2
