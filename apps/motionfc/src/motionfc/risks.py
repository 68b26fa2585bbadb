"""Risks across environments: the scene-wise L2 risk, IRMv1 and v-REx.

* Scene risk (Social-GAN / STGAT / causalmotion): for scene ``s`` with ``n_s`` agents,
  ``r_s = sum_{i in s} sum_t ||p_it - g_it||^2 / (T n_s)``, on displacements; an environment's
  risk is the sum over its scenes, split into alternate scenes ``R_e = R_e^even + R_e^odd``.
* IRMv1 (Arjovsky et al., "Invariant Risk Minimization", 2019, eq. 5): the squared gradient of
  the risk with respect to a dummy scale ``w = 1`` of the prediction,
  ``||d R_e(w * f) / dw||^2``; the unbiased mini-batch estimate (their Sec. 3.2) multiplies the
  gradients of two disjoint halves, ``d R_e^even/dw * d R_e^odd/dw``.
* v-REx (Krueger et al., "Out-of-Distribution Generalization via Risk Extrapolation", ICML
  2021): ``beta * Var_e(R_e)`` (unbiased sample variance over the training environments).

Under DDP each rank holds part of every environment's batch. The risks are sums over scenes and
the IRMv1 gradients are sums over scenes too, so :func:`combined_risks` adds each rank's
``(R_e^even, R_e^odd, dR_e^even/dw, dR_e^odd/dw)`` over the ranks (an all-reduce with
gradients, :func:`sum_across_ranks`) before the penalties are formed: IRMv1 and v-REx are then
those of the global batch (not an average of per-rank penalties, which would differ: a product
of sums is not a sum of products), and every rank computes the same loss. The even / odd halves
are the union of each rank's local halves: still two disjoint halves of the global batch, so
the unbiased estimate stays unbiased (and equals the one-process split exactly when each rank
holds an even number of consecutive scenes).
"""

from __future__ import annotations

import torch
from contrastkit.distributed import gather_candidates
from torch import Tensor


def scene_risks(pred_rel: Tensor, fut_rel: Tensor, seq_start_end: Tensor) -> Tensor:
    """``(S,)`` per-scene L2 risk ``r_s``; ``pred_rel`` and ``fut_rel`` are ``(N, T, 2)``."""
    if pred_rel.shape != fut_rel.shape:
        raise ValueError(f"pred_rel {tuple(pred_rel.shape)} and fut_rel {tuple(fut_rel.shape)} differ")
    per_ped = ((pred_rel - fut_rel) ** 2).sum(dim=(1, 2))
    scene_of = torch.repeat_interleave(torch.arange(len(seq_start_end), device=per_ped.device),
                                       seq_start_end[:, 1] - seq_start_end[:, 0])
    sums = torch.zeros(len(seq_start_end), dtype=per_ped.dtype, device=per_ped.device).index_add(0, scene_of, per_ped)
    n = (seq_start_end[:, 1] - seq_start_end[:, 0]).to(per_ped.dtype)
    return sums / (pred_rel.shape[1] * n)


def even_odd_risks(pred_rel: Tensor, fut_rel: Tensor, seq_start_end: Tensor) -> tuple[Tensor, Tensor]:
    """``(R^even, R^odd)``: sums of the scene risks of scenes 0, 2, 4, ... and 1, 3, 5, ..."""
    r = scene_risks(pred_rel, fut_rel, seq_start_end)
    return r[0::2].sum(), r[1::2].sum()


def risk_gradients(risk_even: Tensor, risk_odd: Tensor, scale: Tensor) -> tuple[Tensor, Tensor]:
    """``(dR^even/dw, dR^odd/dw)`` with the graph kept (``create_graph``), so a penalty built from
    them can be minimized; ``scale`` is the dummy scalar ``w`` the prediction was multiplied by."""
    g1 = torch.autograd.grad(risk_even, [scale], create_graph=True)[0]
    g2 = torch.autograd.grad(risk_odd, [scale], create_graph=True)[0]
    return g1, g2


def irm_from_gradients(g_even: Tensor, g_odd: Tensor, *, unbiased: bool = True) -> Tensor:
    """IRMv1 penalty from the two halves' gradients: ``g_even * g_odd`` (unbiased) or ``(g_even + g_odd)^2``."""
    return g_even * g_odd if unbiased else (g_even + g_odd) ** 2


def sum_across_ranks(x: Tensor, enabled: bool) -> Tensor:
    """``sum_k x_k`` over the ranks, with gradients (``x`` of the same shape on every rank).

    Built on :func:`contrastkit.distributed.gather_candidates` (an all-gather whose backward is a
    reduce-scatter): the backward sends each rank the sum over ranks of the upstream gradients,
    ``W * dL/dsum`` when every rank computes the same loss ``L``, which DDP's averaging divides by
    ``W`` again, so the step is that of the global batch. Returns ``x`` when ``enabled`` is False
    or there is one process.
    """
    return gather_candidates(x.unsqueeze(0), enabled=enabled).candidates.sum(0)


def environment_terms(pred_rel: Tensor, target_rel: Tensor, seq_start_end: Tensor, *, irm: bool) -> Tensor:
    """``(4,)`` = ``(R^even, R^odd, dR^even/dw, dR^odd/dw)`` of one environment's local batch,
    the prediction multiplied by a dummy scale ``w = 1`` (IRMv1); the gradients are zero when
    ``irm`` is False."""
    if not irm:
        r_even, r_odd = even_odd_risks(pred_rel, target_rel, seq_start_end)
        return torch.stack([r_even, r_odd, torch.zeros_like(r_even), torch.zeros_like(r_odd)])
    scale = torch.ones((), dtype=pred_rel.dtype, device=pred_rel.device, requires_grad=True)
    r_even, r_odd = even_odd_risks(pred_rel * scale, target_rel, seq_start_end)
    return torch.stack([r_even, r_odd, *risk_gradients(r_even, r_odd, scale)])


def combined_risks(terms: Tensor, *, lambda_irm: float, unbiased: bool, distributed: bool) -> Tensor:
    """``(E,)`` risks ``R_e + lambda_irm * IRMv1_e`` of the global batch from ``(E, 4)`` local
    :func:`environment_terms` (summed over ranks first when ``distributed``)."""
    terms = sum_across_ranks(terms, distributed)
    risks = terms[:, 0] + terms[:, 1]
    if lambda_irm:
        risks = risks + lambda_irm * irm_from_gradients(terms[:, 2], terms[:, 3], unbiased=unbiased)
    return risks


def irm_penalty(risk_even: Tensor, risk_odd: Tensor, scale: Tensor, *, unbiased: bool = True) -> Tensor:
    """IRMv1 penalty of one environment; ``scale`` is the dummy scalar the prediction was multiplied by.

    ``unbiased``: ``g_even * g_odd``; else ``(g_even + g_odd)^2`` (the gradient of the whole risk).
    Both keep the graph (``create_graph``), so the penalty can be minimized.
    """
    return irm_from_gradients(*risk_gradients(risk_even, risk_odd, scale), unbiased=unbiased)


def vrex_penalty(env_risks: Tensor) -> Tensor:
    """``Var_e(R_e)`` over ``(E,)`` environment risks (unbiased, E >= 2)."""
    if env_risks.dim() != 1 or env_risks.numel() < 2:
        raise ValueError(f"v-REx needs a (E,) vector of at least two environment risks; got {tuple(env_risks.shape)}")
    return env_risks.var()
