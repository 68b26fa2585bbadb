"""COMET's four contrastive levels, each through the core kernel (Wang et al., NeurIPS 2023, Sec. 3):
:func:`contrastkit.functional.contrastive_cross_entropy` for the trial and patient levels, its
grouped form :func:`contrastkit.functional.grouped_contrastive_cross_entropy` for the sample and
observation levels (one call for all timestamps / all samples).

All take two views ``z1, z2`` of per-timestamp representations ``(B, T, D)``.

* Observation (:func:`observation_loss`): inside one sample, timestamp ``t`` of view 1 and
  timestamp ``t`` of view 2 are positives; the other ``2T - 2`` timestamps of the same sample are
  negatives. Raw dot products, temperature 1 (TS2Vec's temporal loss). Mean over samples,
  timestamps and both views.
* Sample (:func:`sample_loss`): at each timestamp, sample ``i`` in view 1 and in view 2 are
  positives, the other ``2B - 2`` samples negatives (TS2Vec's instance loss).
* Both are hierarchical (:func:`hierarchical`): computed on the representation, then again after
  max-pooling time by 2, while ``T > 1``, and averaged over the ``d`` levels.
* Trial and patient (:func:`id_loss`): the representation is normalized over time per channel,
  flattened to ``(B, T*D)`` and compared by cosine similarity with temperature 0.1; positives are
  pairs of *other* samples with the same trial (patient) id. With ``pairing="official"`` the
  pairs are exactly those of the official code: ``(view1_i, view2_j)`` with ``i < j`` (anchors in
  view 1) and ``(view2_c, view1_r)`` with ``r > c`` (anchors in view 2); each term is a mean over
  its pairs and the two terms are averaged. ``pairing="all"`` uses every other same-id sample,
  both directions, per-anchor mean (SupCon ``L_out`` across views, self-pair in the denominator).

The official code builds the id pairs with numpy string operations every step; here the positives
are a ``(B, B)`` mask from the ids on the device, and the official mean over *pairs* is obtained
from the kernel's per-anchor mean with a few kernel calls over the bits of the anchors' positive
counts (see :func:`_pair_mean`; no pair loops).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
import torch.nn.functional as F
from contrastkit.functional import contrastive_cross_entropy, grouped_contrastive_cross_entropy
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


def hierarchical(loss_fn: Callable[[Tensor, Tensor], Tensor], z1: Tensor, z2: Tensor) -> Tensor:
    """Mean of ``loss_fn`` over the time scales ``T, T//2, ...`` (max-pool by 2) while ``T > 1``."""
    return hierarchical_levels({"loss": loss_fn}, z1, z2)["loss"]


def flatten_for_id(z: Tensor) -> Tensor:
    """``(B, T, D)`` -> ``(B, T*D)``: L2-normalize over time per channel (as the official code's
    ``normalize(z, dim=1)``), flatten, then L2-normalize the flat vector (its cosine)."""
    return F.normalize(F.normalize(z, dim=1).reshape(z.shape[0], -1), dim=1)


def _pair_mean(sim: Tensor, w: Tensor, temperature: float) -> Tensor:
    """``(1/P) sum_{i,j} w_ij [lse_k(s_ik/t) - s_ij/t]`` over the rows of ``sim`` ``(B, B)``, ``P = sum w``.

    The similarities enter the kernel as anchors against identity candidates (``z = sim @ I``), so
    the ``(B, T*D)`` flattened vectors take part in one matrix product only. The kernel gives each
    kept anchor ``lse_i - (1/n_i) sum_j w_ij z_ij`` (``n_i`` its positives) and the pair sum needs
    ``n_i`` times that: with ``n_i = sum_b 2^b bit_b(n_i)``, call ``b`` keeps the anchors whose ``n_i``
    has bit ``b`` (the others get no positive and are dropped) and is scaled by ``2^b``.
    """
    counts = w.sum(1).round().long()
    eye = torch.eye(sim.shape[1], dtype=sim.dtype, device=sim.device)
    total = sim.new_zeros(())
    for b in range(int(counts.max()).bit_length()):
        bit = ((counts >> b) & 1).to(w.dtype)
        if bit.sum() == 0:
            continue
        out = contrastive_cross_entropy(sim, eye, weights=w * bit[:, None], temperature=temperature, reduction="sum")
        total = total + (2 ** b) * out.loss
    return total / counts.sum().clamp_min(1)


def id_similarity(z1: Tensor, z2: Tensor) -> Tensor:
    """``(B, B)`` cosine similarities of the flattened representations, rows view 1, columns view 2
    (computed once per view pair and shared by the trial and patient levels)."""
    return flatten_for_id(z1) @ flatten_for_id(z2).T


def id_loss_from_similarity(sim: Tensor, ids: Tensor, temperature: float = 0.1,
                            pairing: Literal["official", "all"] = "official") -> Tensor:
    """:func:`id_loss` from precomputed :func:`id_similarity` ``(B, B)``."""
    if ids.shape != (sim.shape[0],):
        raise ValueError(f"ids must be (B,)=({sim.shape[0]},); got {tuple(ids.shape)}")
    same = ids[:, None] == ids[None, :]
    if pairing == "all":
        w = (same & ~torch.eye(len(ids), dtype=torch.bool, device=ids.device)).to(sim.dtype)
        if w.sum() == 0:
            return sim.new_zeros(())
        eye = torch.eye(len(ids), dtype=sim.dtype, device=sim.device)
        return (contrastive_cross_entropy(sim, eye, weights=w, temperature=temperature).loss
                + contrastive_cross_entropy(sim.T, eye, weights=w, temperature=temperature).loss) / 2
    if pairing != "official":
        raise ValueError(f"pairing must be 'official' or 'all'; got {pairing!r}")
    w = torch.triu(same, diagonal=1).to(sim.dtype)
    if w.sum() == 0:
        return sim.new_zeros(())
    # view-1 anchors i with positives j > i (rows of sim); view-2 anchors c with positives r > c
    # (columns of sim): the same upper-triangular mask on sim.T
    return (_pair_mean(sim, w, temperature) + _pair_mean(sim.T, w, temperature)) / 2


def id_loss(z1: Tensor, z2: Tensor, ids: Tensor, temperature: float = 0.1,
            pairing: Literal["official", "all"] = "official") -> Tensor:
    """Trial- or patient-level contrast; ``z`` ``(B, T, D)``, ``ids`` ``(B,)`` -> scalar.

    Returns 0 when no two samples of the batch share an id (the official code divides by zero).
    """
    if ids.shape != (z1.shape[0],):
        raise ValueError(f"ids must be (B,)=({z1.shape[0]},); got {tuple(ids.shape)}")
    return id_loss_from_similarity(id_similarity(z1, z2), ids, temperature, pairing)
