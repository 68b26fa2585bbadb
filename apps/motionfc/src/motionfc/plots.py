"""Figures: predicted trajectories of a few scenes, and curves (low-shot, spurious alpha)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def plot_scenes(obs: np.ndarray, fut: np.ndarray | None, preds: dict[str, np.ndarray], seq_start_end: np.ndarray,
                path: str | Path, title: str = "", max_scenes: int = 4) -> Path:
    """Observed (solid), ground-truth future (dashed black; none when ``fut`` is None) and each
    model's prediction, one panel a scene, positions in meters.

    ``obs`` ``(N, T_o, 2)``, ``fut`` and each ``preds[name]`` ``(N, T_f, 2)``.
    """
    from contrastkit.train import pyplot, save_figure

    k = min(max_scenes, len(seq_start_end))
    fig, axes = pyplot().subplots(1, k, figsize=(3.2 * k, 3.2), squeeze=False)
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple"]
    for ax, (a, b) in zip(axes[0], seq_start_end[:k]):
        for i in range(a, b):
            ax.plot(*obs[i].T, "-o", color="0.3", ms=2)
            if fut is not None:
                ax.plot(*np.concatenate([obs[i, -1:], fut[i]]).T, "--", color="k", lw=1)
            for c, (name, p) in zip(colors, preds.items()):
                ax.plot(*np.concatenate([obs[i, -1:], p[i]]).T, "-", color=c, lw=1.2, label=name if i == a else None)
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_xlabel("x (m)"), ax.set_ylabel("y (m)")
    axes[0][0].legend(fontsize=7, loc="best")
    fig.suptitle(title)
    return save_figure(fig, path, dpi=110)


def plot_curves(x: list[float], curves: dict[str, tuple[list[float], list[float]]], path: str | Path, *,
                xlabel: str, ylabel: str = "ADE", title: str = "", logx: bool = False) -> Path:
    """Mean +- std curves ``{name: (means, stds)}`` against ``x``."""
    from contrastkit.train import pyplot, save_figure

    fig, ax = pyplot().subplots(figsize=(4.5, 3.2))
    for name, (m, s) in curves.items():
        m, s = np.asarray(m), np.asarray(s)
        ax.plot(x, m, "-o", ms=3, label=name)
        ax.fill_between(x, m - s, m + s, alpha=0.2)
    if logx:
        ax.set_xscale("log", base=2)
    ax.set_xlabel(xlabel), ax.set_ylabel(ylabel), ax.set_title(title)
    ax.legend(fontsize=8)
    return save_figure(fig, path, dpi=110)


def plot_eth_ucy_predictions(module, dm, path: str | Path, title: str, max_scenes: int = 4) -> Path:
    """The first test scenes of an ETH/UCY fold: observed, truth and ``module``'s forecast
    (a :class:`~motionfc.baselines.StgatForecaster`)."""
    import torch

    from motionfc.data.batching import full_batch

    dm.setup()
    w = next(iter(dm.splits["test"].values()))
    batch = full_batch(w.subset(np.arange(min(max_scenes, w.num_scenes))))
    with torch.no_grad():
        pred = module.eval().predict_abs(batch).numpy()
    return plot_scenes(batch["obs"].numpy(), batch["fut"].numpy(), {"STGAT": pred}, batch["seq_start_end"].numpy(),
                       path, title, max_scenes)
