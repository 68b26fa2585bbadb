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
"""

from __future__ import annotations

import torch
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


def irm_penalty(risk_even: Tensor, risk_odd: Tensor, scale: Tensor, *, unbiased: bool = True) -> Tensor:
    """IRMv1 penalty of one environment; ``scale`` is the dummy scalar the prediction was multiplied by.

    ``unbiased``: ``g_even * g_odd``; else ``(g_even + g_odd)^2`` (the gradient of the whole risk).
    Both keep the graph (``create_graph``), so the penalty can be minimized.
    """
    if unbiased:
        g1 = torch.autograd.grad(risk_even, [scale], create_graph=True)[0]
        g2 = torch.autograd.grad(risk_odd, [scale], create_graph=True)[0]
        return g1 * g2
    g = torch.autograd.grad(risk_even + risk_odd, [scale], create_graph=True)[0]
    return (g**2).sum()


def vrex_penalty(env_risks: Tensor) -> Tensor:
    """``Var_e(R_e)`` over ``(E,)`` environment risks (unbiased, E >= 2)."""
    if env_risks.dim() != 1 or env_risks.numel() < 2:
        raise ValueError(f"v-REx needs a (E,) vector of at least two environment risks; got {tuple(env_risks.shape)}")
    return env_risks.var()
