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

Across processes (``distributed=True`` under DDP) anchors stay local; candidates and their ids
come from every rank, so that a step on ``W`` ranks of ``B`` samples is the step of one process
holding the global batch of ``W * B`` (rank-major order):

* Sample level: cross-sample. Both views ``(B, T, D)`` are gathered once, with gradients, and
  pooled alongside the local ones; each local sample contrasts with the ``2WB - 2`` others.
* Observation level: purely local (an anchor's candidates are the timestamps of its own sample):
  no gather. Its mean over the local samples is exact under DDP's gradient average (every rank
  holds ``B`` samples).
* Trial and patient levels: the flattened views ``(B, T*D)`` and the ids are gathered
  (:func:`contrastkit.distributed.gather_labels`); ``i < j`` is the order of the global batch.
  Each rank's sum is divided by the *global* number of pairs (``official``) or of anchors with a
  positive (``all``) and multiplied by ``W``, so that DDP's average over ranks is the full-batch
  mean even when the ranks hold different numbers of pairs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, NamedTuple

import torch
import torch.nn.functional as F
from contrastkit.distributed import gather_candidates, gather_labels, world
from contrastkit.functional import grouped_contrastive_cross_entropy
from torch import Tensor


class Candidates(NamedTuple):
    """Both views of every rank's samples ``(W*B, T, D)`` and where this rank's rows start."""

    z1: Tensor
    z2: Tensor
    offset: int


def sample_loss(z1: Tensor, z2: Tensor, candidates: Candidates | None = None) -> Tensor:
    """Instance contrast at every timestamp; ``(B, T, D)`` x2 -> scalar (0 when the batch has one sample).

    Groups are the ``T`` timestamps. Anchors are the ``2B`` local rows ``[z1; z2]``; candidates
    ``[c1; c2]`` are ``candidates`` (all ranks, ``M = W*B`` samples) or the local rows. Anchor
    ``i`` of view 1 has positive ``M + offset + i`` and self ``offset + i`` (and symmetrically), raw
    dot products, temperature 1 (NT-Xent). The mean over groups equals the official mean over
    timestamps of per-timestamp means (every group has ``2B`` kept anchors)."""
    c1, c2, offset = candidates if candidates is not None else (z1, z2, 0)
    b, m = z1.shape[0], c1.shape[0]
    if m == 1:
        return z1.new_zeros(())
    anchors = torch.cat([z1, z2]).transpose(0, 1)  # (T, 2B, D)
    if candidates is None:
        cands = anchors  # one tensor in both roles: one summed gradient in the kernel
    else:
        cands = torch.cat([c1, c2]).transpose(0, 1)  # (T, 2M, D)
    own = offset + torch.arange(b, device=z1.device)
    self_index = torch.cat([own, own + m])
    positive_index = torch.cat([own + m, own])
    return grouped_contrastive_cross_entropy(anchors, cands, positive_index=positive_index, self_index=self_index,
                                             temperature=1.0).loss


