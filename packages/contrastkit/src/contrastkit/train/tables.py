"""Result tables, written one way in every app: mean ± sample standard deviation over seeds (or
folds), with the number of values stated, as CSV (for programs) and Markdown (for READMEs).

``mean ± std`` uses the *sample* standard deviation ``s = sqrt(sum (x_i - mean)^2 / (n - 1))``
(the spread one would expect between independent repeats), never the population one; a cell of
one value shows the value alone, and ``n`` is always a column of its own.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Hashable, Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

from contrastkit.atomic import write_text_atomic


class Summary(NamedTuple):
    """``mean``, sample ``std`` (NaN for one value) and ``n`` of the finite values summarized."""

    mean: float
    std: float
    n: int


def summarize(values: Iterable[float]) -> Summary:
    """:class:`Summary` of ``values``; non-finite values are an error (a diverged seed must be
    seen, not averaged away), and so is an empty list."""
    xs = [float(v) for v in values]
    if not xs:
        raise ValueError("no values to summarize")
    bad = [v for v in xs if not math.isfinite(v)]
    if bad:
        raise ValueError(f"{len(bad)} of {len(xs)} values are not finite ({bad[0]}); a run diverged or failed")
    n = len(xs)
    mean = math.fsum(xs) / n
    std = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (n - 1)) if n > 1 else math.nan
    return Summary(mean, std, n)


def format_summary(summary: Summary, digits: int = 3) -> str:
    """``"0.812 ± 0.013"``, or ``"0.812"`` for one value."""
    if summary.n == 1:
        return f"{summary.mean:.{digits}f}"
    return f"{summary.mean:.{digits}f} ± {summary.std:.{digits}f}"


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A GitHub Markdown table: a header row, a rule, then one line per row."""
    lines = ["| " + " | ".join(str(h) for h in header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"a row has {len(row)} cells for {len(header)} columns: {list(row)}")
        lines.append("| " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(lines) + "\n"


def write_table(stem: str | Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> tuple[Path, Path]:
    """Write ``<stem>.csv`` and ``<stem>.md`` atomically; returns both paths."""
    stem = Path(stem)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    csv_path = write_text_atomic(stem.with_suffix(".csv"), text.getvalue())
    md_path = write_text_atomic(stem.with_suffix(".md"), markdown_table(header, rows))
    return csv_path, md_path


def seed_table(results: dict[str, dict[str, Sequence[float]]], metrics: Sequence[str], digits: int = 3,
               row_name: str = "method") -> tuple[list[str], list[list[str]]]:
    """``(header, rows)`` of a table of ``results[row][metric] = [value per seed]``: one row per
    entry of ``results``, one ``mean ± std`` column per metric and a column ``n`` (the number of
    seeds, which must be the same for every metric of a row)."""
    header = [row_name, *metrics, "n"]
    rows = []
    for name, per_metric in results.items():
        summaries = [summarize(per_metric[m]) for m in metrics]
        counts = {s.n for s in summaries}
        if len(counts) != 1:
            raise ValueError(f"row {name!r}: the metrics have different numbers of values {sorted(counts)}")
        rows.append([name, *(format_summary(s, digits) for s in summaries), str(counts.pop())])
    return header, rows


class Paired(NamedTuple):
    """Method A against method B on the same units (folds x seeds): ``n`` pairs, ``wins`` /
    ``ties`` / ``losses`` of A, the mean difference ``A - B`` and its two-sided ``level``
    confidence interval ``[low, high]`` (Student's t over the ``groups`` independent differences:
    the ``n`` pairs, or their cluster means; NaN for one group)."""

    n: int
    wins: int
    ties: int
    losses: int
    mean_diff: float
    low: float
    high: float
    groups: int


def paired_comparison(a: Sequence[float], b: Sequence[float], level: float = 0.95,
                      clusters: Sequence[Hashable] | None = None) -> Paired:
    """:class:`Paired` of ``d_i = a[i] - b[i]`` (``a`` and ``b`` scored on the same unit ``i``).

    ``mean ± t_{(1+level)/2, G-1} * s / sqrt(G)`` over ``G`` independent differences with sample
    std ``s``: the interval of the mean paired gain, which excludes 0 when the gain is more than
    unit noise. Without ``clusters`` the ``G = n`` differences are the pairs themselves.

    ``clusters`` (a label per pair, e.g. the fold it was scored on): pairs sharing a label are not
    independent draws (the seeds of one fold share its test subjects), so the differences are first
    averaged per label and the mean and interval are over those ``G`` cluster means (wins, ties and
    losses still count the pairs). One pair per label gives the plain interval.
    """
    from scipy.stats import t as student_t

    if len(a) != len(b):
        raise ValueError(f"paired values differ in length: {len(a)} and {len(b)}")
    if clusters is not None and len(clusters) != len(a):
        raise ValueError(f"{len(clusters)} cluster labels for {len(a)} pairs")
    diffs = [float(x) - float(y) for x, y in zip(a, b)]
    summarize(diffs)  # refuses an empty or non-finite list
    per_cluster: dict[Hashable, list[float]] = {}
    for i, d in enumerate(diffs):
        per_cluster.setdefault(i if clusters is None else clusters[i], []).append(d)
    s = summarize(math.fsum(ds) / len(ds) for ds in per_cluster.values())
    half = (student_t.ppf((1 + level) / 2, s.n - 1) * s.std / math.sqrt(s.n)) if s.n > 1 else math.nan
    return Paired(len(diffs), sum(d > 0 for d in diffs), sum(d == 0 for d in diffs), sum(d < 0 for d in diffs),
                  s.mean, s.mean - half, s.mean + half, s.n)


def format_paired(p: Paired, digits: int = 3) -> str:
    """``"+0.041 [+0.012, +0.070], 11/15 wins"`` (ties, when any, said too)."""
    interval = f" [{p.low:+.{digits}f}, {p.high:+.{digits}f}]" if p.groups > 1 else ""
    ties = f", {p.ties} ties" if p.ties else ""
    return f"{p.mean_diff:+.{digits}f}{interval}, {p.wins}/{p.n} wins{ties}"
