"""Small helpers shared by the functional losses."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def maybe_normalize(x: Tensor, normalize: bool) -> Tensor:
    """L2-normalize the last dimension when ``normalize`` is True (zero vectors stay zero)."""
    return F.normalize(x, dim=-1, eps=1e-12) if normalize else x


def check_finite(name: str, x: Tensor) -> None:
    """Raise a ValueError naming ``name`` when ``x`` holds NaN or inf."""
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or inf values")


def check_pair(name_a: str, a: Tensor, name_b: str, b: Tensor) -> None:
    """Check that two embedding batches are 2-D with equal shapes."""
    if a.dim() != 2 or a.shape != b.shape:
        raise ValueError(
            f"{name_a} and {name_b} must both be (N, D) with the same shape; "
            f"got {tuple(a.shape)} and {tuple(b.shape)}"
        )
