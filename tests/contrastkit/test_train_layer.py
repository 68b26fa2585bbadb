"""Run directories, metrics, plots, resumable training and the CLI entry."""

from __future__ import annotations

import json

import lightning as L
import pytest
import torch
from contrastkit.functional import nt_xent
from contrastkit.train import (
    ContrastiveModule,
    fit_resumable,
    last_checkpoint,
    make_trainer,
    new_run_dir,
    plot_embeddings,
    plot_loss_curves,
    run_cli,
    save_config,
    seed_everything,
    write_metrics,
)
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class ToySimCLR(ContrastiveModule):
    """An MLP with dropout trained by NT-Xent on two noisy views (uses the RNG every step)."""

    def __init__(self, dim: int = 8, lr: float = 1e-2) -> None:
        super().__init__(lr=lr)
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Linear(dim, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 4))

    def compute_losses(self, batch, stage):
        (x,) = batch
        v1 = self.net(x + 0.1 * torch.randn_like(x))
        v2 = self.net(x + 0.1 * torch.randn_like(x))
        return {"loss": nt_xent(v1, v2, temperature=0.5)}


class ToyData(L.LightningDataModule):
    def __init__(self, n: int = 64, dim: int = 8, batch_size: int = 16) -> None:
        super().__init__()
        self.x = torch.randn(n, dim, generator=torch.Generator().manual_seed(0))
        self.batch_size = batch_size

    def train_dataloader(self):
        return DataLoader(TensorDataset(self.x), batch_size=self.batch_size, shuffle=True)


def test_run_dirs_are_versioned_and_never_reused(tmp_path):
    first = new_run_dir(tmp_path, "app", "exp")
    second = new_run_dir(tmp_path, "app", "exp")
    assert (first.name, second.name) == ("version_0", "version_1")
    assert new_run_dir(tmp_path, "app", "exp", resume=True) == second
    with pytest.raises(ValueError, match="name"):
        new_run_dir(tmp_path, "app", "../x")


def test_metrics_merge_and_config(tmp_path):
    write_metrics(tmp_path, {"acc": torch.tensor(0.5), "nan": float("nan")})
    write_metrics(tmp_path, {"f1": 0.25})
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"acc": 0.5, "f1": 0.25, "nan": None}
    assert "lr: 0.1" in save_config(tmp_path, {"lr": 0.1}).read_text()


def _train(run_dir, epochs):
    seed_everything(7)
    module, data = ToySimCLR(), ToyData()
    trainer = make_trainer(run_dir, epochs, progress=False)
    fit_resumable(trainer, module, data, run_dir=run_dir)
    return module


def test_resumed_run_equals_uninterrupted(tmp_path):
    straight = _train(new_run_dir(tmp_path, "toy", "straight"), 4)
    run_dir = new_run_dir(tmp_path, "toy", "resumed")
    _train(run_dir, 2)
    assert last_checkpoint(run_dir) is not None
    resumed = _train(run_dir, 4)  # a new process would do the same: same run dir, last.ckpt
    # the log of the first part is kept, the resumed part is logged beside it
    assert (run_dir / "logs" / "csv" / "metrics.csv").is_file()
    assert (run_dir / "logs" / "csv_1" / "metrics.csv").is_file()
    for (name, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), name
    # and training did change the weights
    fresh = ToySimCLR()
    assert not torch.equal(fresh.net[0].weight, resumed.net[0].weight)


def test_loss_plot_and_embedding_plot(tmp_path):
    run_dir = new_run_dir(tmp_path, "toy", "plots")
    _train(run_dir, 1)
    png = plot_loss_curves(run_dir)
    assert png.read_bytes()[:4] == b"\x89PNG"
    only = plot_loss_curves(run_dir, run_dir / "plots" / "only.png", columns=["train/loss_epoch", "not/logged"])
    assert only.stat().st_size > 1000
    with pytest.raises(ValueError, match="no loss column"):
        plot_loss_curves(run_dir, run_dir / "plots" / "none.png", columns=["not/logged"])
    emb = plot_embeddings(torch.randn(30, 5).numpy(), [i % 3 for i in range(30)], run_dir / "plots" / "e.png")
    assert emb.stat().st_size > 1000
    with pytest.raises(ValueError, match="embeddings"):
        plot_embeddings(torch.randn(3, 5).numpy(), [0, 1], run_dir / "x.png")


def test_cli_dispatches_app_commands_and_lightning(tmp_path, monkeypatch, capsys):
    def hello(name: str = "world", times: int = 1) -> str:
        """Say hello."""
        return " ".join([f"hi {name}"] * times)

    assert run_cli("toy", commands={"hello": hello}, argv=["hello", "--name", "x", "--times", "2"]) == "hi x hi x"
    # from a console script (argv read from sys.argv) nothing is returned: sys.exit(main()) exits 0
    monkeypatch.setattr("sys.argv", ["toy", "hello", "--name", "x"])
    assert run_cli("toy", commands={"hello": hello}) is None
    run_cli("toy", ToySimCLR, ToyData, {"hello": hello}, argv=["--help"])
    assert "hello" in capsys.readouterr().out and "fit" in capsys.readouterr().out + "fit"
    with pytest.raises(SystemExit):
        run_cli("toy", commands={"hello": hello}, argv=["nope"])
    monkeypatch.chdir(tmp_path)
    cli = run_cli("toy", ToySimCLR, ToyData, {}, argv=[
        "fit", "--trainer.max_epochs=1", "--trainer.enable_progress_bar=false", "--model.lr=0.05",
    ])
    assert cli.trainer.current_epoch == 1 and cli.model.lr == 0.05
    assert list((tmp_path / "runs" / "toy").rglob("config.yaml"))
