"""The shared training layer: run directories, resume, checkpoints, plots, the CLI entry."""

from __future__ import annotations

import json
import subprocess
import sys

import lightning as L
import pytest
import torch
from contrastkit.functional import nt_xent_loss
from contrastkit.train import (
    ContrastiveModule,
    EpochShuffleSampler,
    export_encoder,
    fit_resumable,
    last_checkpoint,
    load_checkpoint,
    load_encoder,
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
        return {"loss": nt_xent_loss(v1, v2, temperature=0.5)}


class ToyData(L.LightningDataModule):
    """64 random points; the training order comes from an epoch-seeded sampler."""

    def __init__(self, n: int = 64, dim: int = 8, batch_size: int = 16, seed: int = 0) -> None:
        super().__init__()
        self.x = torch.randn(n, dim, generator=torch.Generator().manual_seed(0))
        self.batch_size, self.seed = batch_size, seed

    def train_dataloader(self):
        data = TensorDataset(self.x)
        return DataLoader(data, batch_size=self.batch_size, sampler=EpochShuffleSampler(len(data), self.seed))


def test_run_dirs_are_versioned_and_never_reused(tmp_path):
    first = new_run_dir(tmp_path, "app", "exp")
    second = new_run_dir(tmp_path, "app", "exp")
    assert (first.name, second.name) == ("version_0", "version_1")
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


def test_epoch_sampler_order_depends_on_seed_and_epoch_only():
    running = EpochShuffleSampler(50, seed=3)
    orders = []
    for epoch in range(3):
        running.set_epoch(epoch)
        orders.append(list(running))
    fresh = EpochShuffleSampler(50, seed=3)
    fresh.set_epoch(2)  # a resumed run's first epoch
    assert list(fresh) == orders[2]
    assert orders[0] != orders[1] and sorted(orders[0]) == list(range(50))
    assert list(EpochShuffleSampler(5, shuffle=False)) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="n must be"):
        EpochShuffleSampler(0)


def test_neighbouring_seeds_do_not_replay_each_others_epochs():
    """Seed 4's epoch 0 is not seed 3's epoch 1 (as it was with ``seed + epoch``)."""
    def order(seed, epoch):
        sampler = EpochShuffleSampler(50, seed=seed)
        sampler.set_epoch(epoch)
        return list(sampler)

    assert all(order(4, e) != order(3, e + 1) for e in range(3))
    with pytest.raises(ValueError, match="seed must be >= 0"):
        EpochShuffleSampler(5, seed=-1)


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


def test_exported_encoder_round_trip(tmp_path):
    net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    path = export_encoder(net, tmp_path / "enc", {"dim": 4}, "toy.Encoder")
    assert path.suffix == ".safetensors" and path.with_suffix(".json").is_file()
    state, cls, config = load_encoder(path)
    assert (cls, config) == ("toy.Encoder", {"dim": 4})
    for k, v in net.state_dict().items():
        assert torch.equal(state[k], v)


def test_lightning_checkpoint_loads_without_unpickling_code(tmp_path):
    run_dir = new_run_dir(tmp_path, "toy", "safe")
    _train(run_dir, 1)
    ckpt = load_checkpoint(last_checkpoint(run_dir))
    assert ckpt["epoch"] == 0 and "state_dict" in ckpt and "contrastkit_rng" in ckpt


def hello(name: str = "world", times: int = 1) -> str:
    """Say hello."""
    return " ".join([f"hi {name}"] * times)


def test_cli_dispatches_app_commands(monkeypatch, capsys):
    assert run_cli("toy", commands={"hello": hello}, argv=["hello", "--name", "x", "--times", "2"]) == "hi x hi x"
    # a command may also be named by its import path; it is imported only when run
    lazy = {"hello": f"{__name__}:hello"}
    assert run_cli("toy", commands=lazy, argv=["hello", "--threads", "1"]) == "hi world"
    assert torch.get_num_threads() == 1
    # from a console script (argv read from sys.argv) nothing is returned: sys.exit(main()) exits 0
    monkeypatch.setattr("sys.argv", ["toy", "hello", "--name", "x"])
    assert run_cli("toy", commands={"hello": hello}) is None
    run_cli("toy", ToySimCLR, ToyData, lazy, argv=["--help"])
    out = capsys.readouterr().out
    assert "hello      Say hello." in out and "fit" in out and "--threads N" in out
    with pytest.raises(SystemExit):
        run_cli("toy", commands={"hello": hello}, argv=["nope"])
    with pytest.raises(SystemExit, match="threads"):
        run_cli("toy", commands={"hello": hello}, argv=["hello", "--threads", "two"])


