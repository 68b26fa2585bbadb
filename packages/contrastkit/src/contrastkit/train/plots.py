"""PNG plots written into a run directory: loss curves and a 2-D projection of embeddings."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from contrastkit.atomic import write_bytes_atomic


def pyplot():
    """``matplotlib.pyplot`` with the file-only ``Agg`` backend (no screen needed): the one way
    every app's figures are drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


_pyplot = pyplot  # the name apps used before it was public


def save_figure(fig, path: str | Path, dpi: int = 120) -> Path:
    """Write a matplotlib figure to ``path`` atomically (folders created; the format follows the
    suffix), close it, return the path."""
    path = Path(path)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=dpi, format=path.suffix.lstrip(".") or "png")
    pyplot().close(fig)
    return write_bytes_atomic(path, buffer.getvalue())


def read_logged_rows(run_dir: str | Path) -> list[dict[str, str]]:
    """The rows of a run's CSV logs in training order, resume-aware.

    A resumed fit logs into ``csv_1``, ``csv_2``...; the killed part may have logged steps past
    the checkpoint it was resumed from. Those steps were trained again, so each part is cut where
    the next one starts: the curve reads like the uninterrupted run's.
    """
    run_dir = Path(run_dir)
    parts = sorted((run_dir / "logs").glob("csv*/metrics.csv"), key=lambda p: (len(p.parent.name), p.parent.name))
    if not parts:
        raise FileNotFoundError(f"no CSV log under {run_dir / 'logs'}")
    logged = []
    for part in parts:
        with part.open() as f:
            logged.append([r for r in csv.DictReader(f) if r.get("step") not in ("", None)])
    rows: list[dict[str, str]] = []
    for k, part_rows in enumerate(logged):
        later = [int(r["step"]) for nxt in logged[k + 1:] for r in nxt]
        cut = min(later) if later else None
        rows.extend(r for r in part_rows if cut is None or int(r["step"]) < cut)
    return rows


def plot_loss_curves(run_dir: str | Path, out: str | Path | None = None, columns: list[str] | None = None,
                     title: str | None = None) -> Path:
    """Plot every logged column whose name contains ``loss`` (or only ``columns``, those that were
    logged, in that order) against the training step, from the run's CSV logs
    (:func:`read_logged_rows`); writes ``run_dir/plots/loss.png`` (or ``out``).

    When the run logged a ``stage`` column (a method trained in stages with different losses),
    each stage is drawn as its own curve, labelled with the stage.
    """
    run_dir = Path(run_dir)
    rows = read_logged_rows(run_dir)
    logged = {c for r in rows for c in r}
    wanted = columns
    shown = sorted(c for c in logged if "loss" in c) if wanted is None else [c for c in wanted if c in logged]
    if not shown:
        raise ValueError(f"{run_dir / 'logs'} has no loss column" + ("" if wanted is None else " of those asked for"))
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for label, xs, ys in loss_curves(rows, shown):
        ax.plot(xs, ys, label=label, marker="." if len(xs) < 50 else None,
                linestyle="--" if label.startswith("val") else "-")
    ax.set_xlabel("training step")
    ax.set_ylabel("loss")
    ax.set_title(title or f"losses of {run_dir.parent.name}/{run_dir.name}")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return save_figure(fig, Path(out) if out else run_dir / "plots" / "loss.png")


def loss_curves(rows: list[dict[str, str]], columns: list[str]) -> list[tuple[str, list[int], list[float]]]:
    """``(label, steps, values)`` per column, split by stage when a ``stage`` column was logged."""
    stage_of = _stage_per_step(rows)
    curves = []
    for col in columns:
        pts = [(int(r["step"]), float(r[col])) for r in rows if r.get(col) not in ("", None)]
        for stage in sorted({stage_of.get(step) for step, _ in pts}, key=lambda s: (s is None, s or 0)):
            part = [(x, y) for x, y in pts if stage_of.get(x) == stage]
            xs, ys = zip(*part)
            curves.append((col if stage is None else f"{col} (stage {stage})", list(xs), list(ys)))
    return curves


def _stage_per_step(rows: list[dict[str, str]]) -> dict[int, int | None]:
    """``{step: stage}`` from a logged ``stage`` column, each step taking the last stage logged at
    or before it; empty when no stage was logged."""
    out: dict[int, int | None] = {}
    current = None
    for r in sorted(rows, key=lambda r: int(r["step"])):
        if r.get("stage") not in ("", None):
            current = int(float(r["stage"]))
        out[int(r["step"])] = current
    return out if current is not None else {}


def plot_embeddings(embeddings, labels, path: str | Path, title: str = "embeddings",
                    label_name: str = "label") -> Path:
    """2-D PCA projection of ``embeddings`` ``(N, D)`` coloured by ``labels`` ``(N,)``; writes a PNG
    whose axes name the components and the share of variance each explains."""
    from sklearn.decomposition import PCA

    x = np.asarray(embeddings, dtype=np.float64)
    y = np.asarray(labels)
    if x.ndim != 2 or len(x) != len(y) or len(x) < 2:
        raise ValueError(f"embeddings must be (N, D) with N >= 2 matching labels (N,); got {x.shape}, {y.shape}")
    if x.shape[1] > 2:
        pca = PCA(n_components=2).fit(x)
        xy, share = pca.transform(x), pca.explained_variance_ratio_
        axes = [f"PC {k + 1} ({100 * share[k]:.0f} % of variance)" for k in range(2)]
    else:
        xy, axes = x, ["dimension 1", "dimension 2"]
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    for value in np.unique(y):
        sel = y == value
        ax.scatter(xy[sel, 0], xy[sel, 1], s=6, alpha=0.7, label=str(value))
    if len(np.unique(y)) <= 20:
        ax.legend(fontsize=7, markerscale=2, title=label_name, title_fontsize=7)
    ax.set_xlabel(axes[0])
    ax.set_ylabel(axes[1])
    ax.set_title(f"{title} (PCA)" if x.shape[1] > 2 else title)
    return save_figure(fig, path)
