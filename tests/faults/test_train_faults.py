"""Fault probes of the shared training layer (issue 9): checkpoints, resume, run directories."""

from __future__ import annotations

import os
import pickle
import random

import lightning as L
import pytest
import torch
from contrastkit.train import (
    CheckpointError,
    ContrastiveModule,
    NonFiniteLossError,
    ResumeError,
    failure_marked,
    fit_resumable,
    load_checkpoint,
    make_trainer,
    new_run_dir,
    open_run,
    run_cli,
    seed_everything,
)
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class Regressor(ContrastiveModule):
    """A linear model whose validation metric gets worse every epoch (``val/score`` = -epoch)."""

    def __init__(self, lr: float = 1e-2, blow_up_at_step: int = -1) -> None:
        super().__init__(lr=lr)
        self.save_hyperparameters()
        self.net = nn.Linear(4, 1)

    def compute_losses(self, batch, stage):
        (x,) = batch
        loss = self.net(x).pow(2).mean()
        if stage == "train" and self.global_step == self.hparams.blow_up_at_step:
            loss = loss * float("nan")
        if stage == "val":
            self.log("val/score", -float(self.current_epoch), batch_size=len(x))
        return {"loss": loss}


class Data(L.LightningDataModule):
    def __init__(self) -> None:
        super().__init__()
        self.x = torch.randn(32, 4, generator=torch.Generator().manual_seed(0))

    def train_dataloader(self):
        return DataLoader(TensorDataset(self.x), batch_size=8)

    def val_dataloader(self):
        return DataLoader(TensorDataset(self.x), batch_size=8)


def _fit(run_dir, epochs, **module_kwargs):
    seed_everything(0)
    trainer = make_trainer(run_dir, epochs, monitor="val/score", mode="max", progress=False,
                           num_sanity_val_steps=0)
    return fit_resumable(trainer, Regressor(**module_kwargs), Data(), run_dir=run_dir), trainer


def test_last_checkpoint_is_written_every_epoch_although_the_metric_worsens(tmp_path):
    """issue 9, item 14: last.ckpt was refreshed only when the monitored metric improved."""
    run_dir = new_run_dir(tmp_path, "t", "worse")
    best, _ = _fit(run_dir, 4)
    assert load_checkpoint(run_dir / "checkpoints" / "last.ckpt")["epoch"] == 3
    assert best.name == "best.ckpt" and load_checkpoint(best)["epoch"] == 0


def test_empty_truncated_and_random_checkpoints_name_the_file(tmp_path):
    """issue 9, item 12: a zero-byte last.ckpt gave a bare EOFError."""
    run_dir = new_run_dir(tmp_path, "t", "broken")
    _fit(run_dir, 1)
    last = run_dir / "checkpoints" / "last.ckpt"
    whole = last.read_bytes()
    for content, why in ((b"", "empty"), (whole[: len(whole) // 2], "truncated"), (random.Random(0).randbytes(300), "corrupt|truncated")):
        last.write_bytes(content)
        with pytest.raises(CheckpointError, match=why) as info:
            _fit(run_dir, 2)
        assert str(last) in str(info.value) and "--resume" in str(info.value)


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_a_pickle_that_runs_code_is_refused(tmp_path, monkeypatch):
    """issue 9, item 1: every load is weights_only=True."""
    monkeypatch.chdir(tmp_path)
    evil = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "payload": _RunsCode()}, evil)
    with pytest.raises(CheckpointError, match="refused.*posix.system"):
        load_checkpoint(evil)
    # pickled with a newer protocol, torch's safe unpickler stops even earlier: still refused
    torch.save({"state_dict": {}, "payload": _RunsCode()}, evil, pickle_protocol=pickle.HIGHEST_PROTOCOL)
    with pytest.raises(CheckpointError, match=str(evil)):
        load_checkpoint(evil)
    assert not (tmp_path / "pwned").exists()


def test_resume_takes_the_newest_run_with_a_checkpoint_and_refuses_when_none(tmp_path, capsys):
    """issue 9, item 7: resume picked an empty newer version and trained from epoch 0."""
    with pytest.raises(ResumeError, match="no run .* has a checkpoint"):
        new_run_dir(tmp_path, "t", "r", resume=True)
    good = new_run_dir(tmp_path, "t", "r")
    _fit(good, 1)
    new_run_dir(tmp_path, "t", "r")  # version_1: failed before its first checkpoint
    assert new_run_dir(tmp_path, "t", "r", resume=True) == good
    assert f"resuming {good}" in capsys.readouterr().out


def test_resume_with_other_settings_is_refused_naming_the_fields(tmp_path):
    """issue 9, item 17: a resume with another fold loaded the old weights and overwrote the run."""
    config = {"data": {"fold": "eth"}, "risk": "erm", "threads": 2}
    run_dir = open_run(tmp_path, "t", "cfg", config)
    _fit(run_dir, 1)
    with pytest.raises(ResumeError, match=r"data.fold: 'eth' -> 'hotel'") as info:
        open_run(tmp_path, "t", "cfg", {**config, "data": {"fold": "hotel"}, "risk": "irm"}, resume=True)
    assert "risk: 'erm' -> 'irm'" in str(info.value)
    assert open_run(tmp_path, "t", "cfg", {**config, "threads": 1}, resume=True) == run_dir  # threads may differ


def test_a_failed_run_leaves_no_empty_version(tmp_path):
    """issue 9, item 18: failed runs left version_K folders that resume and 'latest' picked."""
    empty = open_run(tmp_path, "t", "fail", {"x": 1})
    with pytest.raises(RuntimeError), failure_marked(empty):
        raise RuntimeError("bad argument")
    assert not empty.exists()
    partial = open_run(tmp_path, "t", "fail", {"x": 1})
    (partial / "logs").mkdir()
    (partial / "logs" / "metrics.csv").write_text("step\n")
    with pytest.raises(RuntimeError), failure_marked(partial):
        raise RuntimeError("crash in epoch 0")
    assert "crash in epoch 0" in (partial / "FAILED").read_text()
    with pytest.raises(ResumeError):
        new_run_dir(tmp_path, "t", "fail", resume=True)


def test_a_non_finite_loss_stops_the_run_at_its_step(tmp_path):
    """issue 9, item 2: a run whose loss becomes non-finite stops with an error giving the step."""
    run_dir = new_run_dir(tmp_path, "t", "nan")
    with pytest.raises(NonFiniteLossError, match="global step 5"):
        _fit(run_dir, 3, blow_up_at_step=5)


def test_lightning_fit_that_fails_before_a_checkpoint_leaves_nothing(tmp_path):
    """issue 9, item 18, through the CLI: a crash in the first epoch."""
    with pytest.raises(NonFiniteLossError):
        run_cli("t", Regressor, Data, {}, argv=["fit", "--root", str(tmp_path), "--name", "crash",
                                               "--model.blow_up_at_step=0", "--trainer.enable_progress_bar=false"])
    leftovers = list((tmp_path / "t" / "crash").glob("version_*"))
    assert all((v / "FAILED").is_file() for v in leftovers), leftovers
