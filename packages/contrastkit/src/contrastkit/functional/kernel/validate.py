"""Argument checks of the kernels, and the one ``chunk_size`` rule both kernels follow.

Every tensor argument is checked once per call: shape, and finite values (one reduction per
tensor, see :func:`~contrastkit.functional._common.check_finite`). A NaN or inf anywhere
raises a ValueError naming the argument; nothing non-finite reaches the logits.

``chunk_size`` (both kernels): the number of anchor rows whose logits exist at once. ``None``
picks as many rows as keep one chunk within ``DEFAULT_CHUNK_LOGITS`` logits (64 MiB in
float32); the grouped kernel rounds it down to whole groups (at least one). Value and gradient
do not depend on it.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from contrastkit.functional._common import check_chunk_size, check_finite

DEFAULT_CHUNK_LOGITS = 1 << 24


def chunk_rows(chunk_size: int | None, n_rows: int, row_width: int) -> int:
    """Rows per chunk: ``chunk_size``, or by default as many as fit ``DEFAULT_CHUNK_LOGITS``
    logits of ``row_width`` columns each (at least 1, at most ``n_rows``)."""
    check_chunk_size(chunk_size)
    rows = chunk_size or max(1, DEFAULT_CHUNK_LOGITS // max(row_width, 1))
    return min(rows, n_rows)


def check_embeddings(anchors: Tensor, candidates: Tensor, extra: Tensor | None, batch_dims: int) -> None:
    """Anchors ``(*B, N, D)``, candidates ``(*B, M, D)`` (``batch_dims`` leading axes): non-empty,
    same ``D`` (and leading axes), finite."""
    dims = 2 + batch_dims
    want = "(G, N, D) and (G, M, D)" if batch_dims else "(N, D) and (M, D)"
    if anchors.dim() != dims or candidates.dim() != dims:
        raise ValueError(f"anchors and candidates must be {dims}-D {want}; got {tuple(anchors.shape)} "
                         f"and {tuple(candidates.shape)}")
    if anchors.shape[:batch_dims] != candidates.shape[:batch_dims] or anchors.shape[-1] != candidates.shape[-1]:
        raise ValueError(f"anchors {tuple(anchors.shape)} and candidates {tuple(candidates.shape)} must share "
                         "the feature dimension D" + (" and the group count G" if batch_dims else ""))
    if 0 in anchors.shape or 0 in candidates.shape:
        raise ValueError(f"anchors and candidates must not be empty (N, M, D >= 1); got {tuple(anchors.shape)} "
                         f"and {tuple(candidates.shape)}")
    check_finite("anchors", anchors)
    check_finite("candidates", candidates)
    if extra is not None:
        check_finite("extra_negatives", extra)


def check_reduction(reduction: str) -> None:
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum'; got {reduction!r}")


def row_scale(temperature: float | Tensor, n: int, device: torch.device) -> Tensor:
    """Return ``1 / t`` of shape ``(n,)`` (a view of a scalar when scalar); float64 when ``t`` is a
    Python number or a float64 tensor, else float32. ``t`` must be finite and > 0."""
    # A Python number is taken in float64 so that float64 inputs are not rounded to float32.
    t = torch.as_tensor(temperature, device=device, dtype=None if isinstance(temperature, Tensor) else torch.float64)
    t = t.to(torch.float64 if t.dtype == torch.float64 else torch.float32)
    if t.dim() == 0:
        t = t.expand(n)
    if t.shape != (n,):
        raise ValueError(f"temperature must be a scalar or of shape (N,)=({n},); got {tuple(t.shape)}")
    if isinstance(temperature, Tensor):
        if not bool(torch.isfinite(t).all()) or bool((t <= 0).any()):
            raise ValueError("temperature must be finite and > 0")
    elif not (math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be finite and > 0; got {temperature}")
    return 1.0 / t


def check_weights(weights: Tensor, n: int, m: int) -> Tensor:
    """Soft positive weights ``(N, M)``: finite, non-negative; returned detached (constants)."""
    if weights.shape != (n, m):
        raise ValueError(f"weights must have shape (N, M)=({n}, {m}); got {tuple(weights.shape)}")
    check_finite("weights", weights)
    if (weights < 0).any():
        raise ValueError("weights must be non-negative")
    return weights.detach()


def check_logsumexp(lse: Tensor) -> None:
    """The row log-sum-exps of logits from finite inputs are finite, or ``-inf`` for a row with no
    valid candidate. NaN or ``+inf`` means the float32 products overflowed: whether that shows as
    ``inf`` or as ``NaN`` (``inf - inf`` inside the matrix product) depends on the BLAS and its
    summation order, so both raise here, before a NaN row could pass for one with no candidate."""
    if bool((torch.isnan(lse) | (lse == float("inf"))).any()):
        raise ValueError("the logits are not finite although every input is: the logits <a, c> / t overflow "
                         "float32; normalize the embeddings or raise the temperature")


def check_finite_loss(values: Tensor, what: str) -> None:
    """Finite inputs can still overflow float32 logits (|<a, c> / t| > 3.4e38): raise, never drop."""
    if not bool(torch.isfinite(values).all()):
        raise ValueError(f"the {what} are not finite although every input is: the logits <a, c> / t overflow "
                         "float32; normalize the embeddings or raise the temperature")
