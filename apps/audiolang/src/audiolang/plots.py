"""The app's figure: a study's Winoground scores per row, beside chance (``plots/scores.png``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from contrastkit.train import pyplot, save_figure

from audiolang.evaluate import CHANCE


def plot_scores(rows: dict[str, list[dict[str, float]]], path: str | Path, kinds: tuple[str, ...] = ("order", "attribute")) -> Path:
    """One panel per benchmark kind: unseen-wording text / audio / group bars (mean over seeds, std as error bars)
    for each row of ``rows`` (``{method: [metrics of each seed]}``), chance as dashed lines."""
    plt = pyplot()
    names, scores = list(rows), ("text", "audio", "group")
    fig, axes = plt.subplots(1, len(kinds), figsize=(5 * len(kinds), 3.2), squeeze=False)
    width = 0.8 / len(scores)
    for ax, kind in zip(axes[0], kinds, strict=True):
        for j, score in enumerate(scores):
            values = [np.array([r[f"{kind}/{score}"] for r in rows[n]], dtype=float) for n in names]
            x = np.arange(len(names)) + (j - 1) * width
            ax.bar(x, [v.mean() for v in values], width, yerr=[v.std(ddof=1) if len(v) > 1 else 0 for v in values],
                   label=score, color=f"C{j}")
            ax.axhline(CHANCE[score], color=f"C{j}", ls="--", lw=0.8)
        ax.set_xticks(np.arange(len(names)), names, rotation=30, ha="right", fontsize=7)
        ax.set_ylim(0, 100)
        ax.set_ylabel("%")
        ax.set_title(f"{kind}, unseen wording (dashed: chance)", fontsize=9)
    axes[0][0].legend(fontsize=7)
    return save_figure(fig, path)