def test_help_imports_nothing_heavy():
    code = ("import sys; from contrastkit.train.cli import run_cli; "
            "run_cli('toy', 'x.y:Model', None, {'hello': 'contrastkit.train.threads:set_threads'}, argv=['--help']); "
            "print(sorted(m for m in ('torch', 'lightning', 'jsonargparse') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("[]"), out


def _fit(tmp_path, *extra):
    return run_cli("toy", ToySimCLR, ToyData, {}, argv=[
        "fit", "--runs_root", str(tmp_path), "--name", "cli", "--trainer.enable_progress_bar=false",
        "--model.lr=0.05", *extra])


def test_lightning_fit_follows_the_run_convention_and_resumes(tmp_path):
    cli = _fit(tmp_path, "--trainer.max_epochs=1")
    run_dir = tmp_path / "toy" / "cli" / "version_0"
    assert cli.run_dir == run_dir and cli.model.lr == 0.05
    for name in ("config.yaml", "checkpoints/last.ckpt", "metrics.json", "plots/loss.png", "logs/csv/metrics.csv"):
        assert (run_dir / name).is_file(), name
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["command"] == "fit" and metrics["epochs_run"] == 1 and "train/loss_epoch" in metrics
    resumed = _fit(tmp_path, "--trainer.max_epochs=3", "--resume")
    assert resumed.run_dir == run_dir and resumed.trainer.current_epoch == 3
    assert load_checkpoint(run_dir / "checkpoints" / "last.ckpt")["epoch"] == 2
    assert not (tmp_path / "toy" / "cli" / "version_1").exists()


def _write_log(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = sorted({c for r in rows for c in r})
    path.write_text(",".join(cols) + "\n" + "\n".join(",".join(str(r.get(c, "")) for c in cols) for r in rows) + "\n")


def test_loss_curve_of_a_resumed_run_drops_the_steps_trained_again(tmp_path):
    from contrastkit.train.plots import read_logged_rows

    # the first part reached step 7, its checkpoint was at step 4: the resumed part restarts at 5
    _write_log(tmp_path / "logs" / "csv" / "metrics.csv", [{"step": s, "train/loss": 10 - s} for s in range(8)])
    _write_log(tmp_path / "logs" / "csv_1" / "metrics.csv", [{"step": s, "train/loss": 1.0} for s in range(5, 9)])
    steps = [int(r["step"]) for r in read_logged_rows(tmp_path)]
    assert steps == [0, 1, 2, 3, 4, 5, 6, 7, 8]
    assert plot_loss_curves(tmp_path).stat().st_size > 1000


def test_loss_curve_draws_one_curve_per_stage(tmp_path):
    from contrastkit.train.plots import loss_curves

    rows = [{"step": str(s), "train/loss": str(1.0 / (s + 1)), "stage": str(1 + s // 3) if s % 3 == 0 else ""}
            for s in range(9)]
    curves = loss_curves(rows, ["train/loss"])
    assert [label for label, _, _ in curves] == [f"train/loss (stage {k})" for k in (1, 2, 3)]
    assert curves[1][1] == [3, 4, 5]
    assert [label for label, _, _ in loss_curves([{"step": "0", "train/loss": "1"}], ["train/loss"])] == ["train/loss"]


def test_finding_unused_parameters_applies_to_ddp_only():
    """One switch for models whose backward leaves parameters idle (staged or manual optimization)."""
    from contrastkit.train import TrainerOptions

    found = "ddp_find_unused_parameters_true"
    assert TrainerOptions(strategy="ddp", devices=2).finding_unused_parameters().strategy == found
    assert TrainerOptions(devices=2).finding_unused_parameters().strategy == found  # auto: Lightning's ddp
    assert TrainerOptions(num_nodes=2, strategy="ddp_spawn").finding_unused_parameters().strategy == \
        "ddp_spawn_find_unused_parameters_true"
    assert TrainerOptions().finding_unused_parameters() == TrainerOptions()  # one process: untouched
    assert TrainerOptions(strategy="fsdp", devices=2).finding_unused_parameters().strategy == "fsdp"


def test_config_section_takes_names_defaults_and_descriptions_from_its_owner():
    """contrastkit.train.sections: a section's fields are its owners' keyword arguments."""
    import dataclasses

    from contrastkit.train.sections import kwargs_of, section, settings

    class Owner:
        """Something configurable.

        Args:
            width, depth: sizes of the thing.
            rate: how fast.
        """

        def __init__(self, data: list, width: int = 4, depth: int = 2, rate: float = 0.1) -> None:
            self.width = width

    with pytest.raises(TypeError, match="no settings \\['speed'\\]"):
        settings(Owner, only=["speed"])
    config = section("OwnerConfig", "The owner's settings.", [(Owner, settings(Owner, skip=("rate",)))],
                     own=[("name", str, "x", "the run name")])
    assert [(f.name, f.default) for f in dataclasses.fields(config)] == [("name", "x"), ("width", 4), ("depth", 2)]
    assert "    depth: sizes of the thing. [" in config.__doc__ and "rate" not in config.__doc__
    assert kwargs_of(config(width=8), Owner) == {"width": 8, "depth": 2}


def test_a_fit_trains_in_train_mode_whatever_mode_the_model_was_left_in(tmp_path):
    """A model evaluated before (``.eval()``) trains with dropout on; only
    ``modules_kept_in_eval`` stays in eval mode."""

    class KeepsFirstLayerInEval(ToySimCLR):
        def modules_kept_in_eval(self):
            return [self.net[0]]

    class Modes(L.Callback):
        def __init__(self):
            self.seen = []

        def on_train_batch_start(self, trainer, module, batch, batch_idx):
            self.seen.append((module.net[0].training, module.net[2].training))

    model = KeepsFirstLayerInEval().eval()
    modes = Modes()
    make_trainer(tmp_path, 1, progress=False, callbacks=[modes], limit_train_batches=2).fit(model, ToyData())
    assert modes.seen == [(False, True), (False, True)]


def test_one_loader_rebuilds_a_model_from_the_class_its_checkpoint_records(tmp_path):
    from contrastkit.train import CheckpointError, load_module

    cli = _fit(tmp_path, "--trainer.max_epochs=1")
    ckpt = cli.run_dir / "checkpoints" / "last.ckpt"
    package = ToySimCLR.__module__.split(".")[0]
    model = load_module(ckpt, packages=(package,), expected=ContrastiveModule)
    assert type(model).__name__ == "ToySimCLR" and not model.training
    for key, value in cli.model.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key
    with pytest.raises(CheckpointError, match=r"last\.ckpt: not a medts checkpoint: it holds a .*ToySimCLR, a model of another app"):
        load_module(ckpt, packages=("medts",))
    with pytest.raises(CheckpointError, match=r"not a lightning"):
        load_module(ckpt, packages=(package,), expected=L.Trainer)
