"""scripts/parity_curves.py: per-epoch values read from CSV logs (resume-aware), mean ± std over
seeds, the reference CSV checked, one figure."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import parity_curves


def _log(run: Path, part: str, rows: list[dict]) -> None:
    path = run / "logs" / part / "metrics.csv"
    path.parent.mkdir(parents=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["epoch", "step", "train/loss", "val/HR@10"])
        writer.writeheader()
        writer.writerows(rows)


def test_epoch_values_take_each_epochs_validation_and_follow_a_resume(tmp_path):
    run = tmp_path / "run"
    _log(run, "csv", [{"epoch": 0, "step": 9, "train/loss": 3.0, "val/HR@10": ""},
                      {"epoch": 0, "step": 10, "train/loss": "", "val/HR@10": 0.1},
                      {"epoch": 1, "step": 20, "train/loss": "", "val/HR@10": 0.5}])  # killed after this
    _log(run, "csv_1", [{"epoch": 1, "step": 20, "train/loss": "", "val/HR@10": 0.2}])  # resumed epoch 1
    assert parity_curves.epoch_values(run, ["val/HR@10"]) == {"val/HR@10": {0: 0.1, 1: 0.2}}
    with pytest.raises(ValueError, match="val/NDCG@10"):
        parity_curves.epoch_values(run, ["val/NDCG@10"])


def test_table_is_mean_and_std_over_runs_per_epoch(tmp_path):
    runs = [{"m": {0: 0.1, 1: 0.3}}, {"m": {0: 0.3}}]
    curves = parity_curves.stack(runs, ["m"])
    assert np.isnan(curves["m"][1, 1])
    table = parity_curves.markdown_table({"ours": curves}, ["m"])
    assert f"| ours | 1 | 0.2000 ± {np.std([0.1, 0.3], ddof=1):.4f} (2) |" in table
    assert "| ours | 2 | 0.3000 |" in table


def test_reference_csv_needs_the_metric_columns_and_the_figure_is_written(tmp_path):
    ref = tmp_path / "official.csv"
    ref.write_text("epoch,m\n0,0.05\n1,0.07\n")
    assert parity_curves.reference_values(ref, ["m"]) == {"m": {0: 0.05, 1: 0.07}}
    with pytest.raises(ValueError, match="missing \\['x'\\]"):
        parity_curves.reference_values(ref, ["x"])
    curves = {"official": parity_curves.stack([parity_curves.reference_values(ref, ["m"])], ["m"])}
    out = parity_curves.plot(curves, ["m"], tmp_path / "fig.png", "t")
    assert out.stat().st_size > 1000


def test_epochs_placed_at_training_minutes_when_given(tmp_path):
    assert parity_curves.x_values(3).tolist() == [1.0, 2.0, 3.0]
    assert parity_curves.x_values(3, 2.5).tolist() == [2.5, 5.0, 7.5]
    with pytest.raises(ValueError, match="minutes per epoch"):
        parity_curves.x_values(3, 0.0)
    curves = {"a": parity_curves.stack([{"m": {0: 0.1, 1: 0.2}}], ["m"]),
              "b": parity_curves.stack([{"m": {0: 0.1}}], ["m"])}
    out = parity_curves.plot(curves, ["m"], tmp_path / "t.png", "t", minutes={"a": 1.0, "b": 6.0})
    assert out.stat().st_size > 1000
