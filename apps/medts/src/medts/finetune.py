"""Full fine-tuning (and the supervised-from-scratch baseline): encoder + head, cross-entropy,
the checkpoint with the best validation macro-F1 is the one tested (COMET's protocol)."""

from __future__ import annotations

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from contrastkit.eval import classification_metrics
from torch import Tensor

from medts.models.encoder import TSEncoder, max_pool_time
from medts.models.heads import ClassifierHead


class FineTuner(L.LightningModule):
    """``(B, T, C)`` -> class logits via max-pooled encoder features and the official head.

    Args:
        encoder: a pretrained encoder (copied in), or None for a fresh one (supervised baseline).
        encoder_kwargs: the fresh encoder's arguments (input_dims, output_dims, hidden_dims, depth).
    """

    def __init__(self, n_classes: int, encoder: TSEncoder | None = None, encoder_kwargs: dict | None = None,
                 lr: float = 1e-4, weight_decay: float = 0.0) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["encoder"])
        self.encoder = encoder if encoder is not None else TSEncoder(**(encoder_kwargs or {}))
        self.head = ClassifierHead(self.encoder.output_dims, n_classes)
        self._val: list[tuple[Tensor, Tensor]] = []

    def forward(self, x: Tensor) -> Tensor:
        return self.head(max_pool_time(self.encoder(x, mask="all_true")))

    def training_step(self, batch, batch_idx):
        loss = F.cross_entropy(self(batch["x"]), batch["label"])
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch["x"]))
        return loss

    def validation_step(self, batch, batch_idx):
        self._val.append((self(batch["x"]).softmax(-1).float().cpu(), batch["label"].cpu()))

    def on_validation_epoch_end(self):
        probs = torch.cat([p for p, _ in self._val])
        y = torch.cat([t for _, t in self._val])
        self._val.clear()
        f1 = classification_metrics(y, probs)["f1"] if len(y) else 0.0
        self.log("val/macro_f1", float(f1), prog_bar=True)

    @torch.no_grad()
    def predict_proba(self, x: np.ndarray | Tensor, batch_size: int = 256) -> np.ndarray:
        """``(N, n_classes)`` softmax probabilities in eval mode."""
        was = self.training
        self.eval()
        x = torch.as_tensor(x)
        out = torch.cat([self(x[i:i + batch_size].to(self.device)).softmax(-1).float().cpu()
                         for i in range(0, len(x), batch_size)])
        self.train(was)
        return out.numpy()

    def configure_optimizers(self):
        return torch.optim.AdamW(self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)
