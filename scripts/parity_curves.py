"""Per-epoch validation curves of our runs beside a reference curve (docs/parity.md).

    .venv/bin/python scripts/parity_curves.py \\
        --ours "MCLRec (ours)=runs/seqrec/parity_mclrec_prefix_s0/version_0,runs/seqrec/parity_mclrec_prefix_s1/version_0" \\
        --reference "MCLRec (official)=docs/parity/official_mclrec_beauty.csv" \\
        --metrics val/HR@10 val/HR@20 val/NDCG@10 val/NDCG@20 --out docs/parity/seqrec_beauty.png

``--ours`` takes ``label=run_dir[,run_dir...]`` (one run per seed; repeatable): each run's
validation metrics after every epoch are read from its CSV logs (resume-aware,
:func:`contrastkit.train.plots.read_logged_rows`). ``--reference`` takes ``label=csv[,csv...]``
(one file per seed; repeatable): CSVs with an ``epoch`` column (0-based) and the same metric
columns, e.g. figures copied from another program's log. Prints a markdown table (mean ± std over the runs of a label, per epoch)
and draws one panel per metric with every label's curve (seed spread shaded).

``--epoch-minutes label=minutes`` (repeatable, then one per label) draws the curves against
training time instead of epochs, epoch ``k`` (1-based) at ``k * minutes``: to compare runs whose
epochs cost different times (the two training forms of seqrec) at equal wall-clock time.
"""

from __future__ import annotations

import argparse
import csv
import warnings
from pathlib import Path

import numpy as np
from contrastkit.train.plots import read_logged_rows, save_figure

Curves = dict[str, np.ndarray]  # metric -> (runs, epochs), NaN where a run has no such epoch


def epoch_values(run_dir: str | Path, metrics: list[str]) -> dict[str, dict[int, float]]:
    """``{metric: {epoch: value}}`` of one run: the last logged value of each metric in each epoch."""
    out: dict[str, dict[int, float]] = {m: {} for m in metrics}
    for row in read_logged_rows(run_dir):
        for m in metrics:
            if row.get(m) not in (None, "") and row.get("epoch") not in (None, ""):
                out[m][int(row["epoch"])] = float(row[m])
    empty = [m for m in metrics if not out[m]]
    if empty:
        raise ValueError(f"{run_dir}: no per-epoch value logged for {empty}")
    return out


def reference_values(path: str | Path, metrics: list[str]) -> dict[str, dict[int, float]]:
    """``{metric: {epoch: value}}`` from a CSV with an ``epoch`` column and the metric columns."""
    with Path(path).open() as f:
        rows = list(csv.DictReader(f))
    missing = [m for m in ["epoch", *metrics] if rows and m not in rows[0]]
    if not rows or missing:
        raise ValueError(f"{path}: need the columns epoch, {', '.join(metrics)} and at least one row; missing {missing}")
    return {m: {int(r["epoch"]): float(r[m]) for r in rows} for m in metrics}


def stack(runs: list[dict[str, dict[int, float]]], metrics: list[str]) -> Curves:
    """Runs' values as ``(runs, epochs)`` arrays per metric, NaN-padded to the longest run."""
    n_epochs = 1 + max(e for run in runs for m in metrics for e in run[m])
    curves = {}
    for m in metrics:
        curves[m] = np.full((len(runs), n_epochs), np.nan)
        for i, run in enumerate(runs):
            for e, v in run[m].items():
                curves[m][i, e] = v
    return curves


def _cell(column: np.ndarray) -> str:
    values = column[~np.isnan(column)]
    if len(values) == 0:
        return ""
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{values.mean():.4f} ± {values.std(ddof=1):.4f} ({len(values)})"


