"""Assertions shared by the loss tests of the core and of the apps."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor


def value_and_grads(fn: Callable[..., Tensor], inputs: Sequence[Tensor]) -> tuple[Tensor, list[Tensor | None]]:
    """``fn(*inputs)`` on fresh leaf copies of ``inputs`` and the gradient of each (float inputs)."""
    leaves = [x.detach().clone().requires_grad_(x.is_floating_point()) for x in inputs]
    value = fn(*leaves)
    diff = [x for x in leaves if x.requires_grad]
    grads = torch.autograd.grad(value, diff, allow_unused=True)
    it = iter(grads)
    return value.detach(), [next(it) if x.requires_grad else None for x in leaves]


def assert_matches(
    fast: Callable[..., Tensor],
    reference: Callable[..., Tensor],
    inputs: Sequence[Tensor],
    *,
    rtol: float = 1e-9,
    atol: float = 1e-10,
) -> Tensor:
    """Assert that ``fast`` and ``reference`` agree in value and in every input gradient.

    Returns the value, so that callers can check it is not trivial.
    """
    v_fast, g_fast = value_and_grads(fast, inputs)
    v_ref, g_ref = value_and_grads(reference, inputs)
    torch.testing.assert_close(v_fast.double(), v_ref.double(), rtol=rtol, atol=atol, msg="loss value")
    for k, (gf, gr) in enumerate(zip(g_fast, g_ref, strict=True)):
        if gr is None and gf is None:
            continue
        gf = torch.zeros_like(inputs[k], dtype=torch.float64) if gf is None else gf.double()
        gr = torch.zeros_like(inputs[k], dtype=torch.float64) if gr is None else gr.double()
        torch.testing.assert_close(gf, gr, rtol=rtol, atol=atol, msg=f"gradient of input {k}")
    return v_fast


def assert_finite_grads(fn: Callable[..., Tensor], inputs: Sequence[Tensor]) -> Tensor:
    """Assert that ``fn(*inputs)`` and all its input gradients are finite; return the value."""
    value, grads = value_and_grads(fn, inputs)
    assert torch.isfinite(value).all(), f"loss is not finite: {value}"
    for k, g in enumerate(grads):
        if g is not None:
            assert torch.isfinite(g).all(), f"gradient of input {k} is not finite"
    return value


def assert_permutation_invariant(
    fn: Callable[..., Tensor],
    inputs: Sequence[Tensor],
    batch_args: Sequence[int],
    square_args: Sequence[int] = (),
    seed: int = 0,
    rtol: float = 1e-9,
    atol: float = 1e-10,
) -> None:
    """Permuting the batch leaves the loss unchanged.

    ``batch_args``: inputs whose dim 0 is the batch; ``square_args``: ``(N, N)`` pair matrices
    (weights), permuted on both dims.
    """
    n = inputs[batch_args[0]].shape[0]
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    permuted = list(inputs)
    for k in batch_args:
        permuted[k] = inputs[k][perm]
    for k in square_args:
        permuted[k] = inputs[k][perm][:, perm]
    torch.testing.assert_close(fn(*permuted).double(), fn(*inputs).double(), rtol=rtol, atol=atol)


def assert_gradcheck(fn: Callable[..., Tensor], inputs: Sequence[Tensor], atol: float = 1e-6) -> None:
    """``torch.autograd.gradcheck`` on float64 copies of the floating-point ``inputs``."""
    leaves = [x.detach().double().clone().requires_grad_() if x.is_floating_point() else x for x in inputs]
    assert torch.autograd.gradcheck(fn, leaves, eps=1e-6, atol=atol)


def assert_low_precision_close(
    fn: Callable[..., Tensor], inputs: Sequence[Tensor], *, rtol: float = 0.05, atol: float = 0.05,
) -> None:
    """float16 and bfloat16 inputs, and float32 inputs under CPU bfloat16 autocast, give finite
    values and gradients close to the float64 value."""
    exact = fn(*[x.double() if x.is_floating_point() else x for x in inputs]).detach().double()
    for dtype in (torch.float16, torch.bfloat16):
        low = [x.to(dtype) if x.is_floating_point() else x for x in inputs]
        value = assert_finite_grads(fn, low)
        torch.testing.assert_close(value.double(), exact, rtol=rtol, atol=atol, msg=f"{dtype} value")
    f32 = [x.float() if x.is_floating_point() else x for x in inputs]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        value = assert_finite_grads(fn, f32)
    assert value.dtype == torch.float32, f"autocast loss should accumulate in float32, got {value.dtype}"
    torch.testing.assert_close(value.double(), exact, rtol=rtol, atol=atol, msg="autocast value")


def random_embeddings(n: int, d: int, seed: int, dtype: torch.dtype = torch.float64) -> Tensor:
    """``(n, d)`` standard normal embeddings from a seeded generator."""
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=dtype)
