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
    """``x`` must be a non-empty, finite ``(N, D)`` floating-point tensor."""
    if x.dim() != 2 or x.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty 2-D (N, D) tensor; got shape {tuple(x.shape)}")
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
