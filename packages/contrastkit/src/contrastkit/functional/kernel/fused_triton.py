"""Triton kernels of the fused contrastive cross-entropy (the math and the dispatch: ``fused.py``).

A logit tile is recomputed wherever it is needed and never stored::

    s_ik = <a_i, c_k>                      (BLOCK_R, BLOCK_C) tile, float32 accumulation
    z_ik = s_ik * scale_i                  scale = 1 / t, one per anchor
    V    = valid pairs: inside the matrix, k != self(i), and (decoupled) not a positive
    Y_ik = positive: k == pos(i) (index form) or label(i) == label(k) (label form), within V's
           first two conditions

Two kernels, each launched in either orientation (``TRANSPOSED``: rows are the candidates
``[C; E]`` and columns the anchors, for the column log-sum-exp of the symmetric loss and for
``dL/dC``):

* :func:`lse_kernel`, per row: the online (FlashAttention) log-sum-exp of ``z`` over ``V``,
  ``num = sum Y z`` and ``cnt = sum Y``. Only these three ``(rows,)`` vectors are written.
* :func:`grad_kernel`, per row: ``G = f_a exp(z - lse_a) [+ f_c exp(z - lse_c)] - Y (y_a + y_c)``
  (``dL/dz``; anchor-side and candidate-side vectors broadcast over the tile) and
  ``dR_row = sum_col (G * scale_a) K_col``; not transposed it also gives
  ``dL/dscale_i = sum_k G_ik s_ik``. Rows own their output, so no atomics are needed.

Only ``tl`` APIs stable since Triton 3.0 are used (``tl.dot(input_precision=...)``,
``tl.trans``, masked loads, ``range`` loops), so the kernels build on Triton 3.6 and 3.8.
"""

from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def _dot(x, y, PREC: tl.constexpr, BF16: tl.constexpr):
    """``x @ y`` with float32 accumulation. ``BF16``: 0 float32 operands (``PREC``); 1 bfloat16
    operands (tensor cores); 2 the same rounding, then an exact float32 product (the value of 1,
    for Triton's interpreter, whose bfloat16 ``tl.dot`` multiplies the raw bits)."""
    if BF16 == 1:
        out = tl.dot(x.to(tl.bfloat16), y.to(tl.bfloat16), out_dtype=tl.float32)
    elif BF16 == 2:
        out = tl.dot(x.to(tl.bfloat16).to(tl.float32), y.to(tl.bfloat16).to(tl.float32), input_precision="ieee")
    else:
        out = tl.dot(x.to(tl.float32), y.to(tl.float32), input_precision=PREC)
    return out


@triton.jit
def _similarity(r_ptr, k_ptr, rows, cols, n_rows, n_cols, D, stride_r, stride_k,
                BLOCK_R: tl.constexpr, BLOCK_C: tl.constexpr, BLOCK_D: tl.constexpr,
                PREC: tl.constexpr, BF16: tl.constexpr):
    """``s = R[rows] @ K[cols].T`` over ``D`` in steps of ``BLOCK_D`` (zeros outside the matrix)."""
    s = tl.zeros((BLOCK_R, BLOCK_C), dtype=tl.float32)
    r_off = rows.to(tl.int64) * stride_r
    k_off = cols.to(tl.int64) * stride_k
    for d0 in range(0, D, BLOCK_D):
        d = d0 + tl.arange(0, BLOCK_D)
        x = tl.load(r_ptr + r_off[:, None] + d[None, :], mask=(rows < n_rows)[:, None] & (d < D)[None, :], other=0.0)
        y = tl.load(k_ptr + k_off[:, None] + d[None, :], mask=(cols < n_cols)[:, None] & (d < D)[None, :], other=0.0)
        s += _dot(x, tl.trans(y), PREC, BF16)
    return s


