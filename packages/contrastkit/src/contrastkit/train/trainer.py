"""A Lightning Trainer with ContrastKit's run-directory conventions, and resumable fitting."""

from __future__ import annotations

import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint, TQDMProgressBar
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger


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


def _csv_version(logs: Path) -> str:
    """``csv`` for a new run, ``csv_1``, ``csv_2``... for each resumed fit (a CSV logger would
    otherwise overwrite the earlier part of the log)."""
    if not (logs / "csv").exists():
        return "csv"
    k = 1
    while (logs / f"csv_{k}").exists():
        k += 1
    return f"csv_{k}"


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
    """A Trainer writing CSV and TensorBoard logs to ``run_dir/logs`` and checkpoints to
    ``run_dir/checkpoints`` (``last.ckpt`` always; the best by ``monitor`` when given)."""
    if max_epochs < 1:
        raise ValueError(f"max_epochs must be >= 1; got {max_epochs}")
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min' or 'max'; got {mode!r}")
    run_dir = Path(run_dir)
    logs = run_dir / "logs"
    checkpoint = ModelCheckpoint(
        dirpath=run_dir / "checkpoints",
        filename="best" if monitor else "epoch{epoch}",
        monitor=monitor,
        mode=mode,
        save_last=True,
        save_top_k=1,
        auto_insert_metric_name=False,
    )
    all_callbacks = [checkpoint, RngStateCallback(), *callbacks]
    if progress:
        all_callbacks.append(TQDMProgressBar(refresh_rate=10))
    defaults = {
        "accelerator": "auto",
        "devices": 1,
        "max_epochs": max_epochs,
        "default_root_dir": str(run_dir),
        "logger": [CSVLogger(logs, name="", version=_csv_version(logs)), TensorBoardLogger(logs, name="", version="tb")],
        "callbacks": all_callbacks,
        "enable_progress_bar": progress,
        "enable_model_summary": False,
        "log_every_n_steps": 1,
        "deterministic": False,
    }
    defaults.update(trainer_kwargs)
    return L.Trainer(**defaults)


def last_checkpoint(run_dir: str | Path) -> Path | None:
    """``run_dir/checkpoints/last.ckpt`` when it exists."""
    path = Path(run_dir) / "checkpoints" / "last.ckpt"
    return path if path.is_file() else None


def fit_resumable(trainer: L.Trainer, module: L.LightningModule, datamodule=None, *, run_dir: str | Path,
                  **fit_kwargs: Any) -> Path | None:
    """Fit, resuming from ``run_dir/checkpoints/last.ckpt`` when an earlier run left one.

    Returns the best checkpoint's path when a monitored metric was tracked, else ``last.ckpt``.
    """
    trainer.fit(module, datamodule=datamodule, ckpt_path=last_checkpoint(run_dir), **fit_kwargs)
    cb = trainer.checkpoint_callback
    best = getattr(cb, "best_model_path", "") if cb is not None else ""
    return Path(best) if best else last_checkpoint(run_dir)