def observation_loss(z1: Tensor, z2: Tensor, candidates: Candidates | None = None) -> Tensor:
    """Timestamp contrast inside every sample; ``(B, T, D)`` x2 -> scalar (0 when T == 1).
    Groups are the ``B`` samples, each ``(2T, D)``. Purely local: ``candidates`` is not used
    (no sample of another rank is a candidate)."""
    if z1.shape[1] == 1:
        return z1.new_zeros(())
    z = torch.cat([z1, z2], dim=1)
    n2 = z.shape[1]
    idx = torch.arange(n2, device=z.device)
    return grouped_contrastive_cross_entropy(z, z, positive_index=(idx + n2 // 2) % n2, self_index=idx,
                                             temperature=1.0).loss


LOCAL_LEVELS = frozenset({observation_loss})  # levels with no cross-sample candidates: never gathered

LevelFn = Callable[[Tensor, Tensor, Candidates | None], Tensor]


def _pool(z: Tensor) -> Tensor:
    return F.max_pool1d(z.transpose(1, 2), kernel_size=2).transpose(1, 2)


def hierarchical_levels(loss_fns: dict[str, LevelFn], z1: Tensor, z2: Tensor,
                        distributed: bool = False) -> dict[str, Tensor]:
    """Each ``loss_fn`` averaged over the time scales ``T, T//2, ...`` (max-pool by 2) while ``T > 1``.

    The pooling pyramid is built once and shared by all the losses (the sample and observation
    levels use the same views). ``distributed``: both views are gathered from every rank once
    (with gradients; only when a level outside :data:`LOCAL_LEVELS` asks for candidates) and
    pooled alongside; pooling is per sample, so the gathered pyramid is the global batch's."""
    totals = {k: z1.new_zeros(()) for k in loss_fns}
    cands = None
    if distributed and world()[1] > 1 and any(fn not in LOCAL_LEVELS for fn in loss_fns.values()):
        g1, g2 = gather_candidates(z1), gather_candidates(z2)
        cands = Candidates(g1.candidates, g2.candidates, g1.offset)
    depth = 0
    while z1.shape[1] > 1:
        for k, fn in loss_fns.items():
            totals[k] = totals[k] + fn(z1, z2, cands)
        depth += 1
        z1, z2 = _pool(z1), _pool(z2)
        if cands is not None:
            cands = Candidates(_pool(cands.z1), _pool(cands.z2), cands.offset)
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


def _pair_mean(sim: Tensor, w: Tensor, temperature: float, n_pairs: Tensor) -> Tensor:
    """``-(1/P) sum_ij w_ij log_softmax(sim / t)_ij`` over the positive pairs ``(i, j)``
    (``w_ij = 1``); ``sim`` ``(B, M)``, ``P = n_pairs`` (the global count under DDP, scaled)."""
    return -(w * _log_softmax(sim, temperature)).sum() / n_pairs


def _anchor_mean(sim: Tensor, w: Tensor, temperature: float, n_anchors: Tensor) -> Tensor:
    """Per-anchor mean over its positives, summed over the anchors that have one, divided by
    ``n_anchors`` (their global count under DDP, scaled): SupCon L_out."""
    per_pair = -(w * _log_softmax(sim, temperature))
    n = w.sum(1)
    kept = n > 0
    return (per_pair.sum(1)[kept] / n[kept]).sum() / n_anchors


class IdSimilarity(NamedTuple):
    """Cosine similarities of the flattened views: ``rows`` ``(B, M)`` local view-1 anchors against
    view-2 candidates, ``cols`` ``(B, M)`` local view-2 anchors against view-1 candidates
    (``M = B`` and ``cols = rows.T`` in one process); ``offset``: this rank's first global row."""

    rows: Tensor
    cols: Tensor
    offset: int = 0


def id_similarity(z1: Tensor, z2: Tensor, distributed: bool = False) -> IdSimilarity:
    """:class:`IdSimilarity` of two views ``(B, T, D)`` (computed once per view pair and shared by
    the trial and patient levels). ``distributed``: the flattened views ``(B, T*D)`` are gathered
    from every rank with gradients."""
    f1, f2 = flatten_for_id(z1), flatten_for_id(z2)
    if not distributed or world()[1] == 1:
        sim = f1 @ f2.T
        return IdSimilarity(sim, sim.T, 0)
    g1, g2 = gather_candidates(f1), gather_candidates(f2)
    return IdSimilarity(f1 @ g2.candidates.T, f2 @ g1.candidates.T, g1.offset)


def id_loss_from_similarity(sim: IdSimilarity | Tensor, ids: Tensor, temperature: float = 0.1,
                            pairing: Literal["official", "all"] = "official") -> Tensor:
    """Trial- or patient-level contrast from :func:`id_similarity` (or a ``(B, B)`` matrix, rows
    view 1) and this rank's ids ``(B,)``; when ``sim`` holds gathered candidates (``M > B``), the
    ids are gathered alongside.

    ``official``: ``(L_12 + L_21) / 2`` with ``L_12 = -(1/P) sum_{i<j, id_i=id_j} log softmax_k(s_ik/t)_j``
    (anchors in view 1, rows) and ``L_21`` the same with anchors in view 2 (columns of the one-process matrix).
    ``all``: every other same-id sample, per-anchor mean, both directions. Returns 0 when no two
    samples share an id (the official code divides by zero); NaN/inf similarities raise.
    """
    if isinstance(sim, Tensor):
        sim = IdSimilarity(sim, sim.T, 0)
    b, m = sim.rows.shape
    if ids.shape != (b,):
        raise ValueError(f"ids must be (B,)=({b},); got {tuple(ids.shape)}")
    all_ids = gather_labels(ids) if m != b else ids
    scale = m // b  # the world size W: DDP averages the ranks' terms
    same_all = all_ids[:, None] == all_ids[None, :]  # (M, M): the global pairs, known on every rank
    same = same_all[sim.offset:sim.offset + b]  # (B, M): this rank's anchors
    cols = torch.arange(m, device=ids.device)
    rows = sim.offset + torch.arange(b, device=ids.device)[:, None]
    if pairing == "all":
        others = same_all & ~torch.eye(m, dtype=torch.bool, device=ids.device)
        n_anchors = others.any(1).sum()
        if n_anchors == 0:
            return sim.rows.new_zeros(())
        w = (same & (cols[None, :] != rows)).to(sim.rows.dtype)
        n = n_anchors.to(sim.rows.dtype) / scale
        return (_anchor_mean(sim.rows, w, temperature, n) + _anchor_mean(sim.cols, w, temperature, n)) / 2
    if pairing != "official":
        raise ValueError(f"pairing must be 'official' or 'all'; got {pairing!r}")
    n_pairs = torch.triu(same_all, diagonal=1).sum()
    if n_pairs == 0:
        return sim.rows.new_zeros(())
    # view-1 anchors i with positives j > i; view-2 anchors c with positives r > c: the same mask
    w = (same & (cols[None, :] > rows)).to(sim.rows.dtype)
    p = n_pairs.to(sim.rows.dtype) / scale
    return (_pair_mean(sim.rows, w, temperature, p) + _pair_mean(sim.cols, w, temperature, p)) / 2
