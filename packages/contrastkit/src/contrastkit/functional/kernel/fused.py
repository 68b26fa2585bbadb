"""The fused (Triton) path of :func:`contrastive_cross_entropy`, and the rule that picks it.

Inf-CL / FlashAttention style: the forward pass tiles ``s = A @ [C; E].T``, keeps an online
log-sum-exp per row and the positives' logits, and writes only ``(N,)`` vectors (``lse``,
``num``, ``cnt``); the backward pass recomputes each tile and accumulates
``dL/dz = (P - Y) * f`` into ``dA`` and, transposed, into ``dC`` / ``dE`` (``fused_function.py``,
``fused_triton.py``). Nothing of size ``(N, M)`` is ever allocated: memory above the inputs is
``O((N + M) D)`` (the gradients) plus ``O(N + M)``.

Dispatch (:func:`route`), checked after the shared argument checks of the public function:

* ``CONTRASTKIT_FUSED=off`` turns the fused path off everywhere;
* CUDA tensors take it when the options are supported and Triton imports; CPU tensors keep
  today's kernel, except under ``CONTRASTKIT_FUSED=interpret`` (tests only: Triton's
  interpreter, which needs ``TRITON_INTERPRET=1`` set before Triton is first imported);
* fused: ``positive_index``; ``anchor_labels`` / ``candidate_labels`` (label compare per tile,
  no mask stored); ``self_index``; a scalar or ``(N,)`` temperature, learnable or not; shared
  extra negatives ``(K, D)`` (appended to the candidates); ``positive_in_denominator=False``;
  ``symmetric=True``; ``reduction`` ``"mean"`` / ``"sum"``;
* routed to today's kernel, with the reason :func:`route` returns:
  soft ``weights`` (already an ``(N, M)`` tensor from the caller, so tiling saves no memory and
  the dense kernel reads it once per chunk), per-anchor extra negatives ``(N, K, D)`` (a batched
  product per anchor, not a tile of one shared matrix), and float64 inputs (the exactness
  reference stays on today's float64 path). ``chunk_size`` is ignored by the fused path (its
  tiles are fixed; value and gradient do not depend on either).

Precision (:func:`fused_precision`, or ``CONTRASTKIT_FUSED_PRECISION``): ``"ieee"`` (default)
computes every product in exact float32, like today's kernel; ``"tf32"`` (TF32 tensor cores,
10-bit mantissa inputs) and ``"bf16"`` (operands rounded to bfloat16, float32 accumulation) are
opt-in, faster, and lose accuracy in the logits: each operand is rounded to 10 (tf32) or 7
(bf16) mantissa bits, a relative error of up to 2**-11 or 2**-8 per operand; their error in the
loss and gradients on a GPU is still to be measured (``benchmarks/gpu_check.py``). The log-sum-exp, the softmax and all sums are float32 in every
mode; inputs may be float16/bfloat16 (cast per tile, never copied), and the gradients come
back in each input's dtype.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator

import torch
from torch import Tensor

from contrastkit.functional.kernel.fused_function import FusedCE, Plan
from contrastkit.functional.kernel.spec import Spec

PRECISIONS = ("ieee", "tf32", "bf16")
_precision: contextvars.ContextVar[str | None] = contextvars.ContextVar("fused_precision", default=None)


@contextlib.contextmanager
def fused_precision(precision: str) -> Iterator[None]:
    """Within the block the fused path computes its products in ``precision`` (see module doc)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}; got {precision!r}")
    token = _precision.set(precision)
    try:
        yield
    finally:
        _precision.reset(token)


def current_precision() -> str:
    precision = _precision.get() or os.environ.get("CONTRASTKIT_FUSED_PRECISION", "ieee")
    if precision not in PRECISIONS:
        raise ValueError(f"CONTRASTKIT_FUSED_PRECISION must be one of {PRECISIONS}; got {precision!r}")
    return precision


def _mode() -> str:
    return os.environ.get("CONTRASTKIT_FUSED", "auto").strip().lower() or "auto"


def route(anchors: Tensor, extra: Tensor | None, spec: Spec) -> str | None:
    """``None`` when the call takes the fused path, else why it keeps today's kernel."""
    mode = _mode()
    if mode in ("off", "0", "false"):
        return "CONTRASTKIT_FUSED=off"
    if anchors.device.type != "cuda" and mode != "interpret":
        return "CPU tensors keep today's kernel"
    if spec.acc_dtype == torch.float64:
        return "float64 inputs (the exactness reference) keep today's kernel"
    if spec.weights is not None:
        return "soft weights are an (N, M) tensor already: no memory to save"
    if spec.hard_negatives_per_anchor:
        return "per-anchor extra negatives (N, K, D) are not a tile of one shared matrix"
    if mode == "interpret" and os.environ.get("TRITON_INTERPRET") != "1":
        raise RuntimeError("CONTRASTKIT_FUSED=interpret needs TRITON_INTERPRET=1 set before triton is imported")
    try:
        import triton  # noqa: F401
    except ImportError:
        return "triton is not installed"
    return None


def _blocks(d: int, interpret: bool) -> tuple[tuple[int, int, int], int]:
    """``(BLOCK_R, BLOCK_C, BLOCK_D)`` and warps. The interpreter gets 16s so that small tests
    cross tile edges; on a GPU 64 x 64 tiles and up to 128 features per step (to be tuned)."""
    if interpret:
        return (16, 16, 16), 4
    return (64, 64, min(128, max(16, 1 << (d - 1).bit_length()))), 8


def _labels(spec: Spec, n_extra: int, device: torch.device) -> tuple[Tensor, Tensor]:
    """Labels remapped to ``0..L-1`` (int32); extra negatives get ``-1`` (never a positive)."""
    n = spec.anchor_labels.shape[0]
    _, ids = torch.unique(torch.cat([spec.anchor_labels, spec.candidate_labels]), return_inverse=True)
    ids = ids.to(device=device, dtype=torch.int32)
    lab_c = torch.cat([ids[n:], ids.new_full((n_extra,), -1)])
    return ids[:n].contiguous(), lab_c


def fused_cross_entropy(anchors: Tensor, candidates: Tensor, extra: Tensor | None, scale: Tensor,
                        spec: Spec) -> tuple[Tensor, Tensor, Tensor]:
    """``(loss, per_anchor, num_dropped)`` of a call :func:`route` accepted (arguments checked)."""
    n_extra = 0 if extra is None else extra.shape[0]
    sidx = None if spec.self_index is None else spec.self_index.to(torch.int32).contiguous()
    pos = lab_a = lab_c = None
    if spec.positive_index is not None:
        pos = spec.positive_index
        if spec.self_index is not None:
            pos = torch.where(pos == spec.self_index, -1, pos)  # a positive that is the anchor itself: none
        pos = pos.to(torch.int32).contiguous()
    else:
        lab_a, lab_c = _labels(spec, n_extra, anchors.device)
    interpret = _mode() == "interpret"
    blocks, warps = _blocks(anchors.shape[1], interpret)
    plan = Plan(1 if pos is not None else 2, pos, lab_a, lab_c, sidx, not spec.positive_in_denominator,
                spec.symmetric, spec.reduction, blocks, current_precision(), warps, interpret)
    return FusedCE.apply(anchors, candidates, extra, scale, plan)
