"""The app's figures: loss per level over pretraining, test embeddings by patient and by class."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from contrastkit.train import plot_embeddings, plot_loss_curves

from medts.data.hierarchy import HierarchicalSet
from medts.models.encoder import TSEncoder, embed_samples


def write_figures(out_dir: str | Path, pretrain_dir: str | Path, encoder: TSEncoder, test: HierarchicalSet,
                  title: str = "") -> list[Path]:
    """Write ``loss_per_level.png`` (per-level epoch means of training, validation dashed, from
    ``pretrain_dir``'s CSV logs) and ``embeddings_by_patient.png`` / ``embeddings_by_class.png``
    (PCA of the encoder's sample embeddings of ``test``) into ``out_dir``; returns their paths."""
    out_dir = Path(out_dir)
    prefix = f"{title}: " if title else ""
    levels = ("patient", "trial", "sample", "observation", "instance")
    columns = [f"train/loss_{lvl}_epoch" for lvl in levels] + [f"val/loss_{lvl}" for lvl in levels]
    paths = [plot_loss_curves(pretrain_dir, out_dir / "loss_per_level.png", columns,
                              f"{prefix}pretraining loss per level")]
    from medts.use import check_finite

    emb = embed_samples(encoder, torch.from_numpy(test.samples(np.arange(test.n_samples)))).cpu().numpy()
    check_finite(emb, "test embeddings", pretrain_dir)
    paths.append(plot_embeddings(emb, np.array(test.patient_names)[test.sample_patient],
                                 out_dir / "embeddings_by_patient.png", f"{prefix}test embeddings by patient", "patient"))
    paths.append(plot_embeddings(emb, np.array(test.class_names)[test.sample_label],
                                 out_dir / "embeddings_by_class.png", f"{prefix}test embeddings by class", "class"))
    return paths


def figures(pretrain_dir: str, name: str = "figures", runs_root: str = "runs") -> list[str]:
    """Redraw the loss-per-level and embedding figures of a finished pretraining run.

    The data are rebuilt from the data-module settings its checkpoint records; the PNGs go to
    ``<runs_root>/medts/<name>/version_K/plots/``.

    Args:
        pretrain_dir: the run's pretraining folder (holds ``checkpoints/last.ckpt`` and ``logs/``).
        name / runs_root: the run directory.
    """
    from contrastkit.train import announce_run, failure_marked, open_run

    from medts.use import data_of, load_encoder_from

    ckpt = Path(pretrain_dir) / "checkpoints" / "last.ckpt"
    if not ckpt.is_file():
        raise FileNotFoundError(f"{ckpt}: no pretraining checkpoint (is {pretrain_dir} a pretraining run folder?)")
    encoder = load_encoder_from(ckpt)  # another app's or a damaged file is named before the data is asked for
    dm = data_of(ckpt, None)
    dm.setup()
    run_dir = open_run(runs_root, "medts", name, {"pretrain_dir": str(pretrain_dir)})
    with failure_marked(run_dir):
        paths = [str(p) for p in write_figures(run_dir / "plots", pretrain_dir, encoder, dm.parts["test"])]
    announce_run(run_dir)
    return paths
