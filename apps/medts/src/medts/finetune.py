"""Full fine-tuning (and the supervised-from-scratch baseline): encoder + head, cross-entropy,
the checkpoint with the best validation macro-F1 is the one tested (COMET's protocol)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from contrastkit.eval import classification_metrics
from contrastkit.train import ContrastiveModule
from torch import Tensor

from medts.models.encoder import TSEncoder, max_pool_time
from medts.models.heads import ClassifierHead


class FineTuner(ContrastiveModule):
    """``(B, T, C)`` -> class logits via max-pooled encoder features and the official head.

    Args:
        n_classes: number of classes.
        encoder: a pretrained encoder (copied in), or None for a fresh one (supervised baseline).
        encoder_kwargs: the fresh encoder's arguments (input_dims, output_dims, hidden_dims, depth).
            The checkpoint records the encoder's full configuration here either way, so that
            ``medts predict`` rebuilds it from the checkpoint alone.
        class_names: the class of each output (written by ``medts predict``); default
            ``class0, class1, ...``.
        lr / weight_decay: AdamW.
    """

    def __init__(self, n_classes: int, encoder: TSEncoder | None = None, encoder_kwargs: dict | None = None,
                 class_names: list[str] | None = None, lr: float = 1e-4, weight_decay: float = 0.0) -> None:
        super().__init__(lr=lr, weight_decay=weight_decay)
        if class_names is not None and len(class_names) != n_classes:
            raise ValueError(f"class_names has {len(class_names)} names for {n_classes} classes")
        self.encoder = encoder if encoder is not None else TSEncoder(**(encoder_kwargs or {}))
        self.save_hyperparameters({"n_classes": n_classes, "encoder_kwargs": self.encoder.config(),
                                   "class_names": list(class_names or [f"class{k}" for k in range(n_classes)]),
                                   "lr": lr, "weight_decay": weight_decay})
        self.head = ClassifierHead(self.encoder.output_dims, n_classes)
        self._val: list[tuple[Tensor, Tensor]] = []

    def forward(self, x: Tensor) -> Tensor:
        return self.head(max_pool_time(self.encoder(x, mask="all_true")))

    def compute_losses(self, batch: dict, stage: str) -> dict[str, Tensor]:
        return {"loss": F.cross_entropy(self(batch["x"]), batch["label"])}

    def validation_step(self, batch, batch_idx):
        self._val.append((self(batch["x"]).softmax(-1).float(), batch["label"], batch["index"]))

    def on_validation_epoch_end(self):
        """Macro-F1 over the whole validation set. Under DDP each rank scored its shard (Lightning's
        sampler pads the shards to equal sizes with repeated samples): the shards are gathered and
        every sample is counted once (by its index), so every rank logs the full-set F1."""
        probs, y, index = (torch.cat(parts) for parts in zip(*self._val, strict=True)) if self._val else (
            torch.zeros(0, self.hparams.n_classes), torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long))
        self._val.clear()
        if self.trainer.world_size > 1:
            probs, y, index = (self.all_gather(t).flatten(0, 1) for t in (probs, y, index))
            _, first = np.unique(index.cpu().numpy(), return_index=True)
            probs, y = probs[first], y[first]
        f1 = classification_metrics(y.cpu(), probs.cpu())["f1"] if len(y) else 0.0
        self.log("val/macro_f1", float(f1), prog_bar=True, batch_size=len(y))

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
