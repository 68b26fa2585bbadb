"""The second kernel: many independent small index-positive problems at once.

:func:`~contrastkit.functional.contrastive_cross_entropy` (the first kernel, ``functional/kernel/``)
solves one ``(N, M)`` problem per call, in any of its forms. Some methods pose hundreds of small
ones per step: TS2Vec's and COMET's instance loss is one NT-Xent over the ``2B`` views *at each
timestamp*, their temporal loss one over the ``2T`` timestamps *of each sample*. One kernel
call per problem spends its time in Python and in launching small ops.
:func:`grouped_contrastive_cross_entropy` takes a leading group axis ``G`` and computes, for every
group ``g`` and anchor ``i``::

    z_gik = <a_gi, c_gk> / t
    l_gi  = logsumexp_{k != self_i} z_gik  -  z_g,i,pos_i
    loss  = mean (or sum) of l_gi over the anchors that have a positive (pos_i >= 0)

the first kernel's definition with ``positive_index`` (and ``self_index``), solved for all
groups with batched matrix products. As there, the gradient with respect to the logits,
``p - onehot(pos)``, is known in the forward pass: each chunk adds its contribution to the input
gradients and only the ``(G, N, D)`` / ``(G, M, D)`` gradients are kept for backward, never the
``(G, N, M)`` logits. The same rules as the first kernel: the same argument checks (finite
inputs, indices in ``[-1, M)``, a finite temperature > 0), logits, softmax and gradients in
float32 (float64 for float64 inputs) whatever the input dtype or autocast, anchors dropped only
for having no positive, and the same ``chunk_size`` convention (anchor rows per chunk, here
rounded down to whole groups; default: as many as keep a chunk within ``2**24`` logits).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from contrastkit.functional._common import check_index
from contrastkit.functional.kernel.output import KernelOutput
from contrastkit.functional.kernel.validate import (
    check_embeddings,
    check_finite_loss,
    check_logsumexp,
    check_reduction,
    chunk_rows,
)


def _check(anchors: Tensor, candidates: Tensor, index: Tensor, name: str) -> Tensor:
    g, n, m = anchors.shape[0], anchors.shape[1], candidates.shape[1]
    return check_index(name, index, ((n,), (g, n)), m).to(anchors.device).expand(g, n)


class _GroupedCE(torch.autograd.Function):
    """Forward over chunks of groups that also produces the input gradients; backward scales them."""

    @staticmethod
    def forward(ctx, anchors, candidates, positive_index, self_index, inv_t: float, chunk: int, reduction: str):
        g, n, _ = anchors.shape
        acc = torch.float64 if torch.float64 in (anchors.dtype, candidates.dtype) else torch.float32
        need_grad = ctx.needs_input_grad[0] or ctx.needs_input_grad[1]
        ctx.same = anchors is candidates  # one tensor in both roles: one summed gradient
        per_row = torch.zeros(g, n, dtype=acc, device=anchors.device)
        kept = positive_index >= 0
        grad_a = torch.zeros(anchors.shape, dtype=acc, device=anchors.device) if need_grad else None
        grad_c = None if not need_grad or ctx.same else torch.zeros(candidates.shape, dtype=acc, device=anchors.device)
        self_all = self_index is not None and bool((self_index >= 0).all())
        with torch.autocast(anchors.device.type, enabled=False):  # everything in ``acc``, as documented
            for g0 in range(0, g, chunk):
                g1 = min(g0 + chunk, g)
                a = anchors[g0:g1].to(acc)
                c = candidates[g0:g1].to(acc)
                z = torch.bmm(a, c.transpose(1, 2)).mul_(inv_t)  # (g, N, M)
                pos = positive_index[g0:g1].clamp_min(0)[..., None]
                if self_index is not None:
                    _exclude_self_(z, self_index[g0:g1], self_all)
                positive_logit = z.gather(2, pos).squeeze(2)
                lse = torch.logsumexp(z, dim=2)
                check_logsumexp(lse)
                ok = kept[g0:g1] & (lse > float("-inf"))  # -inf: no valid candidate
                kept[g0:g1] = ok
                per_row[g0:g1] = torch.where(ok, lse - positive_logit, torch.zeros_like(lse))
                if need_grad:
                    p = z.sub_(lse.masked_fill(~ok, 0.0)[..., None]).exp_()  # softmax, in place
                    p.scatter_add_(2, pos, -torch.ones_like(pos, dtype=p.dtype))
                    p.mul_(ok[..., None].to(p.dtype))
                    torch.bmm(p, c, out=grad_a[g0:g1])  # slices of dim 0: contiguous
                    if ctx.same:
                        grad_a[g0:g1].baddbmm_(p.transpose(1, 2), a)
                    else:
                        torch.bmm(p.transpose(1, 2), a, out=grad_c[g0:g1])
        check_finite_loss(per_row, "per-anchor losses")
        n_kept = int(kept.sum())
        denom = max(n_kept, 1) if reduction == "mean" else 1
        loss = per_row.sum() / denom
        if need_grad:  # the temperature and the mean, applied once
            ctx.save_for_backward(*(t.mul_(inv_t / denom) for t in (grad_a, grad_c) if t is not None))
            ctx.dtypes = (anchors.dtype, candidates.dtype)
        ctx.mark_non_differentiable(per_row)
        return loss, per_row, torch.tensor(g * n - n_kept)

    @staticmethod
    def backward(ctx, grad_loss, _grad_rows, _grad_dropped):
        if ctx.same:  # autograd adds the two roles' gradients; the sum is returned once
            (grad,) = ctx.saved_tensors
            return (grad * grad_loss.to(grad.dtype)).to(ctx.dtypes[0]), None, None, None, None, None, None
        grad_a, grad_c = ctx.saved_tensors
        da = (grad_a * grad_loss.to(grad_a.dtype)).to(ctx.dtypes[0]) if ctx.needs_input_grad[0] else None
        dc = (grad_c * grad_loss.to(grad_c.dtype)).to(ctx.dtypes[1]) if ctx.needs_input_grad[1] else None
        return da, dc, None, None, None, None, None


def _exclude_self_(z: Tensor, self_index: Tensor, all_valid: bool) -> None:
    """Set ``z[g, i, self_index[g, i]] = -inf`` where ``self_index >= 0`` (in place);
    ``all_valid``: no ``-1`` entries (known once per call, not per chunk)."""
    if all_valid:
        z.scatter_(2, self_index[..., None], float("-inf"))
        return
    gi, ii = torch.nonzero(self_index >= 0, as_tuple=True)
    z[gi, ii, self_index[gi, ii]] = float("-inf")


def grouped_contrastive_cross_entropy(
    anchors: Tensor,
    candidates: Tensor,
    *,
    positive_index: Tensor,
    temperature: float = 0.1,
    self_index: Tensor | None = None,
    chunk_size: int | None = None,
    reduction: str = "mean",
) -> KernelOutput:
    """Index-positive contrastive cross-entropy of ``G`` independent problems (module docstring).

    Args:
        anchors: ``(G, N, D)``; used as given (callers normalize).
        candidates: ``(G, M, D)``; may be the same tensor as ``anchors`` (then one summed
            gradient is kept for backward instead of two).
        positive_index: ``(N,)`` shared by all groups, or ``(G, N)``; candidate index of each
            anchor's positive, ``-1`` = none (the anchor is dropped and counted).
        temperature: one positive Python number for all groups.
        self_index: ``(N,)`` or ``(G, N)``; the candidate that is the anchor itself (excluded
            from the log-sum-exp), ``-1`` = none.
        chunk_size: anchor rows per chunk, rounded down to whole groups (at least one); default:
            as many as keep a chunk within ``2**24`` logits. Same value and gradient for any size.
        reduction: ``"mean"`` over all kept anchors of all groups, or ``"sum"``.

    Returns:
        :class:`KernelOutput` with ``per_anchor`` of shape ``(G, N)``.

    Raises:
        ValueError: naming the argument, as :func:`~contrastkit.functional.contrastive_cross_entropy`.
    """
    check_embeddings(anchors, candidates, None, batch_dims=1)
    if isinstance(temperature, Tensor) or not (math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be a finite Python number > 0; got {temperature!r}")
    check_reduction(reduction)
    pos = _check(anchors, candidates, positive_index, "positive_index")
    sidx = None if self_index is None else _check(anchors, candidates, self_index, "self_index")
    if sidx is not None:
        pos = torch.where(pos == sidx, -1, pos)  # a positive that is the anchor itself counts as none
    n = anchors.shape[1]
    chunk = max(1, chunk_rows(chunk_size, anchors.shape[0] * n, candidates.shape[1]) // n)  # groups per chunk
    loss, per_row, dropped = _GroupedCE.apply(anchors, candidates, pos, sidx, 1.0 / temperature, chunk, reduction)
    return KernelOutput(loss, per_row, int(dropped))