@triton.jit
def _tile(r_ptr, k_ptr, rows, cols, n_rows, n_cols, D, stride_r, stride_k,
          scale_ptr, self_ptr, pos_ptr, lab_a_ptr, lab_c_ptr,
          TRANSPOSED: tl.constexpr, HAS_SELF: tl.constexpr, MODE: tl.constexpr, DECOUPLED: tl.constexpr,
          BLOCK_R: tl.constexpr, BLOCK_C: tl.constexpr, BLOCK_D: tl.constexpr,
          PREC: tl.constexpr, BF16: tl.constexpr):
    """One tile: ``s``, the logits ``z``, the same with invalid pairs at ``-inf`` (``zm``), the
    positives ``y``, the anchors' scale, and the anchor / candidate indices as broadcastable
    ``(R, 1)`` / ``(1, C)`` columns with their in-range masks. ``MODE``: 0 none, 1 index, 2 labels."""
    s = _similarity(r_ptr, k_ptr, rows, cols, n_rows, n_cols, D, stride_r, stride_k,
                    BLOCK_R, BLOCK_C, BLOCK_D, PREC, BF16)
    if TRANSPOSED:
        ai = cols[None, :]
        ci = rows[:, None]
        a_in = ai < n_cols
        c_in = ci < n_rows
    else:
        ai = rows[:, None]
        ci = cols[None, :]
        a_in = ai < n_rows
        c_in = ci < n_cols
    valid = a_in & c_in
    sc = tl.load(scale_ptr + ai, mask=a_in, other=1.0)
    z = s * sc
    if HAS_SELF:
        valid = valid & (ci != tl.load(self_ptr + ai, mask=a_in, other=-1))
    if MODE == 1:
        y = valid & (ci == tl.load(pos_ptr + ai, mask=a_in, other=-1))
    elif MODE == 2:
        la = tl.load(lab_a_ptr + ai, mask=a_in, other=-1)
        lc = tl.load(lab_c_ptr + ci, mask=c_in, other=-1)
        y = valid & (la == lc) & (la >= 0)
    else:
        y = valid & (ai < 0)
    if DECOUPLED:
        valid = valid & (y == 0)
    zm = tl.where(valid, z, float("-inf"))
    return s, z, zm, y, sc, ai, ci, a_in, c_in


@triton.jit
def lse_kernel(r_ptr, k_ptr, scale_ptr, self_ptr, pos_ptr, lab_a_ptr, lab_c_ptr,
               lse_ptr, num_ptr, cnt_ptr, n_rows, n_cols, D, stride_r, stride_k,
               TRANSPOSED: tl.constexpr, HAS_SELF: tl.constexpr, MODE: tl.constexpr, DECOUPLED: tl.constexpr,
               BLOCK_R: tl.constexpr, BLOCK_C: tl.constexpr, BLOCK_D: tl.constexpr,
               PREC: tl.constexpr, BF16: tl.constexpr):
    """Per row: ``lse = logsumexp_{col in V} z`` (``-inf`` when no column is valid; NaN or
    ``+inf`` when a logit overflowed), ``num = sum_col Y z`` and ``cnt = sum_col Y``."""
    rows = tl.program_id(0) * BLOCK_R + tl.arange(0, BLOCK_R)
    mx = tl.full((BLOCK_R,), float("-inf"), dtype=tl.float32)
    total = tl.zeros((BLOCK_R,), dtype=tl.float32)
    num = tl.zeros((BLOCK_R,), dtype=tl.float32)
    cnt = tl.zeros((BLOCK_R,), dtype=tl.float32)
    for c0 in range(0, n_cols, BLOCK_C):
        cols = c0 + tl.arange(0, BLOCK_C)
        _, z, zm, y, _, _, _, _, _ = _tile(r_ptr, k_ptr, rows, cols, n_rows, n_cols, D, stride_r, stride_k,
                                           scale_ptr, self_ptr, pos_ptr, lab_a_ptr, lab_c_ptr, TRANSPOSED, HAS_SELF,
                                           MODE, DECOUPLED, BLOCK_R, BLOCK_C, BLOCK_D, PREC, BF16)
        new_mx = tl.maximum(mx, tl.max(zm, axis=1))
        shift = tl.where(new_mx == float("-inf"), 0.0, new_mx)  # all-invalid so far: nothing to shift
        total = total * tl.exp(mx - shift) + tl.sum(tl.exp(zm - shift[:, None]), axis=1)
        mx = new_mx
        num += tl.sum(tl.where(y, z, 0.0), axis=1)
        cnt += tl.sum(y.to(tl.float32), axis=1)
    # not tl.where(total > 0, ...): a NaN total must reach the caller's overflow check
    lse = tl.where(mx == float("-inf"), float("-inf"), mx + tl.log(total))
    ok = rows < n_rows
    tl.store(lse_ptr + rows, lse, mask=ok)
    tl.store(num_ptr + rows, num, mask=ok)
    tl.store(cnt_ptr + rows, cnt, mask=ok)


