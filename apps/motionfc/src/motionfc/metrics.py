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


class DisplacementError(Metric):
    """ADE (``final=False``) or FDE (``final=True``) accumulated over batches in float64: sums
    over pedestrians (DDP-reducible), ``compute()`` -> the mean over every pedestrian seen.
    ``update(pred, fut)`` takes ``(N, T, 2)`` absolute positions."""

    full_state_update = False

    def __init__(self, final: bool = False) -> None:
        super().__init__()
        self.final = final
        self.add_state("total", default=torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("peds", default=torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, pred: Tensor, fut: Tensor) -> None:
        err = displacement_errors(pred.double(), fut.double())
        self.total += (err[:, -1] if self.final else err.mean(dim=1)).sum()
        self.peds += err.shape[0]

    def compute(self) -> Tensor:
        return (self.total / self.peds).float()


def displacement_metrics() -> torch.nn.ModuleDict:
    """``{stage: {"ade", "fde"}}`` metric objects for ``val`` and ``test`` (one per stage, as
    Lightning wants), updated by a LightningModule's steps and logged with :func:`log_displacement`."""
    return torch.nn.ModuleDict({stage: torch.nn.ModuleDict({"ade": DisplacementError(), "fde": DisplacementError(True)})
                                for stage in ("val", "test")})


def update_displacement(module, stage: str, pred: Tensor, fut: Tensor) -> None:
    """Add one batch's ``(N, T, 2)`` predictions and truths to ``module.displacement[stage]``."""
    for metric in module.displacement[stage].values():
        metric.update(pred, fut)


def log_displacement(module, stage: str) -> None:
    """Log ``module.displacement[stage]`` as ``{stage}/ade`` and ``{stage}/fde`` at an epoch's end
    (one value over every environment's loader; Lightning computes and resets the metric objects).
    The steps update them; nothing is logged when no step did."""
    for name, metric in module.displacement[stage].items():
        if metric.update_called:
            module.log(f"{stage}/{name}", metric, prog_bar=name == "ade")
