"""contrastkit.train.tables: one table writer, mean ± *sample* std, n stated."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from contrastkit.train.tables import format_summary, markdown_table, seed_table, summarize, write_table


def test_summary_is_the_mean_and_the_sample_standard_deviation():
    values = np.random.default_rng(0).normal(size=7)
    summary = summarize(values)
    assert summary.n == 7
    assert summary.mean == pytest.approx(np.mean(values), rel=1e-15)
    assert summary.std == pytest.approx(np.std(values, ddof=1), rel=1e-14)
    assert summary.std > np.std(values)  # the population std would be smaller


def test_one_value_has_no_spread_and_non_finite_values_are_refused():
    assert format_summary(summarize([0.5])) == "0.500"
    assert format_summary(summarize([1.0, 2.0]), digits=2) == "1.50 ± 0.71"
    with pytest.raises(ValueError, match="1 of 3 values are not finite"):
        summarize([0.1, float("nan"), 0.2])
    with pytest.raises(ValueError, match="no values"):
        summarize([])


def test_seed_table_states_n_and_refuses_ragged_rows(tmp_path):
    header, rows = seed_table({"comet": {"acc": [0.8, 0.9], "f1": [0.7, 0.8]}}, ["acc", "f1"], digits=2)
    assert header == ["method", "acc", "f1", "n"]
    assert rows == [["comet", "0.85 ± 0.07", "0.75 ± 0.07", "2"]]
    with pytest.raises(ValueError, match="different numbers of values"):
        seed_table({"x": {"acc": [0.8, 0.9], "f1": [0.7]}}, ["acc", "f1"])
    csv_path, md_path = write_table(tmp_path / "table", header, rows)
    assert list(csv.reader(csv_path.open())) == [header, *rows]
    assert md_path.read_text() == markdown_table(header, rows)
    assert md_path.read_text().splitlines()[1] == "|---|---|---|---|"


def _paired_reference(a, b, level):
    """Plain numpy/float64: differences, their mean, sample std and the t quantile from scipy."""
    from scipy.stats import t

    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    half = t.ppf((1 + level) / 2, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    return d.mean(), d.mean() - half, d.mean() + half, int((d > 0).sum()), int((d == 0).sum()), int((d < 0).sum())


@pytest.mark.parametrize("level", [0.9, 0.95])
def test_paired_comparison_matches_a_numpy_reference(level):
    from contrastkit.train.tables import paired_comparison

    rng = np.random.default_rng(3)
    a = rng.normal(0.7, 0.05, 15)
    b = a - rng.normal(0.02, 0.03, 15)
    b[4] = a[4]  # one tie
    p = paired_comparison(a.tolist(), b.tolist(), level)
    mean, low, high, wins, ties, losses = _paired_reference(a, b, level)
    assert (p.n, p.wins, p.ties, p.losses) == (15, wins, ties, losses)
    assert p.mean_diff == pytest.approx(mean, abs=1e-12)
    assert (p.low, p.high) == (pytest.approx(low, abs=1e-12), pytest.approx(high, abs=1e-12))
    assert p.low < p.mean_diff < p.high


def test_paired_comparison_with_clusters_puts_the_interval_over_cluster_means():
    """5 folds x 3 seeds: the interval is Student's t over the 5 fold means (4 degrees of
    freedom), reference in float64 numpy; wins count the 15 pairs; one pair per cluster is the
    plain interval."""
    from contrastkit.train.tables import paired_comparison
    from scipy.stats import t

    rng = np.random.default_rng(5)
    a = rng.normal(0.55, 0.1, 15)
    b = a - rng.normal(0.02, 0.05, 15)
    folds = [f"fold{i % 5}" for i in range(15)]
    p = paired_comparison(a.tolist(), b.tolist(), 0.95, clusters=folds)
    d = (a - b).reshape(3, 5)  # row = seed, column = fold (the label order above)
    fold_means = d.mean(axis=0)
    half = t.ppf(0.975, 4) * fold_means.std(ddof=1) / np.sqrt(5)
    assert (p.n, p.groups, p.wins, p.ties, p.losses) == (15, 5, int((d > 0).sum()), 0, int((d < 0).sum()))
    assert p.mean_diff == pytest.approx(fold_means.mean(), abs=1e-12)
    assert (p.low, p.high) == (pytest.approx(fold_means.mean() - half, abs=1e-12),
                               pytest.approx(fold_means.mean() + half, abs=1e-12))
    plain = paired_comparison(a.tolist(), b.tolist(), 0.95)
    assert plain.groups == 15
    assert paired_comparison(a.tolist(), b.tolist(), 0.95, clusters=list(range(15))) == plain
    one = paired_comparison(a.tolist(), b.tolist(), 0.95, clusters=["fold0"] * 15)
    assert one.groups == 1 and math.isnan(one.low)
    with pytest.raises(ValueError, match="3 cluster labels for 15 pairs"):
        paired_comparison(a.tolist(), b.tolist(), clusters=folds[:3])


def test_paired_comparison_of_one_pair_has_no_interval_and_refuses_unequal_lengths():
    from contrastkit.train.tables import format_paired, paired_comparison

    p = paired_comparison([0.6], [0.5])
    assert p.wins == 1 and math.isnan(p.low) and math.isnan(p.high)
    assert format_paired(p) == "+0.100, 1/1 wins"
    assert format_paired(paired_comparison([0.6, 0.7, 0.5], [0.5, 0.7, 0.6])) == "+0.000 [-0.248, +0.248], 1/3 wins, 1 ties"
    with pytest.raises(ValueError, match="differ in length"):
        paired_comparison([0.1, 0.2], [0.1])
    with pytest.raises(ValueError, match="not finite"):
        paired_comparison([float("nan"), 0.2], [0.1, 0.2])
