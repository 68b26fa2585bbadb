"""The README's figures: loss per level over pretraining, test embeddings by patient and by class."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from contrastkit.train import plot_embeddings, plot_loss_curves

from medts.data.hierarchy import HierarchicalSet
from medts.evaluate import all_samples


def write_figures(out_dir: str | Path, pretrain_dir: str | Path, module, test: HierarchicalSet) -> list[Path]:
    """Write ``loss_per_level.png`` (per-level epoch means of training, validation dashed, from
    ``pretrain_dir``'s CSV logs) and
    ``embeddings_by_patient.png`` / ``embeddings_by_class.png`` (PCA of ``module.embed`` on every
    sample of ``test``) into ``out_dir``; returns their paths."""
    out_dir = Path(out_dir)
    levels = ("patient", "trial", "sample", "observation", "instance")
    columns = [f"train/loss_{lvl}_epoch" for lvl in levels] + [f"val/loss_{lvl}" for lvl in levels]
    paths = [plot_loss_curves(pretrain_dir, out_dir / "loss_per_level.png", columns)]
    emb = module.embed(torch.from_numpy(all_samples(test))).cpu().numpy()
    paths.append(plot_embeddings(emb, np.array(test.patient_names)[test.sample_patient],
                                 out_dir / "embeddings_by_patient.png", "test embeddings by patient"))
    paths.append(plot_embeddings(emb, np.array(test.class_names)[test.sample_label],
                                 out_dir / "embeddings_by_class.png", "test embeddings by class"))
    return paths


def figures(experiment: str, pretrain_dir: str, out: str, overrides: list[str] | None = None) -> list[str]:
    """Figures of a finished pretraining run (``medts figures``).

    Args:
        experiment: the experiment YAML the run was made with (its data and model sections).
        pretrain_dir: the run's pretraining folder (holds ``checkpoints/last.ckpt`` and ``logs/``).
        out: folder for the PNGs.
        overrides: ``section.field=value`` items, as given to the run.
    """
    from medts.configs import load_experiment
    from medts.experiment import data_module
    from medts.method import COMET

    data, _, _ = load_experiment(experiment, overrides or [])
    ckpt = Path(pretrain_dir) / "checkpoints" / "last.ckpt"
    if not ckpt.is_file():
        raise FileNotFoundError(f"{ckpt}: no pretraining checkpoint (is {pretrain_dir} a pretraining run folder?)")
    module = COMET.load_from_checkpoint(ckpt, map_location="cpu")
    test = data_module(data).parts["test"]
    return [str(p) for p in write_figures(out, pretrain_dir, module, test)]
