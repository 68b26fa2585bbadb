"""A Lightning Trainer with ContrastKit's run-directory conventions, and resumable fitting.

Every trainer an app builds through :func:`make_trainer` writes, under its run directory:
``checkpoints/last.ckpt`` at the end of every epoch (whatever a monitored metric did),
``checkpoints/best.ckpt`` when a metric is monitored (both written atomically, beside their
target), CSV logs (``logs/csv``, ``logs/csv_1`` after a resume...) and TensorBoard logs
(``logs/tb``), whose write errors name their folder. It shows one progress bar, restores the RNG
states on resume and sets custom batch samplers' epochs, so that a resumed run ends with the
numbers of an uninterrupted one.
"""

from __future__ import annotations

import logging
import random
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.fabric.plugins import TorchCheckpointIO
from lightning.pytorch.callbacks import Callback, ModelCheckpoint, TQDMProgressBar

from contrastkit.atomic import torch_save_atomic
from contrastkit.distributed import world
from contrastkit.train.checkpoint import CLASS_KEY, class_path, load_checkpoint
from contrastkit.train.loggers import RunCSVLogger, RunTensorBoardLogger
from contrastkit.train.sampling import SetBatchSamplerEpoch


@dataclass
class TrainerOptions:
    """Where and how a command trains: Lightning's own arguments, one route for every app
    (``--trainer.devices 2 --trainer.strategy ddp --trainer.accelerator cpu``).

    Args:
        accelerator: ``"auto"``, ``"cpu"``, ``"gpu"``...
        devices: devices per node (``1``, ``2``, ``"auto"``).
        num_nodes: machines taking part.
        strategy: ``"auto"``, ``"ddp"``, ``"ddp_spawn"``...; with more than one process every
            contrastive loss gathers its candidates from all ranks (see docs/scale-out.md).
        precision: ``"32-true"``, ``"bf16-mixed"``, ``"16-mixed"``...
    """

    accelerator: str = "auto"
    devices: int | str = 1
    num_nodes: int = 1
    strategy: str = "auto"
    precision: str = "32-true"

    def as_kwargs(self) -> dict[str, Any]:
        return {"accelerator": self.accelerator, "devices": self.devices, "num_nodes": self.num_nodes,
                "strategy": self.strategy, "precision": self.precision}

    def finding_unused_parameters(self) -> TrainerOptions:
        """These options with DDP told to find unused parameters (``ddp`` ->
        ``ddp_find_unused_parameters_true``, likewise ``ddp_spawn``), for a model whose backward
        passes leave some parameters without a gradient (staged training, separate optimization
        loops, a loss term absent on some ranks), which plain DDP refuses ("Expected to have
        finished reduction in the prior iteration"). ``auto`` with more than one device is
        Lightning's ``ddp``; other strategies are returned unchanged."""
        several = self.num_nodes > 1 or str(self.devices) not in ("1", "auto")
        strategy = "ddp" if self.strategy == "auto" and several else self.strategy
        if strategy not in ("ddp", "ddp_spawn"):
            return self
        return replace(self, strategy=f"{strategy}_find_unused_parameters_true")


class RngStateCallback(Callback):
    """Saves the Python, NumPy and torch RNG states of every rank in each checkpoint and restores
    each rank's own on resume, so that a resumed run draws the same random numbers (dropout,
    augmentations, masks) as an uninterrupted one, also under DDP where ranks draw different
    amounts. A resume with more ranks than were saved gives the new ranks rank 0's state."""

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict[str, Any]) -> None:
        state = {
            "python": random.getstate(),
            # plain types only: checkpoints load with torch.load(weights_only=True)
            "numpy": _numpy_state_to_plain(np.random.get_state()),
            "torch": torch.get_rng_state(),
        }
        world_size = world()[1]
        states: list = [state]
        if world_size > 1:  # every rank dumps the checkpoint; rank 0 writes it
            states = [None] * world_size
            torch.distributed.all_gather_object(states, state)
        checkpoint["contrastkit_rng"] = {"ranks": states}

    def on_load_checkpoint(self, trainer, pl_module, checkpoint: dict[str, Any]) -> None:
        saved = checkpoint.get("contrastkit_rng")
        if saved is None:
            return
        states = saved.get("ranks", [saved])  # checkpoints before per-rank states held one
        rank, _ = world()
        state = states[rank] if rank < len(states) else states[0]
        random.setstate(_python_state_from_plain(state["python"]))
        kind, key, pos, has_gauss, gauss = state["numpy"]
        np.random.set_state((kind, np.asarray(key, dtype=np.uint32), pos, has_gauss, gauss))
        torch.set_rng_state(state["torch"])


def _python_state_from_plain(state) -> tuple:
    """``random.setstate`` wants tuples; a state that went through pickling between ranks or a
    checkpoint may come back with lists."""
    version, internal, gauss = state
    return version, tuple(internal), gauss


