"""The app's figures: the accuracy matrix of a run and Avg Acc per task of several methods."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from contrastkit.train.plots import save_figure


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_matrix(matrix, path: str | Path, title: str = "accuracy after each task") -> Path:
    """Heat map of ``R[i, j]`` (rows: after task i; columns: test set of task j)."""
    R = np.array([[np.nan if v is None else v for v in row] for row in matrix], dtype=float)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(1 + 0.6 * len(R), 1 + 0.5 * len(R)))
    im = ax.imshow(R, vmin=0, vmax=1, cmap="viridis")
    for i in range(len(R)):
        for j in range(i + 1):
            ax.text(j, i, f"{100 * R[i, j]:.0f}", ha="center", va="center", fontsize=7, color="w")
    ax.set_xlabel("test set of task")
    ax.set_ylabel("after training task")
    ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax)
    return save_figure(fig, path)


def plot_seen_accuracy(curves: dict[str, list[float]], path: str | Path) -> Path:
    """Accuracy on all classes seen so far after each task, one line per method."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for name, values in curves.items():
        ax.plot(range(1, len(values) + 1), [100 * v for v in values], marker="o", label=name)
    ax.set_xlabel("task")
    ax.set_ylabel("accuracy on seen classes (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return save_figure(fig, path)
