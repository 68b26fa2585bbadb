"""The fine-tuning head of the official code's ``FTClassifier``: Linear-BN-ReLU-Linear + dropout."""

from __future__ import annotations

from torch import Tensor, nn


class ClassifierHead(nn.Module):
    """``(B, D)`` -> ``(B, n_classes)`` logits (we train with cross-entropy on logits instead of
    the official sigmoid outputs; the architecture is the same)."""

    def __init__(self, input_dims: int, n_classes: int, hidden_dims: int = 128, dropout: float = 0.1) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(input_dims, hidden_dims), nn.BatchNorm1d(hidden_dims), nn.ReLU(),
                                 nn.Linear(hidden_dims, n_classes), nn.Dropout(dropout))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)
