"""Fault probes of the shared training layer: checkpoints, resume, run directories."""

from __future__ import annotations

import os
import pickle
import random
from pathlib import Path

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
    """last.ckpt was refreshed only when the monitored metric improved."""
    run_dir = new_run_dir(tmp_path, "t", "worse")
    best, _ = _fit(run_dir, 4)
    assert load_checkpoint(run_dir / "checkpoints" / "last.ckpt")["epoch"] == 3
    assert best.name == "best.ckpt" and load_checkpoint(best)["epoch"] == 0


def test_empty_truncated_and_random_checkpoints_name_the_file(tmp_path):
    """A zero-byte last.ckpt gave a bare EOFError."""
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
    """Every load is weights_only=True."""
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
    """Resume picked an empty newer version and trained from epoch 0."""
    with pytest.raises(ResumeError, match="no run .* has a checkpoint"):
        new_run_dir(tmp_path, "t", "r", resume=True)
    good = new_run_dir(tmp_path, "t", "r")
    _fit(good, 1)
    new_run_dir(tmp_path, "t", "r")  # version_1: failed before its first checkpoint
    assert new_run_dir(tmp_path, "t", "r", resume=True) == good
    assert f"resuming {good}" in capsys.readouterr().out


def test_resume_with_other_settings_is_refused_naming_the_fields(tmp_path):
    """A resume with another fold loaded the old weights and overwrote the run."""
    config = {"data": {"fold": "eth"}, "risk": "erm", "threads": 2}
    run_dir = open_run(tmp_path, "t", "cfg", config)
    _fit(run_dir, 1)
    with pytest.raises(ResumeError, match=r"data.fold: 'eth' -> 'hotel'") as info:
        open_run(tmp_path, "t", "cfg", {**config, "data": {"fold": "hotel"}, "risk": "irm"}, resume=True)
    assert "risk: 'erm' -> 'irm'" in str(info.value)
    assert open_run(tmp_path, "t", "cfg", {**config, "threads": 1}, resume=True) == run_dir  # threads may differ


def test_a_failed_run_leaves_no_empty_version(tmp_path):
    """Failed runs left version_K folders that resume and 'latest' picked."""
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
    """A run whose loss becomes non-finite stops with an error giving the step."""
    run_dir = new_run_dir(tmp_path, "t", "nan")
    with pytest.raises(NonFiniteLossError, match="global step 5"):
        _fit(run_dir, 3, blow_up_at_step=5)


def test_lightning_fit_that_fails_before_a_checkpoint_leaves_nothing(tmp_path):
    """Through the CLI: a crash in the first epoch."""
    with pytest.raises(NonFiniteLossError):
        run_cli("t", Regressor, Data, {}, argv=["fit", "--runs_root", str(tmp_path), "--name", "crash",
                                               "--model.blow_up_at_step=0", "--trainer.enable_progress_bar=false"])
    leftovers = list((tmp_path / "t" / "crash").glob("version_*"))
    assert all((v / "FAILED").is_file() for v in leftovers), leftovers


class _WithDropout(ContrastiveModule):
    def __init__(self) -> None:
        super().__init__(lr=1e-2)
        self.net = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5), nn.Linear(4, 1))
        self.modes: list[bool] = []

    def compute_losses(self, batch, stage):
        (x,) = batch
        if stage == "train":
            self.modes.append(self.net[1].training)
        return {"loss": self.net(x).pow(2).mean()}


def test_a_model_left_in_eval_mode_trains_in_train_mode(tmp_path):
    """Lightning 2.6 keeps a submodule's mode at fit start: a model evaluated before (eval mode)
    trained with dropout off, silently."""
    module = _WithDropout().eval()
    trainer = make_trainer(new_run_dir(tmp_path, "t", "mode"), 1, progress=False)
    trainer.fit(module, train_dataloaders=DataLoader(TensorDataset(torch.randn(16, 4)), batch_size=8))
    assert module.modes == [True, True]


def test_last_checkpoint_carries_the_best_of_its_own_epoch(tmp_path):
    """A resumed monitored fit forgot the best of the epoch it resumed from (last.ckpt was saved
    before that epoch's validation), and could overwrite best.ckpt with a worse epoch."""
    run_dir = new_run_dir(tmp_path, "t", "bestlast")
    _fit(run_dir, 1)
    states = load_checkpoint(run_dir / "checkpoints" / "last.ckpt")["callbacks"]
    best = [v for k, v in states.items() if "val/score" in k]
    assert best and float(best[0]["best_model_score"]) == 0.0


