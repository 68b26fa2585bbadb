"""The fused kernel's autograd Function: Triton launches (``fused_triton.py``) and the O(N) algebra.

Forward (anchors ``A`` ``(N, D)``, candidates ``K = [C; E]`` ``(M + K, D)``, scale ``1/t`` ``(N,)``)::

    lse_i, num_i, cnt_i = lse_kernel(rows = anchors)          (N,) each, no (N, M) tensor
    l_i   = lse_i - num_i / cnt_i    kept when cnt_i > 0 and lse_i > -inf
    symmetric: lse_k, num_k, cnt_k = lse_kernel(rows = candidates), l_k likewise,
               L = 1/2 (mean_i l_i + mean_k l_k)

Backward (``g`` = dL/dloss, ``f`` = kept * g / count of kept, ``y = f / cnt``)::

    dL/dz_ik = f_i p_ik [+ f_k p^col_ik] - Y_ik (y_i [+ y_k])
    dA, dL/dscale = grad_kernel(rows = anchors)    dC, dE = grad_kernel(rows = candidates)

Two backward kernels rather than one with atomics: each program owns its output rows, so the
gradients are deterministic (no float atomics whose order changes the rounding) and need no
second zero-filled float32 buffer; the price is one more recomputation of ``s`` (four
``N M D`` products in backward against three).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from contrastkit.functional.kernel.validate import check_finite_loss, check_logsumexp


class Plan(NamedTuple):
    """One fused call: positives (index or remapped labels), options, tiles and precision."""

    mode: int  # 1: positive_index, 2: labels
    pos: Tensor | None  # (N,) int32, -1 where the anchor has no positive (or it is its self)
    lab_a: Tensor | None  # (N,) int32 labels remapped to 0..L-1
    lab_c: Tensor | None  # (M + K,) int32, -1 for extra negatives
    self_index: Tensor | None  # (N,) int32, -1 = none
    decoupled: bool
    symmetric: bool
    reduction: str
    blocks: tuple[int, int, int]  # BLOCK_R, BLOCK_C, BLOCK_D
    precision: str  # "ieee", "tf32" or "bf16"
    num_warps: int
    interpret: bool  # Triton's interpreter (tests on the CPU)


def _launch_args(plan: Plan, dummy: Tensor) -> tuple:
    """Pointer arguments shared by both kernels (unused ones get a dummy tensor)."""
    pick = (lambda t: dummy if t is None else t)
    return pick(plan.self_index), pick(plan.pos), pick(plan.lab_a), pick(plan.lab_c)


def _consts(plan: Plan, transposed: bool) -> dict:
    br, bc, bd = plan.blocks
    return {"TRANSPOSED": transposed, "HAS_SELF": plan.self_index is not None, "MODE": plan.mode,
            "DECOUPLED": plan.decoupled, "BLOCK_R": br, "BLOCK_C": bc, "BLOCK_D": bd,
            "PREC": "ieee" if plan.precision == "bf16" else plan.precision,
            "BF16": (2 if plan.interpret else 1) if plan.precision == "bf16" else 0,
            "num_warps": plan.num_warps}


def _lse(plan: Plan, rows: Tensor, cols: Tensor, scale: Tensor, transposed: bool) -> tuple[Tensor, Tensor, Tensor]:
    from contrastkit.functional.kernel.fused_triton import lse_kernel

    n = rows.shape[0]
    out = [torch.empty(n, dtype=torch.float32, device=rows.device) for _ in range(3)]
    grid = (-(-n // plan.blocks[0]),)
    lse_kernel[grid](rows, cols, scale, *_launch_args(plan, scale), *out, n, cols.shape[0], rows.shape[1],
                     rows.stride(0), cols.stride(0), **_consts(plan, transposed))
    return out[0], out[1], out[2]


def _grad(plan: Plan, rows: Tensor, cols: Tensor, scale: Tensor, side_a, side_c, transposed: bool,
          dscale: bool) -> tuple[Tensor, Tensor | None]:
    """``dL/drows`` (float32) and, not transposed, ``dL/dscale``; ``side_*`` = (lse, f, y)."""
    from contrastkit.functional.kernel.fused_triton import grad_kernel

    n, d = rows.shape
    single = d <= plan.blocks[2]
    out = (torch.empty if single else torch.zeros)(n, d, dtype=torch.float32, device=rows.device)
    ds = torch.empty(n if dscale else 1, dtype=torch.float32, device=rows.device)
    lse_c, f_c, y_c = side_c if side_c is not None else side_a
    grid = (-(-n // plan.blocks[0]),)
    grad_kernel[grid](rows, cols, scale, *_launch_args(plan, scale), *side_a, lse_c, f_c, y_c, out, ds,
                      n, cols.shape[0], d, rows.stride(0), cols.stride(0), out.stride(0),
                      SYMMETRIC=side_c is not None, DSCALE=dscale, SINGLE_D=single, **_consts(plan, transposed))
    return out, (ds if dscale else None)


def _losses(lse: Tensor, num: Tensor, cnt: Tensor) -> tuple[Tensor, Tensor]:
    """Per-row losses ``lse - num / cnt`` (0 where dropped) and the kept mask."""
    check_logsumexp(lse)
    kept = (cnt > 0) & (lse > float("-inf"))
    loss = torch.where(kept, lse - num / cnt.clamp_min(1.0), torch.zeros_like(lse))
    return loss, kept


def _factors(kept: Tensor, cnt: Tensor, denom: Tensor, half: float) -> tuple[Tensor, Tensor]:
    """``f = kept * half / denom`` and ``y = f / cnt`` (before the incoming gradient)."""
    f = kept.to(torch.float32) * (half / denom)
    return f, f / cnt.clamp_min(1.0)


def _denom(kept: Tensor, reduction: str) -> Tensor:
    return kept.sum().clamp_min(1).to(torch.float32) if reduction == "mean" else kept.new_ones((), dtype=torch.float32)


class FusedCE(torch.autograd.Function):
    """Forward writes only ``(N,)`` / ``(M + K,)`` vectors; backward recomputes the tiles."""

    @staticmethod
    def forward(ctx, anchors, candidates, extra, scale, plan: Plan):
        a = anchors.contiguous()
        k = candidates.contiguous() if extra is None else torch.cat([candidates, extra.to(candidates.dtype)])
        sc = scale.to(torch.float32).contiguous()
        lse_a, num_a, cnt_a = _lse(plan, a, k, sc, transposed=False)
        row_loss, row_ok = _losses(lse_a, num_a, cnt_a)
        d_r = _denom(row_ok, plan.reduction)
        half = 0.5 if plan.symmetric else 1.0
        f_a, y_a = _factors(row_ok, cnt_a, d_r, half)
        side_c, dropped = None, row_ok.numel() - row_ok.sum()
        if plan.symmetric:
            lse_c, num_c, cnt_c = _lse(plan, k, a, sc, transposed=True)
            col_loss, col_ok = _losses(lse_c, num_c, cnt_c)
            check_finite_loss(torch.cat([row_loss, col_loss]), "per-anchor losses")
            d_c = _denom(col_ok, plan.reduction)
            loss = half * (row_loss.sum() / d_r + col_loss.sum() / d_c)
            side_c = (torch.nan_to_num(lse_c, neginf=0.0), *_factors(col_ok, cnt_c, d_c, half))
            dropped = dropped + col_ok.numel() - col_ok.sum()
        else:
            check_finite_loss(row_loss, "per-anchor losses")
            loss = row_loss.sum() / d_r
        side_a = (torch.nan_to_num(lse_a, neginf=0.0), f_a, y_a)
        if any(ctx.needs_input_grad[:4]):
            ctx.save_for_backward(a, k, sc)
            ctx.sides, ctx.plan = (side_a, side_c), plan
            ctx.meta = (candidates.shape[0], anchors.dtype, candidates.dtype, None if extra is None else extra.dtype)
        ctx.mark_non_differentiable(row_loss)
        return loss.to(torch.float32), row_loss, dropped.cpu()

    @staticmethod
    def backward(ctx, grad_loss, _grad_rows, _grad_dropped):
        a, k, sc = ctx.saved_tensors
        plan, (side_a, side_c) = ctx.plan, ctx.sides
        m, a_t, c_t, e_t = ctx.meta
        g = grad_loss.to(torch.float32)
        side_a = (side_a[0], side_a[1] * g, side_a[2] * g)
        side_c = None if side_c is None else (side_c[0], side_c[1] * g, side_c[2] * g)
        da = dc = de = ds = None
        need_a, need_c, need_e, need_s = ctx.needs_input_grad[:4]
        if need_a or need_s:
            grad_a, ds = _grad(plan, a, k, sc, side_a, side_c, transposed=False, dscale=need_s)
            da = grad_a.to(a_t) if need_a else None
        if need_c or need_e:
            grad_k, _ = _grad(plan, k, a, sc, side_a, side_c, transposed=True, dscale=False)
            dc = grad_k[:m].to(c_t) if need_c else None
            de = grad_k[m:].to(e_t) if need_e else None
        return da, dc, de, ds, None
