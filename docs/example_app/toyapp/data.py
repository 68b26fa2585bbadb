"""The data: points of ``n_classes`` Gaussian clusters in ``dim`` dimensions, split 50/25/25."""

from __future__ import annotations

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset


class ToyDataModule(L.LightningDataModule):
    """Clusters ``x = 2 * center[y] + N(0, I)``, ``n_per_class`` points each, drawn from ``seed``.

    Args:
        n_classes / dim / n_per_class: the clusters.
        batch_size: training batches (shuffled per epoch from ``seed``).
        seed: draws the centers, the points and the split.
    """

    def __init__(self, n_classes: int = 4, dim: int = 16, n_per_class: int = 64, batch_size: int = 32,
                 seed: int = 0) -> None:
        super().__init__()
        if n_classes < 2 or dim < 1 or n_per_class < 4:
            raise ValueError(f"n_classes >= 2, dim >= 1 and n_per_class >= 4 are needed; got {n_classes}, {dim}, "
                             f"{n_per_class}")
        self.save_hyperparameters()  # recorded in checkpoints: evaluate and embed read the run's own data
        self.splits: dict[str, TensorDataset] = {}

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        hp = self.hparams
        g = torch.Generator().manual_seed(hp.seed)
        centers = 2 * torch.randn(hp.n_classes, hp.dim, generator=g)
        y = torch.arange(hp.n_classes).repeat_interleave(hp.n_per_class)
        x = centers[y] + torch.randn(len(y), hp.dim, generator=g)
        order = torch.randperm(len(y), generator=g)
        cut = [len(y) // 2, 3 * len(y) // 4]
        parts = {"train": order[:cut[0]], "val": order[cut[0]:cut[1]], "test": order[cut[1]:]}
        self.splits = {name: TensorDataset(x[idx], y[idx], idx) for name, idx in parts.items()}

    def train_dataloader(self) -> DataLoader:
        g = torch.Generator().manual_seed(self.hparams.seed)
        return DataLoader(self.splits["train"], self.hparams.batch_size, shuffle=True, generator=g)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.splits["val"], 256)

    def test_dataloader(self) -> DataLoader:
        return DataLoader(self.splits["test"], 256)
