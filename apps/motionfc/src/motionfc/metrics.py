"""ADE / FDE (Alahi et al., Social LSTM, CVPR 2016; Gupta et al., Social GAN, CVPR 2018).

``ADE = 1/(N T) sum_i sum_t ||p_it - g_it||``, ``FDE = 1/N sum_i ||p_iT - g_iT||``: means over
every pedestrian of every scene (the pooling of Social-GAN's and causalmotion's evaluation).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchmetrics import Metric


def displacement_errors(pred: Tensor, fut: Tensor) -> Tensor:
    """``(N, T)`` Euclidean errors of ``pred`` and ``fut``, both ``(N, T, 2)``."""
    if pred.shape != fut.shape or pred.dim() != 3 or pred.shape[-1] != 2:
        raise ValueError(f"pred and fut must be (N, T, 2) of one shape; got {tuple(pred.shape)} and {tuple(fut.shape)}")
    return torch.linalg.vector_norm(pred - fut, dim=-1)


def ade_fde(pred: Tensor, fut: Tensor) -> tuple[float, float]:
    """Average and final displacement error, means over pedestrians (and steps for ADE)."""
    err = displacement_errors(pred.double(), fut.double())
    return err.mean().item(), err[:, -1].mean().item()



class AdeFde(Metric):
    """ADE / FDE accumulated over batches: sums over pedestrians (DDP-reducible), ``compute()`` ->
    ``(ade, fde)``. ``update(pred, fut)`` takes ``(N, T, 2)`` absolute positions."""

    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        for name in ("ade_sum", "fde_sum", "peds"):
            self.add_state(name, default=torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, pred: Tensor, fut: Tensor) -> None:
        err = displacement_errors(pred.double(), fut.double())
        self.ade_sum += err.mean(dim=1).sum()
        self.fde_sum += err[:, -1].sum()
        self.peds += err.shape[0]

    def compute(self) -> tuple[Tensor, Tensor]:
        return self.ade_sum / self.peds, self.fde_sum / self.peds
