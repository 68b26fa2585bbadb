"""Small helpers shared by the functional losses."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def maybe_normalize(x: Tensor, normalize: bool) -> Tensor:
    """L2-normalize the last dimension when ``normalize`` is True (zero vectors stay zero)."""
    return F.normalize(x, dim=-1, eps=1e-12) if normalize else x


def check_finite(name: str, x: Tensor) -> None:
    """Raise a ValueError naming ``name`` when ``x`` holds NaN or inf.

    One reduction first: a finite sum proves every element finite; only a non-finite sum (NaN,
    inf, or an overflow of huge finite values) pays for the element-wise check.
    """
    if bool(torch.isfinite(x.detach().sum())):
        return
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or inf values")


def check_matrix(name: str, x: Tensor) -> None:
    """``x`` must be a finite ``(N, D)`` floating-point tensor with ``N, D >= 1``."""
    if x.dim() != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name} must be a 2-D (N, D) tensor with N, D >= 1; got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor; got {x.dtype}")
    check_finite(name, x)


def check_pair(name_a: str, a: Tensor, name_b: str, b: Tensor) -> None:
    """Check that two embedding batches are finite, 2-D and of equal shapes."""
    if a.dim() != 2 or a.shape != b.shape:
        raise ValueError(
            f"{name_a} and {name_b} must both be (N, D) with the same shape; "
            f"got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    check_matrix(name_a, a)
    check_matrix(name_b, b)


def check_chunk_size(chunk_size: int | None) -> None:
    """``chunk_size`` must be None (the default rule) or an integer >= 1."""
    if chunk_size is None:
        return
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size must be None or an integer >= 1; got {chunk_size!r}")


def check_index(name: str, index: Tensor, shapes: tuple[tuple[int, ...], ...], n_candidates: int) -> Tensor:
    """Candidate indices (``positive_index``, ``self_index``): an integer tensor of one of
    ``shapes`` with every entry in ``[-1, M)`` (``-1`` = none). Returns it as ``long``."""
    if not isinstance(index, Tensor) or index.is_floating_point() or index.is_complex() or index.dtype == torch.bool:
        kind = index.dtype if isinstance(index, Tensor) else type(index).__name__
        raise ValueError(f"{name} must be an integer tensor; got {kind}")
    if tuple(index.shape) not in shapes:
        want = " or ".join(str(s) for s in shapes)
        raise ValueError(f"{name} must have shape {want}; got {tuple(index.shape)}")
    if index.numel():
        lo, hi = (int(v) for v in torch.aminmax(index))
        if lo < -1 or hi >= n_candidates:
            raise ValueError(f"{name} entries must lie in [-1, M={n_candidates}) (-1 = none); "
                             f"got values in [{lo}, {hi}]")
    return index.long()


def check_positive(name: str, value: float | Tensor) -> None:
    """A temperature-like argument must be finite and > 0 (scalar or tensor)."""
    t = torch.as_tensor(value)
    if not torch.isfinite(t).all() or (t <= 0).any():
        raise ValueError(f"{name} must be finite and > 0; got {value}")


def as_float64_scalar(value: float | Tensor, device: torch.device) -> Tensor:
    """A Python number as a float64 tensor (so float64 inputs are not rounded); tensors unchanged."""
    if isinstance(value, Tensor):
        return value.to(device)
    return torch.tensor(float(value), dtype=torch.float64, device=device)