def _rng_rank(rank: int, port: int, out: str) -> None:
    import torch.distributed as dist
    from contrastkit.train import RngStateCallback

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        torch.manual_seed(0)
        torch.rand(1 + 5 * rank)  # ranks draw different amounts (their batches differ)
        checkpoint: dict = {}
        RngStateCallback().on_save_checkpoint(None, None, checkpoint)
        expected = torch.rand(3)
        torch.rand(100)  # the killed run went on drawing
        written = [checkpoint]  # only rank 0 writes the file every rank resumes from
        dist.broadcast_object_list(written, src=0)
        RngStateCallback().on_load_checkpoint(None, None, written[0])
        torch.save({"expected": expected, "resumed": torch.rand(3)}, f"{out}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_every_rank_resumes_its_own_random_stream(tmp_path):
    """Under DDP only rank 0's RNG state was saved: rank 1 resumed with rank 0's stream and a
    resumed 2-process run with dropout ended with other numbers."""
    from contrastkit.testing.ddp import spawn_ranks

    spawn_ranks(_rng_rank, 2, str(tmp_path))
    for rank in range(2):
        result = torch.load(tmp_path / f"rank{rank}.pt")
        assert torch.equal(result["expected"], result["resumed"]), rank


def test_other_ranks_find_the_run_rank_zero_opened(tmp_path, monkeypatch):
    """Under DDP, ranks 1..N-1 run the same command: they must use rank 0's run directory (not a
    newer FAILED one on resume, not an older one when all ranks start at once)."""
    config = {"x": 1}
    resumed = open_run(tmp_path, "t", "ddp", config)
    _fit(resumed, 1)
    open_run(tmp_path, "t", "ddp", config)  # version_1: failed, no checkpoint
    monkeypatch.setenv("LOCAL_RANK", "1")  # Lightning's launcher: rank 1 started after rank 0
    assert open_run(tmp_path, "t", "ddp", config, resume=True) == resumed
    assert open_run(tmp_path, "t", "ddp", config).name == "version_1"
    # torchrun / SLURM start every rank at once: rank 1 follows rank 0's announcement
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    monkeypatch.setenv("LOCAL_RANK", "0")
    mine = open_run(tmp_path, "t", "ddp", config)
    assert mine.name == "version_2"
    monkeypatch.setenv("SLURM_PROCID", "1")
    assert open_run(tmp_path, "t", "ddp", config) == mine
    assert not (tmp_path / "t" / "ddp" / "version_3").exists()


def test_a_time_budget_ending_mid_epoch_still_writes_last_checkpoint(tmp_path):
    """Last.ckpt is written at a time budget's end, not only at epoch ends."""
    run_dir = new_run_dir(tmp_path, "t", "budget")
    seed_everything(0)
    trainer = make_trainer(run_dir, 5, progress=False, max_steps=3, num_sanity_val_steps=0)  # stops mid-epoch
    fit_resumable(trainer, Regressor(), Data(), run_dir=run_dir)
    assert load_checkpoint(run_dir / "checkpoints" / "last.ckpt")["global_step"] == 3


# --- checkpoints that survive a kill, locked runs, no empty folders left --------------------------

_WATCH_WRITES = r"""
import os, signal, sys
import torch
from contrastkit.train.trainer import trainer_conventions

run_dir, log_path, kill = sys.argv[1], sys.argv[2], sys.argv[3] == "kill"
target = os.path.join(run_dir, "checkpoints", "last.ckpt")
log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)

def hook(event, args):
    # every file opened for writing, by path; with "kill", a kill -9 once the staged file is
    # complete, just before it is renamed over the target (the last moment of the write)
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        path, mode, flags = os.fsdecode(args[0]), args[1] or "", args[2] or 0
        if "w" in mode or "a" in mode or "x" in mode or flags & (os.O_WRONLY | os.O_RDWR):
            os.write(log, (os.path.abspath(path) + "\n").encode())
    if kill and event == "os.rename":
        os.kill(os.getpid(), signal.SIGKILL)

(io,) = trainer_conventions(run_dir, progress=False)["plugins"]
sys.addaudithook(hook)
io.save_checkpoint({"epoch": 7, "weights": torch.ones(1000)}, target)
"""


def _save_watched(tmp_path, run_dir, kill: bool) -> tuple[list[str], int, Path]:
    """Save a checkpoint over ``run_dir``'s ``last.ckpt`` with the trainer's writer, in a child whose
    temporary folder is its own; returns the paths it opened for writing, its exit status and the
    temporary folder."""
    import subprocess
    import sys

    scratch = tmp_path / "system_tmp"
    scratch.mkdir(exist_ok=True)
    log = tmp_path / f"opened_{kill}.txt"
    env = {**os.environ, "TMPDIR": str(scratch)}
    child = subprocess.run([sys.executable, "-c", _WATCH_WRITES, str(run_dir), str(log), "kill" if kill else "no"],
                           check=False, env=env, capture_output=True, text=True, timeout=300)
    opened = log.read_text().split() if log.exists() else []
    return opened, child.returncode, scratch


def test_a_checkpoint_is_staged_beside_its_target_and_a_kill_keeps_the_previous_one(tmp_path):
    """Lightning's writer stages a checkpoint in the system's temporary folder and, when that is on
    another filesystem than the runs folder, copies it over the target: a kill -9 during the copy
    destroyed the previous last.ckpt and left the staged copy behind. The trainer's writer stages
    it beside the target and renames it: nothing is written to the temporary folder or into the
    target itself, and a kill at any moment leaves the previous checkpoint whole."""
    run_dir = new_run_dir(tmp_path, "t", "kill")
    target = run_dir / "checkpoints" / "last.ckpt"
    target.parent.mkdir()
    torch.save({"epoch": 3, "weights": torch.zeros(1000)}, target)

    opened, status, scratch = _save_watched(tmp_path, run_dir, kill=False)
    assert status == 0
    assert opened and all(Path(p).parent == target.parent and Path(p) != target for p in opened), opened
    assert load_checkpoint(target)["epoch"] == 7 and list(scratch.iterdir()) == []

    torch.save({"epoch": 3, "weights": torch.zeros(1000)}, target)
    _, status, scratch = _save_watched(tmp_path, run_dir, kill=True)
    assert status == -9
    assert load_checkpoint(target)["epoch"] == 3 and list(scratch.iterdir()) == []
    stale = list(target.parent.glob(".last.ckpt.*.tmp"))
    assert len(stale) == 1
    # the next process to open the run (it holds the lock: nobody is writing) removes the stale file
    from contrastkit.train.rundir import lock_run, release_run

    release_run(run_dir)
    lock_run(run_dir)
    assert not stale[0].exists() and target.is_file()


def test_a_trainer_writes_its_checkpoints_through_the_atomic_writer(tmp_path):
    from contrastkit.train.trainer import AtomicCheckpointIO

    trainer = make_trainer(new_run_dir(tmp_path, "t", "io"), 1, progress=False)
    assert isinstance(trainer.strategy.checkpoint_io, AtomicCheckpointIO)


_HOLD_RUN = r"""
import sys, time
from contrastkit.train import open_run
open_run(sys.argv[1], "t", "busy", {"x": 1}, resume=True)
print("holding", flush=True)
time.sleep(120)
"""


def test_a_second_resume_of_a_running_run_is_refused_naming_the_holder(tmp_path):
    """Two --resume of one run name at once both continued version_0, writing over each other."""
    import subprocess
    import sys

    run_dir = open_run(tmp_path, "t", "busy", {"x": 1})
    (run_dir / "checkpoints").mkdir()
    torch.save({"epoch": 0}, run_dir / "checkpoints" / "last.ckpt")
    from contrastkit.train.rundir import release_run

    release_run(run_dir)  # this process opened it first: let the child hold it
    holder = subprocess.Popen([sys.executable, "-c", _HOLD_RUN, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        lines = [holder.stdout.readline().strip() for _ in range(2)]
        assert lines[0].startswith("resuming ") and lines[1] == "holding", lines
        with pytest.raises(ResumeError, match=rf"in use by pid {holder.pid} "):
            open_run(tmp_path, "t", "busy", {"x": 1}, resume=True)
    finally:
        holder.kill()
        holder.wait()
    assert open_run(tmp_path, "t", "busy", {"x": 1}, resume=True) == run_dir  # free again once it ended


def test_a_failed_first_run_leaves_no_empty_name_folder(tmp_path):
    run_dir = open_run(tmp_path, "t", "gone", {"x": 1})
    with pytest.raises(ValueError), failure_marked(run_dir):
        raise ValueError("bad value")
    assert not (tmp_path / "t" / "gone").exists()


def test_a_resume_says_from_which_epoch_it_continues(tmp_path, capsys):
    run_dir = tmp_path / "t" / "said" / "version_0"
    _fit(run_dir, 2)
    from contrastkit.train.rundir import release_run

    release_run(run_dir)
    assert open_run(tmp_path, "t", "said", {}, resume=True) == run_dir
    out = capsys.readouterr().out
    assert "from checkpoints/last.ckpt (saved in epoch 2 at step 8; training continues from there)" in out, out


def test_a_full_disk_in_the_tensorboard_writer_names_the_log_folder(tmp_path, monkeypatch):
    """TensorBoard writes in a background thread and re-raises '[Errno 28] No space left on
    device' at the next logging call, without a path."""
    import errno

    from contrastkit.train.loggers import RunTensorBoardLogger
    from lightning.pytorch.loggers import TensorBoardLogger

    def full_disk(self, metrics, step=None):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(TensorBoardLogger, "log_metrics", full_disk)
    logger = RunTensorBoardLogger(tmp_path / "logs", name="", version="tb")
    with pytest.raises(OSError, match=r"writing TensorBoard logs to .*logs/tb: No space left on device") as caught:
        logger.log_metrics({"loss": 1.0}, step=0)
    assert caught.value.errno == errno.ENOSPC


@pytest.mark.skipif(torch.cuda.is_available(), reason="asks for a GPU that this machine has")
def test_asking_for_a_gpu_on_a_machine_without_one_leaves_no_run_folder(tmp_path):
    """The Trainer is built after the run folder is opened; its failure left an unmarked folder."""
    with pytest.raises(Exception, match="(?i)gpu|cuda"):
        run_cli("t", Regressor, Data, {}, argv=["fit", "--runs_root", str(tmp_path), "--name", "gpu",
                                               "--trainer.accelerator", "gpu", "--trainer.enable_progress_bar=false"])
    leftovers = list((tmp_path / "t" / "gpu").glob("version_*")) if (tmp_path / "t" / "gpu").exists() else []
    assert all((v / "FAILED").is_file() for v in leftovers), leftovers
    assert not (tmp_path / "t" / "gpu").exists() or leftovers


def test_a_plain_torch_file_given_as_a_checkpoint_is_named(tmp_path):
    """A state dict saved with torch.save reached Lightning, which failed with KeyError:
    'pytorch-lightning_version'."""
    plain = tmp_path / "weights.pt"
    torch.save({"net.weight": torch.zeros(1, 4)}, plain)
    with pytest.raises(CheckpointError, match=r"weights\.pt: not a checkpoint of a Lightning fit"):
        run_cli("t", Regressor, Data, {}, argv=["fit", "--runs_root", str(tmp_path), "--name", "plain",
                                               "--ckpt_path", str(plain), "--trainer.enable_progress_bar=false"])
    assert not (tmp_path / "t" / "plain").exists()


def test_a_checkpoint_of_another_model_is_refused_before_a_run_folder_opens(tmp_path):
    """Validate/test/fit --ckpt_path of another app's (or method's) model left a run marked FAILED
    after a bare state-dict error."""
    run_dir = tmp_path / "t" / "other" / "version_0"
    _fit(run_dir, 1)
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    state = torch.load(ckpt, weights_only=True)
    state["contrastkit_classes"]["module"] = "medts.method:COMET"
    foreign = tmp_path / "foreign.ckpt"
    torch.save(state, foreign)
    for command in ("validate", "test", "fit"):
        with pytest.raises(CheckpointError, match=r"foreign\.ckpt: holds a medts\.method:COMET, not a .*Regressor"):
            run_cli("t", Regressor, Data, {}, argv=[command, "--runs_root", str(tmp_path), "--name", "refused",
                                                   "--ckpt_path", str(foreign), "--trainer.enable_progress_bar=false"])
    assert not (tmp_path / "t" / "refused").exists()