def _numpy_state_to_plain(state) -> tuple:
    kind, key, pos, has_gauss, gauss = state
    return kind, key.tolist(), int(pos), int(has_gauss), float(gauss)


class LastCheckpoint(ModelCheckpoint):
    """``last.ckpt``: after every epoch, and once more when training stops between two saves (a
    time budget ending mid-epoch), so that a stopped run never resumes from further back than
    where it stopped."""

    def on_train_end(self, trainer, pl_module) -> None:
        super().on_train_end(trainer, pl_module)
        # Lightning's own test for "a step was taken since the last save" (fit only, no sanity check)
        if not self._should_skip_saving_checkpoint(trainer):
            self._save_checkpoint(trainer, str(Path(self.dirpath) / "last.ckpt"))


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint writer, made safe against a kill or a full disk: the file is written
    beside its target, fsync-ed and renamed over it (:mod:`contrastkit.atomic`). Lightning's own
    writer stages the file in the system's temporary folder and, when that lies on another
    filesystem than the runs folder, *copies* it over the target: a kill during the copy leaves
    the previous ``last.ckpt`` truncated and the staged copy behind."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError("storage_options are not supported by ContrastKit's checkpoint writer")
        torch_save_atomic(checkpoint, path)


class RecordClasses(Callback):
    """Records in every checkpoint the classes of the model and data module (``"pkg.mod:Class"``),
    so that one loader (:func:`~contrastkit.train.checkpoint.load_module`) rebuilds any app's model."""

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict[str, Any]) -> None:
        datamodule = getattr(trainer, "datamodule", None)
        checkpoint[CLASS_KEY] = {"module": class_path(pl_module),
                                 "datamodule": class_path(datamodule) if datamodule is not None else None}


class InterruptNotice(Callback):
    """On Ctrl-C, Lightning shuts the run down gracefully and exits with status 1; this says what
    that left behind: ``--resume`` continues from the last checkpoint, or there is none yet."""

    def on_exception(self, trainer, pl_module, exception: BaseException) -> None:
        if isinstance(exception, KeyboardInterrupt) and trainer.is_global_zero:
            import sys

            from contrastkit.train.rundir import interrupted_message, opened_run_of

            # the whole run, not the part that was training: earlier parts' checkpoints resume too
            print(f"\n{interrupted_message(opened_run_of(trainer.default_root_dir))}", file=sys.stderr, flush=True)


class ProgressBar(TQDMProgressBar):
    """Lightning's bar without the logger version (``v_num=tb``), which says nothing to a reader."""

    def get_metrics(self, trainer, pl_module) -> dict[str, Any]:
        items = super().get_metrics(trainer, pl_module)
        items.pop("v_num", None)
        return items


def quiet_lightning() -> None:
    """Keep the console to the progress bar and the results: Lightning's tips and device banners
    (INFO) and its hint that a CPU DataLoader has few workers are not shown."""
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    logging.getLogger("lightning.fabric").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=r"Checkpoint directory .* exists and is not empty")  # a resume
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")  # Lightning vs torch 2.14
    # ContrastiveModule sets every submodule's mode at fit start (modules_kept_in_eval: on purpose)
    warnings.filterwarnings("ignore", message=r"Found \d+ module\(s\) in eval mode at the start of training")
    # the base defines validation_step for every method; a run without validation data is no mistake
    warnings.filterwarnings("ignore", message=r"You defined a `validation_step` but have no `val_dataloader`")
    warnings.filterwarnings("ignore", message=r"Total length of `\w+` across ranks is zero")  # no validation set


def _csv_version(logs: Path) -> str:
    """``csv`` for a new run, ``csv_1``, ``csv_2``... for each resumed fit (a CSV logger would
    otherwise overwrite the earlier part of the log)."""
    if not (logs / "csv").exists():
        return "csv"
    k = 1
    while (logs / f"csv_{k}").exists():
        k += 1
    return f"csv_{k}"


def trainer_conventions(run_dir: str | Path, *, monitor: str | None = None, mode: str = "max",
                        progress: bool = True) -> dict[str, list]:
    """The loggers, callbacks and checkpoint writer of every ContrastKit trainer (see the module
    docstring): ``{"logger": [CSVLogger, TensorBoardLogger], "callbacks": [...],
    "plugins": [AtomicCheckpointIO()]}``."""
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min' or 'max'; got {mode!r}")
    run_dir = Path(run_dir)
    logs = run_dir / "logs"
    callbacks: list[Callback] = []
    if monitor:
        callbacks.append(ModelCheckpoint(dirpath=run_dir / "checkpoints", filename="best", monitor=monitor,
                                         mode=mode, save_top_k=1, auto_insert_metric_name=False,
                                         enable_version_counter=False))
    # monitor=None with save_top_k=1 keeps exactly the newest epoch: last.ckpt, every epoch. It
    # comes after "best" and, with a validation loop, saves at validation end (Lightning's
    # default), so that last.ckpt carries the best-so-far of the epoch it ends: a resumed run
    # compares its next epochs with the right best.
    callbacks.append(LastCheckpoint(dirpath=run_dir / "checkpoints", filename="last", monitor=None, save_top_k=1,
                                    enable_version_counter=False))
    callbacks += [RngStateCallback(), SetBatchSamplerEpoch(), RecordClasses(), InterruptNotice()]
    if progress:
        callbacks.append(ProgressBar(refresh_rate=10))
    loggers = [RunCSVLogger(logs, name="", version=_csv_version(logs)), RunTensorBoardLogger(logs, name="", version="tb")]
    return {"logger": loggers, "callbacks": callbacks, "plugins": [AtomicCheckpointIO()]}


