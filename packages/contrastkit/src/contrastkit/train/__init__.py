"""The Lightning layer shared by the apps (imported explicitly; ``import contrastkit`` never loads it).

Run directories, a Trainer with ContrastKit's conventions and resumable fitting, a base module
with one shared step, plots, and the apps' CLI entry.
"""

from lightning.pytorch import seed_everything

from contrastkit.train.cli import run_cli
from contrastkit.train.module import ContrastiveModule
from contrastkit.train.plots import plot_embeddings, plot_loss_curves
from contrastkit.train.rundir import latest_run_dir, new_run_dir, save_config, write_metrics
from contrastkit.train.trainer import RngStateCallback, fit_resumable, last_checkpoint, make_trainer

__all__ = [
    "ContrastiveModule",
    "RngStateCallback",
    "fit_resumable",
    "last_checkpoint",
    "latest_run_dir",
    "make_trainer",
    "new_run_dir",
    "plot_embeddings",
    "plot_loss_curves",
    "run_cli",
    "save_config",
    "seed_everything",
    "write_metrics",
]
