"""The method: an MLP encoder trained with InfoNCE between two noisy views of each point."""

from __future__ import annotations

import torch
from contrastkit.losses import InfoNCELoss
from contrastkit.train import ContrastiveModule
from torch import Tensor, nn


class ToyContrastive(ContrastiveModule):
    """``z = MLP(x + noise * N(0, I))``; loss = InfoNCE(z_view1, z_view2) at ``temperature``.

    Args:
        dim / hidden / out_dim: the encoder's sizes.
        noise: the views' noise scale.
        temperature: InfoNCE's.
        lr: AdamW's learning rate.
    """

    def __init__(self, dim: int = 16, hidden: int = 32, out_dim: int = 8, noise: float = 0.5,
                 temperature: float = 0.2, lr: float = 1e-2) -> None:
        super().__init__(lr=lr)
        self.save_hyperparameters()  # the class and these settings rebuild the model (load_module)
        self.encoder = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, out_dim))
        self.loss_fn = InfoNCELoss(temperature)

    def compute_losses(self, batch, stage: str) -> dict[str, Tensor]:
        x = batch[0]
        views = [x + self.hparams.noise * torch.randn_like(x) for _ in range(2)]
        return {"loss": self.loss_fn(self.encoder(views[0]), self.encoder(views[1]))}

    @torch.no_grad()
    def embed(self, x: Tensor) -> Tensor:
        """``(N, dim)`` -> ``(N, out_dim)`` embeddings of the clean points."""
        return self.encoder(x)
