"""contrastkit.train.tables: one table writer, mean ± *sample* std, n stated."""

from __future__ import annotations

import csv

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
