"""The one training base of every app: named losses, logged the same way, stopped when not finite."""

from __future__ import annotations

import lightning as L
import torch
from torch import Tensor

from contrastkit.distributed import world


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or infinite; the message says at which epoch and step."""


class ContrastiveModule(L.LightningModule):
    """One shared step for train / val / test.

    Subclasses implement :meth:`compute_losses`, returning named scalar tensors that include
    ``"loss"`` (the one optimized); every entry is logged as ``f"{stage}/{name}"``. A method with
    its own optimization loop (``automatic_optimization = False``, e.g. MCLRec's meta updates)
    writes its ``training_step`` and calls :meth:`log_losses` with what it computed, so that its
    losses are logged and checked exactly as everyone else's.
    """

    def __init__(self, lr: float = 1e-3, weight_decay: float = 0.0) -> None:
        super().__init__()
        if lr <= 0:
            raise ValueError(f"lr must be > 0; got {lr}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0; got {weight_decay}")
        self.lr = lr
        self.weight_decay = weight_decay

    @property
    def gather_across_ranks(self) -> bool:
        """True when the run has more than one process: pass it as every contrastive loss's
        ``distributed`` argument, so that candidates come from the global batch as on one device."""
        return world()[1] > 1

    def compute_losses(self, batch, stage: str) -> dict[str, Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError

    def on_fit_start(self) -> None:
        """Every submodule in train mode when a fit starts, except :meth:`modules_kept_in_eval`.

        Lightning (2.2 and later) keeps the mode each submodule was left in: a model evaluated
        before (``.eval()``, a task of a continual study, a pretrained encoder) would otherwise be
        trained with dropout off and BatchNorm statistics frozen, without a word.
        """
        self.train()
        for module in self.modules_kept_in_eval():
            module.eval()

    def modules_kept_in_eval(self) -> list[torch.nn.Module]:
        """Submodules meant to train in eval mode (a frozen feature extractor); none by default."""
        return []

    def check_finite(self, loss: Tensor, stage: str) -> None:
        """Raise :class:`NonFiniteLossError` naming the stage, epoch and step when ``loss`` is not finite."""
        if not torch.isfinite(loss).all():
            raise NonFiniteLossError(
                f"{type(self).__name__}: {stage} loss is {float(loss.detach().float().mean())} at epoch "
                f"{self.current_epoch}, global step {self.global_step}; the run stops here (its last "
                "checkpoint is from before). Lower the learning rate or check the input for NaNs.")

    def log_losses(self, losses: dict[str, Tensor], stage: str, batch_size: int | None) -> Tensor:
        """Check ``losses["loss"]``, log every entry as ``f"{stage}/{name}"``; returns the loss."""
        if "loss" not in losses:
            raise KeyError(f"{type(self).__name__}: the losses must include a 'loss' entry; got {sorted(losses)}")
        self.check_finite(losses["loss"], stage)
        for name, value in losses.items():
            self.log(f"{stage}/{name}", value.detach(), prog_bar=name == "loss", on_step=stage == "train",
                     on_epoch=True, batch_size=batch_size, sync_dist=self.gather_across_ranks)
        return losses["loss"]

    def _shared_step(self, batch, stage: str) -> Tensor:
        return self.log_losses(self.compute_losses(batch, stage), stage, batch_size_of(batch))

    def training_step(self, batch, batch_idx: int) -> Tensor:
        return self._shared_step(batch, "train")

    def validation_step(self, batch, batch_idx: int) -> Tensor:
        return self._shared_step(batch, "val")

    def test_step(self, batch, batch_idx: int) -> Tensor:
        return self._shared_step(batch, "test")

    def configure_optimizers(self):
        return torch.optim.AdamW(self.parameters(), lr=self.lr, weight_decay=self.weight_decay)


def batch_size_of(batch) -> int | None:
    """The leading size of the first tensor in ``batch`` (a tensor, a sequence or a dict)."""
    if isinstance(batch, Tensor):
        return batch.shape[0]
    if isinstance(batch, (list, tuple)) and batch and isinstance(batch[0], Tensor):
        return batch[0].shape[0]
    if isinstance(batch, dict):
        for v in batch.values():
            if isinstance(v, Tensor):
                return v.shape[0]
    return None