def markdown_table(labelled: dict[str, Curves], metrics: list[str]) -> str:
    """One row per (label, epoch); a cell is the mean ± std over runs (their count in brackets)."""
    lines = ["| curve | epoch | " + " | ".join(metrics) + " |", "|---|---|" + "---|" * len(metrics)]
    for label, curves in labelled.items():
        for e in range(curves[metrics[0]].shape[1]):
            lines.append(f"| {label} | {e + 1} | " + " | ".join(_cell(curves[m][:, e]) for m in metrics) + " |")
    return "\n".join(lines)


def x_values(n_epochs: int, minutes_per_epoch: float | None = None) -> np.ndarray:
    """Where epochs ``1..n_epochs`` sit on the x axis: the epoch itself, or with
    ``minutes_per_epoch`` the training minutes at its end (``k * minutes_per_epoch``)."""
    epochs = np.arange(1, n_epochs + 1, dtype=float)
    if minutes_per_epoch is None:
        return epochs
    if not minutes_per_epoch > 0:
        raise ValueError(f"minutes per epoch must be > 0; got {minutes_per_epoch}")
    return epochs * minutes_per_epoch


def plot(labelled: dict[str, Curves], metrics: list[str], out: str | Path, title: str, logy: bool = False,
         minutes: dict[str, float] | None = None) -> Path:
    """One panel per metric: each label's mean over runs against the epoch (or, with ``minutes``
    ``{label: minutes per epoch}``, against training minutes), min-max shaded (``logy``:
    logarithmic value axis, for curves that fall by orders of magnitude)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(metrics), figsize=(max(6.5, 3.4 * len(metrics)), 3.6), squeeze=False)
    for ax, m in zip(axes[0], metrics):
        for label, curves in labelled.items():
            values = curves[m]
            epochs = x_values(values.shape[1], minutes[label] if minutes else None)
            with warnings.catch_warnings():  # epochs no run logged (a stage without validation) stay gaps
                warnings.simplefilter("ignore", RuntimeWarning)
                mean, low, high = (f(values, axis=0) for f in (np.nanmean, np.nanmin, np.nanmax))
            ax.plot(epochs, mean, marker="o" if len(epochs) <= 30 else None, label=label)
            if values.shape[0] > 1:
                ax.fill_between(epochs, low, high, alpha=0.2)
        ax.set_xlabel("training minutes" if minutes else "epoch")
        ax.set_title(m, fontsize=9)
        if logy:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, out)


def _split(spec: str) -> tuple[str, list[str]]:
    label, sep, paths = spec.partition("=")
    if not sep or not paths:
        raise SystemExit(f"expected label=path[,path...], got {spec!r}")
    return label, paths.split(",")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ours", action="append", default=[], help="label=run_dir[,run_dir...]")
    parser.add_argument("--reference", action="append", default=[], help="label=csv[,csv...]")
    parser.add_argument("--metrics", nargs="+", required=True)
    parser.add_argument("--out", required=True, help="PNG path")
    parser.add_argument("--title", default="validation after each epoch")
    parser.add_argument("--logy", action="store_true", help="logarithmic value axis")
    parser.add_argument("--epoch-minutes", action="append", default=[],
                        help="label=minutes per epoch: x axis in training minutes (one per label)")
    args = parser.parse_args()
    labelled: dict[str, Curves] = {}
    for spec in args.reference:
        label, paths = _split(spec)
        labelled[label] = stack([reference_values(p, args.metrics) for p in paths], args.metrics)
    for spec in args.ours:
        label, runs = _split(spec)
        labelled[label] = stack([epoch_values(r, args.metrics) for r in runs], args.metrics)
    minutes = {}
    for spec in args.epoch_minutes:
        label, values = _split(spec)
        minutes[label] = float(values[0])
    if minutes and set(minutes) != set(labelled):
        raise SystemExit(f"--epoch-minutes needs one value per curve: {sorted(labelled)}; got {sorted(minutes)}")
    print(markdown_table(labelled, args.metrics))
    print(f"figure: {plot(labelled, args.metrics, args.out, args.title, args.logy, minutes or None)}")


if __name__ == "__main__":
    main()
