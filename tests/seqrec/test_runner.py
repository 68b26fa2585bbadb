"""Runs: a resumed fit continues the same run directory from its last checkpoint."""

from __future__ import annotations

import json

import pytest
from seqrec.config import DataConfig, ModelConfig, TrainConfig
from seqrec.runner import fit_run

DATA = DataConfig(dataset="synthetic", batch_size=64, synthetic={"num_users": 150, "num_items": 40, "num_topics": 4})


@pytest.mark.slow
def test_resume_continues_the_same_run(tmp_path):
    model = ModelConfig(method="sasrec")
    train = TrainConfig(max_epochs=2, patience=50, root=str(tmp_path), name="r", threads=1, progress=False)
    first, _ = fit_run(DATA, model, train)
    assert json.loads((first / "metrics.json").read_text())["epochs_run"] == 2
    again, metrics = fit_run(DATA, model, TrainConfig(**{**vars(train), "max_epochs": 3, "resume": True}))
    assert again == first  # same version directory, continued from checkpoints/last.ckpt
    assert json.loads((again / "metrics.json").read_text())["epochs_run"] == 3
    assert (first / "plots" / "loss.png").is_file() and 0.0 <= metrics["test/HR@20"] <= 1.0
    fresh, _ = fit_run(DATA, model, train)
    assert fresh.name == "version_1"  # never overwritten


def test_unknown_method(tmp_path):
    with pytest.raises(ValueError, match="model.method"):
        fit_run(DATA, ModelConfig(method="gru4rec"), TrainConfig(root=str(tmp_path), progress=False))
