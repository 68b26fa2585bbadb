"""A base LightningModule for methods whose training objective is a dict of named losses."""

from __future__ import annotations

import lightning as L
import torch
from torch import Tensor


class ContrastiveModule(L.LightningModule):
    """One shared step for train / val / test.

    Subclasses implement :meth:`compute_losses`, returning named scalar tensors that include
    ``"loss"`` (the one optimized). Every entry is logged as ``f"{stage}/{name}"``.
    """

    def __init__(self, lr: float = 1e-3, weight_decay: float = 0.0) -> None:
        super().__init__()
        if lr <= 0:
            raise ValueError(f"lr must be > 0; got {lr}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0; got {weight_decay}")
        self.lr = lr
        self.weight_decay = weight_decay

    def compute_losses(self, batch, stage: str) -> dict[str, Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _shared_step(self, batch, stage: str) -> Tensor:
        losses = self.compute_losses(batch, stage)
        if "loss" not in losses:
            raise KeyError(f"{type(self).__name__}.compute_losses must return a 'loss' entry")
        if not torch.isfinite(losses["loss"]):
            raise FloatingPointError(f"{stage} loss is not finite: {float(losses['loss'])}")
        size = _batch_size(batch)
        for name, value in losses.items():
            self.log(f"{stage}/{name}", value.detach(), prog_bar=name == "loss", on_step=stage == "train",
                     on_epoch=True, batch_size=size)
        return losses["loss"]

    def training_step(self, batch, batch_idx: int) -> Tensor:
        return self._shared_step(batch, "train")

    def validation_step(self, batch, batch_idx: int) -> Tensor:
        return self._shared_step(batch, "val")

    def test_step(self, batch, batch_idx: int) -> Tensor:
        return self._shared_step(batch, "test")

    def configure_optimizers(self):
        return torch.optim.AdamW(self.parameters(), lr=self.lr, weight_decay=self.weight_decay)


def _batch_size(batch) -> int | None:
    if isinstance(batch, Tensor):
        return batch.shape[0]
    if isinstance(batch, (list, tuple)) and batch and isinstance(batch[0], Tensor):
        return batch[0].shape[0]
    if isinstance(batch, dict):
        for v in batch.values():
            if isinstance(v, Tensor):
                return v.shape[0]
    return None
