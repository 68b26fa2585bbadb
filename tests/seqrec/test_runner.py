"""Runs: a resumed fit continues the same run directory from its last checkpoint; a resume with
other settings or with nothing to resume is refused; a failed run is not left behind."""

from __future__ import annotations

import json

import pytest
from contrastkit.train import ResumeError
from seqrec.config import DataConfig, ModelConfig, TrainConfig
from seqrec.runner import fit_run

DATA = DataConfig(dataset="synthetic", batch_size=64, synthetic={"num_users": 150, "num_items": 40, "num_topics": 4})


@pytest.mark.slow
def test_resume_continues_the_same_run(tmp_path):
    model = ModelConfig(method="sasrec")
    train = TrainConfig(max_epochs=2, patience=50, root=str(tmp_path), name="r")
    first, _ = fit_run(DATA, model, train, progress=False)
    assert json.loads((first / "metrics.json").read_text())["epochs_run"] == 2
    with pytest.raises(ResumeError, match=r"model.hidden: 64 -> 32"):  # issue 9, item 17
        fit_run(DATA, ModelConfig(method="sasrec", hidden=32), train, resume=True, progress=False)
    again, metrics = fit_run(DATA, model, TrainConfig(**{**vars(train), "max_epochs": 3}), resume=True,
                             progress=False)
    assert again == first  # same version directory, continued from checkpoints/last.ckpt
    assert json.loads((again / "metrics.json").read_text())["epochs_run"] == 3
    assert (first / "plots" / "loss.png").is_file() and 0.0 <= metrics["test/HR@20"] <= 1.0
    fresh, _ = fit_run(DATA, model, train, progress=False)
    assert fresh.name == "version_1"  # never overwritten


def test_unknown_method(tmp_path):
    with pytest.raises(ValueError, match="model.method"):
        fit_run(DATA, ModelConfig(method="gru4rec"), TrainConfig(root=str(tmp_path)), progress=False)


def test_resume_without_a_checkpoint_is_refused_and_a_failed_run_removed(tmp_path):
    """issue 9, items 7 and 18: nothing to resume is an error; a run failing before a checkpoint goes."""
    with pytest.raises(ResumeError, match="no run of .* has a checkpoint"):
        fit_run(DATA, ModelConfig(method="sasrec"), TrainConfig(root=str(tmp_path), name="x"), resume=True)
    bad = DataConfig(dataset=str(tmp_path / "missing.txt"))
    with pytest.raises(FileNotFoundError):
        fit_run(bad, ModelConfig(method="sasrec"), TrainConfig(root=str(tmp_path), name="x"), progress=False)
    assert not list((tmp_path / "seqrec" / "x").glob("version_*"))
