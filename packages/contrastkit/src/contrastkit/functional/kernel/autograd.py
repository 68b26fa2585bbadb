"""The kernel's autograd Function and its public entry, :func:`contrastive_cross_entropy`.

Because the output is a scalar, the gradient with respect to the logits, ``dl/dz = p - q``, is
known during the forward pass: each chunk's contribution to the input gradients is accumulated
there (``rows.py`` / ``symmetric.py``) and only the ``(N, D)`` / ``(M, D)`` gradients are saved;
backward multiplies them by the incoming scalar. The scale ``1/t`` is folded into the anchors
(``a_s = a * scale``), so ``dL/dscale_i = <dL/da_s_i, a_i>`` costs ``O(N D)``.

Precision: the inputs are cast to float32 (float64 when any input is float64) once per call
and the logits, softmax and gradients are computed in that dtype with autocast disabled, so
float16/bfloat16 inputs (or an autocast region) cannot overflow the logits. The loss is
float32/float64; the input gradients are returned in each input's own dtype.
"""

from __future__ import annotations

import torch
from torch import Tensor

from contrastkit.functional._common import check_index
from contrastkit.functional.kernel.fused import fused_cross_entropy, route
from contrastkit.functional.kernel.grads import Grads
from contrastkit.functional.kernel.output import KernelOutput
from contrastkit.functional.kernel.rows import rows_pass
from contrastkit.functional.kernel.spec import Spec
from contrastkit.functional.kernel.symmetric import symmetric_pass
from contrastkit.functional.kernel.validate import (
    check_embeddings,
    check_reduction,
    check_weights,
    chunk_rows,
    row_scale,
)


class _ContrastiveCE(torch.autograd.Function):
    """Chunked forward that also produces the input gradients; backward only scales them."""

    @staticmethod
    def forward(ctx, anchors, candidates, extra, scale, spec: Spec):
        n = anchors.shape[0]
        dev, acc = anchors.device, spec.acc_dtype
        need_grad = any(ctx.needs_input_grad[:4])
        per_row = torch.zeros(n, dtype=acc, device=dev)
        kept = torch.zeros(n, dtype=torch.bool, device=dev)
        grads = Grads.zeros(anchors, candidates, extra, acc) if need_grad else None
        with torch.autocast(dev.type, enabled=False):  # logits in ``acc``, whatever the input dtype
            a, c = anchors.to(acc), candidates.to(acc)
            e = None if extra is None else extra.to(acc)
            a_s = a * scale[:, None]
            if spec.symmetric:
                loss, dropped = symmetric_pass(spec, a_s, c, grads, per_row, kept)
            else:
                loss, dropped = rows_pass(spec, a_s, c, e, grads, per_row, kept)
            if need_grad:
                grads.finish(a, scale, ctx.needs_input_grad[3])
        if need_grad:
            ctx.save_for_backward(*grads.tensors())
            ctx.dtypes = (anchors.dtype, candidates.dtype, None if extra is None else extra.dtype)
        ctx.mark_non_differentiable(per_row)
        return loss, per_row, torch.tensor(dropped)

    @staticmethod
    def backward(ctx, grad_loss, _grad_rows, _grad_dropped):
        grad_a, grad_c, grad_s, grad_e = ctx.saved_tensors
        da_t, dc_t, de_t = ctx.dtypes
        g = grad_loss.to(grad_a.dtype)
        da = (grad_a * g).to(da_t) if ctx.needs_input_grad[0] else None
        dc = (grad_c * g).to(dc_t) if ctx.needs_input_grad[1] else None
        de = (grad_e * g).to(de_t) if de_t is not None and ctx.needs_input_grad[2] else None
        ds = grad_s * g if ctx.needs_input_grad[3] else None
        return da, dc, de, ds, None


