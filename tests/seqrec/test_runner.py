"""Runs: a resumed fit continues the same run directory from its last checkpoint; a resume with
other settings or with nothing to resume is refused; a failed run is not left behind."""

from __future__ import annotations

import json

import pytest
from contrastkit.train import ResumeError, TrainerOptions
from seqrec.baselines import SASRec
from seqrec.config import DataConfig, ModelConfig, TrainConfig
from seqrec.method import MCLRec
from seqrec.runner import Part, fit_parts, fit_run, run_name_of, trainer_options_for

DATA = DataConfig(dataset="synthetic", batch_size=64, synthetic={"num_users": 150, "num_items": 40, "num_topics": 4})


@pytest.mark.slow
def test_resume_continues_the_same_run(tmp_path):
    model = ModelConfig(method="sasrec")
    train, run = TrainConfig(patience=50), {"runs_root": str(tmp_path), "name": "r"}
    first, _ = fit_run(DATA, model, train, max_epochs=2, progress=False, **run)
    saved = json.loads((first / "metrics.json").read_text())
    assert saved["epochs_run"] == 2
    assert 0.0 < saved["best_val/NDCG@20"] <= 1.0  # best.ckpt's score (it was last.ckpt's: none)
    with pytest.raises(ResumeError, match=r"model.hidden: 64 -> 32"):
        fit_run(DATA, ModelConfig(method="sasrec", hidden=32), train, max_epochs=2, resume=True, progress=False,
                **run)
    again, metrics = fit_run(DATA, model, train, max_epochs=3, resume=True, progress=False, **run)
    assert again == first  # same version directory, continued from checkpoints/last.ckpt
    assert json.loads((again / "metrics.json").read_text())["epochs_run"] == 3
    assert (first / "plots" / "loss.png").is_file() and 0.0 <= metrics["test/HR@20"] <= 1.0
    fresh, _ = fit_run(DATA, model, train, max_epochs=2, progress=False, **run)
    assert fresh.name == "version_1"  # never overwritten


def test_unknown_method(tmp_path):
    with pytest.raises(ValueError, match="model.method"):
        fit_run(DATA, ModelConfig(method="gru4rec"), TrainConfig(), runs_root=str(tmp_path), progress=False)


def test_resume_without_a_checkpoint_is_refused_and_a_failed_run_removed(tmp_path):
    """Nothing to resume is an error; a run failing before a checkpoint goes."""
    with pytest.raises(ResumeError, match="no run of .* has a checkpoint"):
        fit_run(DATA, ModelConfig(method="sasrec"), TrainConfig(), runs_root=str(tmp_path), name="x",
                resume=True)
    bad = DataConfig(dataset=str(tmp_path / "missing.txt"))
    with pytest.raises(FileNotFoundError):
        fit_run(bad, ModelConfig(method="sasrec"), TrainConfig(), runs_root=str(tmp_path), name="x",
                progress=False)
    assert not list((tmp_path / "seqrec" / "x").glob("version_*"))


def test_resume_may_move_the_run_to_other_devices(tmp_path):
    """A resume may change where the run trains (--trainer.devices, accelerator, strategy),
    not what it trains (--trainer.precision stays)."""
    model, train = ModelConfig(method="sasrec", hidden=16, inner=32), TrainConfig()
    first, _ = fit_run(DATA, model, train, runs_root=str(tmp_path), max_epochs=1, progress=False,
                       trainer=TrainerOptions(accelerator="cpu"))
    moved = TrainerOptions(accelerator="auto", devices=1, strategy="auto")
    again, _ = fit_run(DATA, model, train, runs_root=str(tmp_path), max_epochs=2, resume=True, progress=False,
                       trainer=moved)
    assert again == first and json.loads((first / "metrics.json").read_text())["epochs_run"] == 2
    with pytest.raises(ResumeError, match="trainer.precision"):
        fit_run(DATA, model, train, runs_root=str(tmp_path), max_epochs=1, resume=True, progress=False,
                trainer=TrainerOptions(precision="64-true"))


def test_run_name_of_a_checkpoint():
    assert run_name_of("runs/seqrec/beauty_mclrec/version_3/checkpoints/best.ckpt") == "beauty_mclrec"
    assert run_name_of("runs/seqrec/demo/version_0/mclrec/checkpoints/last.ckpt") == "demo_mclrec"
    assert run_name_of("/somewhere/model.ckpt") == "model"


def test_mclrec_asks_ddp_to_find_unused_parameters():
    """Each of MCLRec's backward passes reaches only the encoder or only the augmenters;
    plain ddp refuses that, so the runner asks for find_unused_parameters (automatic methods keep ddp)."""
    mclrec, sasrec = MCLRec(10, hidden=8, inner=16), SASRec(10, hidden=8, inner=16)
    ddp = TrainerOptions(devices=2, strategy="ddp")
    assert trainer_options_for(mclrec, ddp).strategy == "ddp_find_unused_parameters_true"
    assert trainer_options_for(mclrec, TrainerOptions(devices=2)).strategy == "ddp_find_unused_parameters_true"
    assert trainer_options_for(mclrec, TrainerOptions(num_nodes=2, strategy="ddp_spawn")).strategy == \
        "ddp_spawn_find_unused_parameters_true"
    assert trainer_options_for(mclrec, TrainerOptions()) == TrainerOptions()  # one process: untouched
    assert trainer_options_for(sasrec, ddp) == ddp


def test_a_part_that_early_stopping_ended_is_read_back(tmp_path, capsys):
    """A resumed demo or study does not retrain a part early stopping finished."""
    part = tmp_path / "sasrec"
    part.mkdir()
    (part / "metrics.json").write_text(json.dumps({"stopped_early": True, "test/HR@5": 0.25, "epochs_run": 7}))
    got = fit_parts(tmp_path, DATA, {"sasrec": Part(ModelConfig(method="sasrec"), TrainConfig(), 0)}, max_epochs=1)
    assert got == {"sasrec": {"test/HR@5": 0.25}}
    assert not (part / "checkpoints").exists() and "read back" in capsys.readouterr().out


def test_metrics_say_when_early_stopping_ended_the_fit(tmp_path):
    """Testing the best checkpoint restores the callbacks' state of its epoch (before early
    stopping fired): ``stopped_early`` must be read before that, or it always says False."""
    run_dir, _ = fit_run(DATA, ModelConfig(method="sasrec", hidden=16, inner=32), TrainConfig(patience=1),
                         runs_root=str(tmp_path), name="stop", max_epochs=40, progress=False)
    saved = json.loads((run_dir / "metrics.json").read_text())
    assert saved["epochs_run"] < 40  # patience 1 ends this tiny fit long before 40 epochs
    assert saved["stopped_early"] is True