def make_trainer(
    run_dir: str | Path,
    max_epochs: int,
    *,
    monitor: str | None = None,
    mode: str = "max",
    callbacks: Iterable[Callback] = (),
    progress: bool = True,
    options: TrainerOptions | None = None,
    **trainer_kwargs: Any,
) -> L.Trainer:
    """A Trainer writing logs to ``run_dir/logs`` and checkpoints to ``run_dir/checkpoints``:
    ``last.ckpt`` after every epoch, ``best.ckpt`` by ``monitor`` (``mode`` min or max) when given.

    ``options`` (:class:`TrainerOptions`) and ``trainer_kwargs`` go to ``lightning.Trainer``
    (``trainer_kwargs`` last: ``max_time``, ``limit_train_batches``...); defaults:
    ``accelerator="auto"``, ``devices=1``.
    """
    if max_epochs < 1:
        raise ValueError(f"max_epochs must be >= 1; got {max_epochs}")
    quiet_lightning()
    conventions = trainer_conventions(run_dir, monitor=monitor, mode=mode, progress=progress)
    defaults = {
        "accelerator": "auto",
        "devices": 1,
        "max_epochs": max_epochs,
        "default_root_dir": str(run_dir),
        "logger": conventions["logger"],
        "callbacks": [*conventions["callbacks"], *callbacks],
        "plugins": conventions["plugins"],
        "enable_progress_bar": progress,
        "enable_model_summary": False,
        "log_every_n_steps": 1,
        "deterministic": False,
    }
    defaults.update((options or TrainerOptions()).as_kwargs())
    defaults.update(trainer_kwargs)
    return L.Trainer(**defaults)


def last_checkpoint(run_dir: str | Path) -> Path | None:
    """``run_dir/checkpoints/last.ckpt`` when it exists (an empty file counts: resuming from it
    must fail loudly, not start over)."""
    path = Path(run_dir) / "checkpoints" / "last.ckpt"
    return path if path.is_file() else None


def best_checkpoint(trainer: L.Trainer) -> Path | None:
    """The checkpoint of the trainer's monitored :class:`ModelCheckpoint`, when one has saved."""
    for cb in trainer.checkpoint_callbacks:
        if cb.monitor and cb.best_model_path:
            return Path(cb.best_model_path)
    return None


def resume_checkpoint(run_dir: str | Path) -> Path | None:
    """The checkpoint a fit in ``run_dir`` continues from: ``checkpoints/last.ckpt``, else the newest
    other checkpoint of that folder (``best.ckpt``, with its epoch's weights, optimizer and trainer
    state: what ``--resume`` announces once a damaged ``last.ckpt`` was deleted, as its error
    advises); None for a fresh fit."""
    from contrastkit.train.rundir import checkpoints_of

    run_dir = Path(run_dir)
    own = [p for p in checkpoints_of(run_dir) if p.parent == run_dir / "checkpoints"]
    return last_checkpoint(run_dir) or (own[0] if own else None)


def fit_resumable(trainer: L.Trainer, module: L.LightningModule, datamodule=None, *, run_dir: str | Path,
                  label: str | None = None, **fit_kwargs: Any) -> Path | None:
    """Fit in ``run_dir`` (a run, or a part of a demo or study), continuing from
    :func:`resume_checkpoint` when there is one and saying so with the epoch and step it was saved at
    (the line starts with ``label:`` when given: the part of a study).

    The checkpoint is checked first (:func:`~contrastkit.train.checkpoint.load_checkpoint`): an
    empty or truncated file stops with its path and what to do. Returns the best checkpoint's path
    when a monitored metric was tracked, else ``last.ckpt``.
    """
    from contrastkit.train.rundir import is_rank_zero

    resume_from = resume_checkpoint(run_dir)
    if resume_from is not None:
        saved = load_checkpoint(resume_from)
        if is_rank_zero():
            print(f"{label + ': ' if label else ''}continuing from {resume_from} (saved in epoch {int(saved.get('epoch', 0)) + 1} "
                  f"at step {int(saved.get('global_step', 0))})", flush=True)
    trainer.fit(module, datamodule=datamodule, ckpt_path=resume_from, **fit_kwargs)
    return best_checkpoint(trainer) or last_checkpoint(run_dir)
