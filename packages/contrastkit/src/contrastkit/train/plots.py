"""PNG plots written into a run directory: loss curves and a 2-D projection of embeddings."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_loss_curves(run_dir: str | Path, out: str | Path | None = None, columns: list[str] | None = None) -> Path:
    """Plot every logged column whose name contains ``loss`` (or only ``columns``, those that were
    logged, in that order) against the step, from the CSV logs ``run_dir/logs/csv*/metrics.csv``
    (a resumed run adds ``csv_1``...); writes ``run_dir/plots/loss.png`` (or ``out``)."""
    run_dir = Path(run_dir)
    parts = sorted((run_dir / "logs").glob("csv*/metrics.csv"), key=lambda p: (len(p.parent.name), p.parent.name))
    if not parts:
        raise FileNotFoundError(f"no CSV log under {run_dir / 'logs'}")
    rows: list[dict[str, str]] = []
    for part in parts:
        with part.open() as f:
            rows.extend(csv.DictReader(f))
    path = parts[0]
    logged = {c for r in rows for c in r}
    wanted = columns
    shown = sorted(c for c in logged if "loss" in c) if wanted is None else [c for c in wanted if c in logged]
    if not shown:
        raise ValueError(f"{path} has no loss column" + ("" if wanted is None else " of those asked for"))
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for col in shown:
        pts = [(int(r["step"]), float(r[col])) for r in rows if r.get(col) not in ("", None)]
        if pts:
            xs, ys = zip(*pts)
            ax.plot(xs, ys, label=col, marker="." if len(pts) < 50 else None,
                    linestyle="--" if col.startswith("val") else "-")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    out = Path(out) if out else run_dir / "plots" / "loss.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def plot_embeddings(embeddings, labels, path: str | Path, title: str = "embeddings") -> Path:
    """2-D PCA projection of ``embeddings`` ``(N, D)`` coloured by ``labels`` ``(N,)``; writes a PNG."""
    from sklearn.decomposition import PCA

    x = np.asarray(embeddings, dtype=np.float64)
    y = np.asarray(labels)
    if x.ndim != 2 or len(x) != len(y) or len(x) < 2:
        raise ValueError(f"embeddings must be (N, D) with N >= 2 matching labels (N,); got {x.shape}, {y.shape}")
    xy = PCA(n_components=2).fit_transform(x) if x.shape[1] > 2 else x
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    for value in np.unique(y):
        sel = y == value
        ax.scatter(xy[sel, 0], xy[sel, 1], s=6, alpha=0.7, label=str(value))
    if len(np.unique(y)) <= 20:
        ax.legend(fontsize=7, markerscale=2)
    ax.set_title(title)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