@triton.jit
def grad_kernel(r_ptr, k_ptr, scale_ptr, self_ptr, pos_ptr, lab_a_ptr, lab_c_ptr,
                lse_a_ptr, f_a_ptr, y_a_ptr, lse_c_ptr, f_c_ptr, y_c_ptr, out_ptr, dscale_ptr,
                n_rows, n_cols, D, stride_r, stride_k, stride_o,
                TRANSPOSED: tl.constexpr, HAS_SELF: tl.constexpr, MODE: tl.constexpr, DECOUPLED: tl.constexpr,
                SYMMETRIC: tl.constexpr, DSCALE: tl.constexpr, SINGLE_D: tl.constexpr,
                BLOCK_R: tl.constexpr, BLOCK_C: tl.constexpr, BLOCK_D: tl.constexpr,
                PREC: tl.constexpr, BF16: tl.constexpr):
    """Per row: ``out_row = sum_col G * scale_a * K_col`` and (``DSCALE``) ``sum_col G s``.

    ``lse_*`` must be finite (``-inf`` replaced by 0; those rows have ``f = 0`` and no valid
    column). ``SINGLE_D`` (``D <= BLOCK_D``) keeps the ``(BLOCK_R, D)`` sum in registers;
    otherwise each column tile adds its part to ``out`` (zero-filled, float32) in global memory:
    the row block is this program's alone.
    """
    rows = tl.program_id(0) * BLOCK_R + tl.arange(0, BLOCK_R)
    r_ok = rows < n_rows
    o_off = rows.to(tl.int64) * stride_o
    k_ptr_d = tl.arange(0, BLOCK_D)
    acc = tl.zeros((BLOCK_R, BLOCK_D), dtype=tl.float32)
    ds = tl.zeros((BLOCK_R,), dtype=tl.float32)
    for c0 in range(0, n_cols, BLOCK_C):
        cols = c0 + tl.arange(0, BLOCK_C)
        s, _, zm, y, sc, ai, ci, a_in, c_in = _tile(r_ptr, k_ptr, rows, cols, n_rows, n_cols, D, stride_r,
                                                    stride_k, scale_ptr, self_ptr, pos_ptr, lab_a_ptr, lab_c_ptr,
                                                    TRANSPOSED, HAS_SELF, MODE, DECOUPLED, BLOCK_R, BLOCK_C,
                                                    BLOCK_D, PREC, BF16)
        coef = tl.load(y_a_ptr + ai, mask=a_in, other=0.0)
        g = tl.load(f_a_ptr + ai, mask=a_in, other=0.0) * tl.exp(zm - tl.load(lse_a_ptr + ai, mask=a_in, other=0.0))
        if SYMMETRIC:
            coef = coef + tl.load(y_c_ptr + ci, mask=c_in, other=0.0)
            g += tl.load(f_c_ptr + ci, mask=c_in, other=0.0) * tl.exp(zm - tl.load(lse_c_ptr + ci, mask=c_in, other=0.0))
        g = g - tl.where(y, coef, 0.0)
        if DSCALE:
            ds += tl.sum(g * s, axis=1)
        g = g * sc
        k_off = cols.to(tl.int64) * stride_k
        if SINGLE_D:
            kt = tl.load(k_ptr + k_off[:, None] + k_ptr_d[None, :],
                         mask=(cols < n_cols)[:, None] & (k_ptr_d < D)[None, :], other=0.0)
            acc += _dot(g, kt, PREC, BF16)
        else:
            for d0 in range(0, D, BLOCK_D):
                d = d0 + k_ptr_d
                kt = tl.load(k_ptr + k_off[:, None] + d[None, :], mask=(cols < n_cols)[:, None] & (d < D)[None, :],
                             other=0.0)
                o_ptrs = out_ptr + o_off[:, None] + d[None, :]
                o_mask = r_ok[:, None] & (d < D)[None, :]
                part = _dot(g, kt, PREC, BF16)
                tl.store(o_ptrs, tl.load(o_ptrs, mask=o_mask, other=0.0) + part, mask=o_mask)
    if SINGLE_D:
        tl.store(out_ptr + o_off[:, None] + k_ptr_d[None, :], acc, mask=r_ok[:, None] & (k_ptr_d < D)[None, :])
    if DSCALE:
        tl.store(dscale_ptr + rows, ds, mask=r_ok)
