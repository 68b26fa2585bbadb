"""The Lightning layer shared by the apps (imported explicitly; ``import contrastkit`` never loads it).

Run directories and the resume rule (:mod:`~contrastkit.train.rundir`), a Trainer with the
project's conventions (:mod:`~contrastkit.train.trainer`), the one training base
(:mod:`~contrastkit.train.module`), safe checkpoint loading and encoder export
(:mod:`~contrastkit.train.checkpoint`), epoch-seeded samplers, the thread policy, plots, and the
apps' CLI entry (:mod:`~contrastkit.train.cli`).

Names are resolved on first use, so that ``from contrastkit.train.cli import run_cli`` (an app's
``--help``) does not import Lightning.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "ContrastiveModule": "module",
    "NonFiniteLossError": "module",
    "RngStateCallback": "trainer",
    "best_checkpoint": "trainer",
    "fit_resumable": "trainer",
    "last_checkpoint": "trainer",
    "resume_checkpoint": "trainer",
    "make_trainer": "trainer",
    "trainer_conventions": "trainer",
    "TrainerOptions": "trainer",
    "CheckpointError": "checkpoint",
    "export_encoder": "checkpoint",
    "load_checkpoint": "checkpoint",
    "load_encoder": "checkpoint",
    "load_state_checked": "checkpoint",
    "load_module": "checkpoint",
    "save_module": "checkpoint",
    "build_checked": "checkpoint",
    "EpochShuffleSampler": "sampling",
    "set_threads": "threads",
    "ResumeError": "rundir",
    "announce_run": "rundir",
    "checkpoints_of": "rundir",
    "failure_marked": "rundir",
    "is_rank_zero": "rundir",
    "new_run_dir": "rundir",
    "open_run": "rundir",
    "save_config": "rundir",
    "write_metrics": "rundir",
    "plot_embeddings": "plots",
    "pyplot": "plots",
    "Summary": "tables",
    "summarize": "tables",
    "format_summary": "tables",
    "markdown_table": "tables",
    "seed_table": "tables",
    "write_table": "tables",
    "write_embeddings": "embeddings",
    "read_embeddings": "embeddings",
    "plot_loss_curves": "plots",
    "save_figure": "plots",
    "run_cli": "cli",
}
__all__ = [*_EXPORTS, "seed_everything"]  # noqa: PLE0604 (the names of the table above)


def __getattr__(name: str):
    if name == "seed_everything":
        from lightning.pytorch import seed_everything

        return seed_everything
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"contrastkit.train.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'contrastkit.train' has no attribute {name!r}")