def contrastive_cross_entropy(
    anchors: Tensor,
    candidates: Tensor,
    *,
    positive_index: Tensor | None = None,
    anchor_labels: Tensor | None = None,
    candidate_labels: Tensor | None = None,
    weights: Tensor | None = None,
    temperature: float | Tensor = 0.1,
    self_index: Tensor | None = None,
    extra_negatives: Tensor | None = None,
    positive_in_denominator: bool = True,
    symmetric: bool = False,
    chunk_size: int | None = None,
    reduction: str = "mean",
) -> KernelOutput:
    """Weighted log-softmax cross-entropy of anchors against candidates (see the package docstring).

    Args:
        anchors: ``(N, D)``; used as given (callers normalize).
        candidates: ``(M, D)``.
        positive_index: ``(N,)`` integer, candidate index of each anchor's positive in
            ``[0, M)``, ``-1`` = none.
        anchor_labels, candidate_labels: ``(N,)`` and ``(M,)`` integer labels; equal labels
            are positives.
        weights: ``(N, M)`` non-negative soft positive weights (treated as constants).
        temperature: scalar or ``(N,)`` per-anchor temperature ``t_i`` (a tensor may require
            grad; CLIP passes ``1 / logit_scale``).
        self_index: ``(N,)`` integer, candidate index that is anchor i itself (excluded from
            numerator and denominator), ``-1`` = none.
        extra_negatives: ``(K, D)`` negatives shared by all anchors (a queue) or ``(N, K, D)``
            per-anchor hard negatives.
        positive_in_denominator: False removes the positives from the log-sum-exp (DCL).
        symmetric: also the candidates→anchors direction, returning the mean of both
            (no extra negatives, one scalar temperature).
        chunk_size: anchor rows per chunk; default: as many as keep a chunk within ``2**24``
            logits. Same value and gradient for any chunk size.
        reduction: ``"mean"`` over kept anchors, or ``"sum"``.

    Returns:
        :class:`KernelOutput` ``(loss, per_anchor, num_dropped)``.

    Raises:
        ValueError: naming the argument, for a wrong shape, a NaN or inf in any tensor, an
            index outside ``[-1, M)`` or not an integer, a temperature that is not finite and
            > 0, or logits that overflow float32.
    """
    n_forms = sum(x is not None for x in (positive_index, anchor_labels, weights))
    if n_forms != 1:
        raise ValueError("give positives in exactly one form: positive_index, (anchor_labels, "
                         f"candidate_labels) or weights; got {n_forms}")
    check_embeddings(anchors, candidates, extra_negatives, batch_dims=0)
    n, m = anchors.shape[0], candidates.shape[0]
    dev = anchors.device
    if anchor_labels is not None and (
        candidate_labels is None or anchor_labels.shape != (n,) or candidate_labels.shape != (m,)
    ):
        raise ValueError("anchor_labels must be (N,) and candidate_labels (M,)")
    if positive_index is not None:
        positive_index = check_index("positive_index", positive_index, ((n,),), m).to(dev)
    if weights is not None:
        weights = check_weights(weights, n, m)
    if self_index is not None:
        self_index = check_index("self_index", self_index, ((n,),), m).to(dev)
    per_anchor_hn = extra_negatives is not None and extra_negatives.dim() == 3
    k = 0
    if extra_negatives is not None:
        if symmetric:
            raise ValueError("extra_negatives are not supported with symmetric=True")
        ok = extra_negatives.shape[-1] == anchors.shape[1] and (
            extra_negatives.dim() == 2 or (per_anchor_hn and extra_negatives.shape[0] == n)
        )
        if not ok:
            raise ValueError(f"extra_negatives must be (K, D) or (N, K, D); got {tuple(extra_negatives.shape)}")
        k = extra_negatives.shape[-2]
    check_reduction(reduction)
    rows = chunk_rows(chunk_size, n, m + k)
    acc = torch.float64 if torch.float64 in (anchors.dtype, candidates.dtype) else torch.float32
    scale = row_scale(temperature, n, dev).to(acc)
    if symmetric and not positive_in_denominator:
        raise ValueError("symmetric=True needs positive_in_denominator=True")
    if symmetric and scale.stride(0) != 0 and not torch.all(scale == scale[0]):
        raise ValueError("symmetric=True needs one scalar temperature")
    spec = Spec(
        positive_index, anchor_labels, candidate_labels, weights, self_index,
        positive_in_denominator, symmetric, rows, reduction, per_anchor_hn, acc,
    )
    # The autograd Function needs a differentiable tensor for the scale; a broadcast view of a
    # scalar temperature is fine (its gradient is summed back by autograd).
    if route(anchors, extra_negatives, spec) is None:  # CUDA, supported options: Triton (fused.py)
        loss, per_row, dropped = fused_cross_entropy(anchors, candidates, extra_negatives, scale, spec)
    else:
        loss, per_row, dropped = _ContrastiveCE.apply(anchors, candidates, extra_negatives, scale, spec)
    return KernelOutput(loss, per_row, int(dropped))
