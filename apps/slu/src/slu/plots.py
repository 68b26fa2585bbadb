"""The app's figures: the accuracy matrix of a run, Avg Acc per task of several methods, and the
losses of a whole task sequence (every task, boundaries marked)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from contrastkit.train import pyplot, save_figure


def plot_matrix(matrix, path: str | Path, title: str = "accuracy after each task") -> Path:
    """Heat map of ``R[i, j]`` (rows: after task i; columns: test set of task j)."""
    R = np.array([[np.nan if v is None else v for v in row] for row in matrix], dtype=float)
    plt = pyplot()
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
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for name, values in curves.items():
        ax.plot(range(1, len(values) + 1), [100 * v for v in values], marker="o", label=name)
    ax.set_xlabel("task")
    ax.set_ylabel("accuracy on seen classes (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return save_figure(fig, path)


def plot_task_losses(task_dirs: list[Path], path: str | Path, title: str = "losses, task by task") -> Path:
    """Every logged loss of a task sequence on one step axis: task ``t``'s steps follow task
    ``t-1``'s, each task's start is marked by a dashed line labelled ``task t``.

    Args:
        task_dirs: the tasks' trainer folders in order (``tasks/[<row>-]task_t/``, each with ``logs/``).
        path: the PNG written.
    """
    from contrastkit.train.plots import loss_curves, read_logged_rows

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    offset, colors = 0, {}
    for t, task_dir in enumerate(task_dirs):
        rows = read_logged_rows(task_dir)
        columns = sorted({c for r in rows for c in r if "loss" in c})
        ax.axvline(offset, color="grey", linestyle="--", linewidth=0.8)
        ax.annotate(f"task {t}", (offset, 1), xycoords=("data", "axes fraction"), fontsize=7,
                    xytext=(2, -10), textcoords="offset points")
        last = offset
        for label, xs, ys in loss_curves(rows, columns):
            line = ax.plot([offset + x for x in xs], ys, color=colors.get(label), linewidth=1,
                           label=None if label in colors else label)[0]
            colors.setdefault(label, line.get_color())
            last = max(last, offset + max(xs) + 1)
        offset = last
    ax.set_xlabel("training step (all tasks)")
    ax.set_ylabel("loss")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return save_figure(fig, path)
