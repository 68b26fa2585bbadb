"""A Lightning Trainer with ContrastKit's run-directory conventions, and resumable fitting.

Every trainer an app builds through :func:`make_trainer` writes, under its run directory:
``checkpoints/last.ckpt`` at the end of every epoch (whatever a monitored metric did),
``checkpoints/best.ckpt`` when a metric is monitored, CSV logs (``logs/csv``, ``logs/csv_1`` after
a resume...) and TensorBoard logs (``logs/tb``). It shows one progress bar, restores the RNG
states on resume and sets custom batch samplers' epochs, so that a resumed run ends with the
numbers of an uninterrupted one.
"""

from __future__ import annotations

import logging
import random
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint, TQDMProgressBar
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

from contrastkit.train.checkpoint import load_checkpoint
from contrastkit.train.sampling import SetBatchSamplerEpoch


class RngStateCallback(Callback):
    """Saves the Python, NumPy and torch RNG states in each checkpoint and restores them on resume,
    so that a resumed run draws the same random numbers (dropout, masks) as an uninterrupted one."""

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict[str, Any]) -> None:
        checkpoint["contrastkit_rng"] = {
            "python": random.getstate(),
            # plain types only: checkpoints load with torch.load(weights_only=True)
            "numpy": _numpy_state_to_plain(np.random.get_state()),
            "torch": torch.get_rng_state(),
        }

    def on_load_checkpoint(self, trainer, pl_module, checkpoint: dict[str, Any]) -> None:
        state = checkpoint.get("contrastkit_rng")
        if state is None:
            return
        random.setstate(state["python"])
        kind, key, pos, has_gauss, gauss = state["numpy"]
        np.random.set_state((kind, np.asarray(key, dtype=np.uint32), pos, has_gauss, gauss))
        torch.set_rng_state(state["torch"])


def _numpy_state_to_plain(state) -> tuple:
    kind, key, pos, has_gauss, gauss = state
    return kind, key.tolist(), int(pos), int(has_gauss), float(gauss)


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
    """The loggers and callbacks of every ContrastKit trainer (see the module docstring):
    ``{"logger": [CSVLogger, TensorBoardLogger], "callbacks": [...]}``."""
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min' or 'max'; got {mode!r}")
    run_dir = Path(run_dir)
    logs = run_dir / "logs"
    # monitor=None with save_top_k=1 keeps exactly the newest epoch: last.ckpt, every epoch
    callbacks: list[Callback] = [ModelCheckpoint(dirpath=run_dir / "checkpoints", filename="last", monitor=None,
                                                 save_top_k=1, save_on_train_epoch_end=True,
                                                 enable_version_counter=False)]
    if monitor:
        callbacks.append(ModelCheckpoint(dirpath=run_dir / "checkpoints", filename="best", monitor=monitor,
                                         mode=mode, save_top_k=1, auto_insert_metric_name=False,
                                         enable_version_counter=False))
    callbacks += [RngStateCallback(), SetBatchSamplerEpoch()]
    if progress:
        callbacks.append(ProgressBar(refresh_rate=10))
    loggers = [CSVLogger(logs, name="", version=_csv_version(logs)), TensorBoardLogger(logs, name="", version="tb")]
    return {"logger": loggers, "callbacks": callbacks}


def make_trainer(
    run_dir: str | Path,
    max_epochs: int,
    *,
    monitor: str | None = None,
    mode: str = "max",
    callbacks: Iterable[Callback] = (),
    progress: bool = True,
    **trainer_kwargs: Any,
) -> L.Trainer:
    """A Trainer writing logs to ``run_dir/logs`` and checkpoints to ``run_dir/checkpoints``:
    ``last.ckpt`` after every epoch, ``best.ckpt`` by ``monitor`` (``mode`` min or max) when given.

    ``trainer_kwargs`` go to ``lightning.Trainer`` (``accelerator``, ``devices``, ``num_nodes``,
    ``strategy``, ``precision``, ``max_time``...); defaults: ``accelerator="auto"``, ``devices=1``.
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
        "enable_progress_bar": progress,
        "enable_model_summary": False,
        "log_every_n_steps": 1,
        "deterministic": False,
    }
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


def fit_resumable(trainer: L.Trainer, module: L.LightningModule, datamodule=None, *, run_dir: str | Path,
                  **fit_kwargs: Any) -> Path | None:
    """Fit, resuming from ``run_dir/checkpoints/last.ckpt`` when an earlier run left one.

    The checkpoint is checked first (:func:`~contrastkit.train.checkpoint.load_checkpoint`): an
    empty or truncated ``last.ckpt`` stops with its path and what to do. Returns the best
    checkpoint's path when a monitored metric was tracked, else ``last.ckpt``.
    """
    resume_from = last_checkpoint(run_dir)
    if resume_from is not None:
        load_checkpoint(resume_from)
    trainer.fit(module, datamodule=datamodule, ckpt_path=resume_from, **fit_kwargs)
    return best_checkpoint(trainer) or last_checkpoint(run_dir)
