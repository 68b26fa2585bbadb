"""Gathering candidates across ranks with PyTorch's own collectives.

Anchors stay local; candidates (and their labels or weights) are gathered from every rank.
The gather keeps gradients: its backward is a reduce-scatter (sum) of the candidate gradients,
so each rank receives the gradient that every rank's anchors sent to its candidates. With a
mean over local anchors and DDP's gradient averaging, this is exactly the gradient of the
full-batch mean when every rank holds the same number of anchors, with no world-size factor.
(For losses that drop anchors without a positive, such as SupCon, it is exact when every rank
keeps the same number of anchors, e.g. with two views per sample; otherwise each rank averages
over its own kept anchors.) Unequal row counts across ranks raise a ValueError rather than hang.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.distributed as dist
from torch import Tensor


class Gathered(NamedTuple):
    """Candidates from all ranks ``(world * N, ...)`` and where this rank's rows start."""

    candidates: Tensor
    offset: int


def world() -> tuple[int, int]:
    """``(rank, world_size)``; ``(0, 1)`` when torch.distributed is not initialized."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _check_equal_sizes(x: Tensor) -> None:
    size = torch.tensor([x.shape[0]], device=x.device)
    sizes = [torch.zeros_like(size) for _ in range(world()[1])]
    dist.all_gather(sizes, size)
    if len({int(s) for s in sizes}) != 1:
        raise ValueError(f"every rank must hold the same number of rows to gather; got {[int(s) for s in sizes]}")


def gather_candidates(x: Tensor, enabled: bool = True) -> Gathered:
    """All-gather ``x`` ``(N, ...)`` along dim 0 with gradients (functional collectives).

    Returns ``Gathered(candidates, offset)`` with ``offset = rank * N``. When ``enabled`` is
    False or torch.distributed is not initialized, returns ``x`` itself and offset 0.
    """
    rank, size = world()
    if not enabled or size == 1:
        return Gathered(x, 0)
    from torch.distributed._functional_collectives import all_gather_single_autograd

    _check_equal_sizes(x)
    gathered = all_gather_single_autograd(x.contiguous(), gather_dim=0, group=dist.group.WORLD)
    return Gathered(gathered, rank * x.shape[0])


def gather_labels(x: Tensor, enabled: bool = True) -> Tensor:
    """All-gather a tensor that needs no gradient (labels, weights, ids) along dim 0."""
    _, size = world()
    if not enabled or size == 1:
        return x
    _check_equal_sizes(x)
    parts = [torch.empty_like(x) for _ in range(size)]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts)


def global_count(n: int, like: Tensor, distributed: bool) -> int:
    """``n`` summed over the ranks (``n`` itself when ``distributed`` is False or one process runs)."""
    return int(gather_labels(torch.tensor([n], device=like.device), enabled=distributed).sum())


def gather_rows(*tensors: Tensor, distributed: bool) -> tuple[list[Tensor], int]:
    """Every rank's rows of ``tensors`` (``(n_r, ...)`` each, ``n_r`` may differ between ranks),
    concatenated in rank order, and where this rank's rows start: for losses over a subset of the
    batch whose size varies by rank (e.g. the rehearsal samples of a continual-learning batch).

    :func:`gather_candidates` and :func:`gather_labels` need equal sizes: rows are padded to
    ``max_r n_r`` and the padding dropped after. A tensor that requires grad is gathered with its gradient (the backward sums what every
    rank's anchors sent to this rank's rows), the others (labels, the teacher's side) without;
    which ones require grad must be the same on every rank. Without ``distributed`` (or with one
    process) returns ``tensors`` and offset 0."""
    rank, size = world()
    if not distributed or size == 1:
        return list(tensors), 0
    n = tensors[0].shape[0]
    counts = gather_labels(torch.tensor([n], device=tensors[0].device))
    width = int(counts.max())
    keep = (torch.arange(width, device=counts.device)[None, :] < counts[:, None]).flatten()
    out = []
    for x in tensors:
        padded = torch.cat([x, x.new_zeros((width - n, *x.shape[1:]))])
        gathered = gather_candidates(padded).candidates if x.requires_grad else gather_labels(padded)
        out.append(gathered[keep.to(gathered.device)])
    return out, int(counts[:rank].sum())
