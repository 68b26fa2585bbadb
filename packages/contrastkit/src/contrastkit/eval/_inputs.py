"""Validation and conversion of evaluation inputs (tensors or arrays) with errors naming the field."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor


def as_tensor(name: str, x: Any, ndim: int | tuple[int, ...], *, integer: bool = False) -> Tensor:
    """``x`` as a CPU tensor with ``ndim`` dims (one of them), non-empty, finite; integer when asked."""
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, Tensor) else x.detach()).cpu()
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if t.dim() not in allowed:
        raise ValueError(f"{name} must have {' or '.join(map(str, allowed))} dimension(s); got shape {tuple(t.shape)}")
    if t.numel() == 0:
        raise ValueError(f"{name} is empty")
    if integer:
        if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
            raise ValueError(f"{name} must hold integer labels; got dtype {t.dtype}")
        return t.long()
    if not t.is_floating_point():
        t = t.double()
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} contains NaN or inf values")
    return t


def check_rows(name_a: str, a: Tensor, name_b: str, b: Tensor) -> None:
    """Raise unless ``a`` and ``b`` have the same number of rows."""
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"{name_a} has {a.shape[0]} rows but {name_b} has {b.shape[0]}")


def check_ks(ks: int | Any) -> tuple[int, ...]:
    """Validate cut-offs ``k >= 1`` (an int or a sequence); ``k`` above the candidate count is allowed."""
    ks = (ks,) if isinstance(ks, int) else tuple(int(k) for k in ks)
    if not ks or min(ks) < 1:
        raise ValueError(f"ks must be positive integers; got {ks}")
    return ks


def train_test(train_x: Any, train_y: Any, test_x: Any, test_y: Any) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Validate a probe's ``(N, D)``/``(N,)`` training and ``(M, D)``/``(M,)`` test embeddings and labels."""
    xtr, xte = as_tensor("train_x", train_x, 2), as_tensor("test_x", test_x, 2)
    ytr, yte = as_tensor("train_y", train_y, 1, integer=True), as_tensor("test_y", test_y, 1, integer=True)
    check_rows("train_x", xtr, "train_y", ytr)
    check_rows("test_x", xte, "test_y", yte)
    if xtr.shape[1] != xte.shape[1]:
        raise ValueError(f"train_x has D={xtr.shape[1]} but test_x has D={xte.shape[1]}")
    return xtr, ytr, xte, yte
