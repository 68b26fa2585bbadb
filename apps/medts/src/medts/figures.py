"""The README's figures: loss per level over pretraining, test embeddings by patient and by class."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

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


def figures(pretrain_dir: str, out: str, method: Literal["comet", "ts2vec", "simclr"] = "comet") -> list[str]:
    """Figures of a finished pretraining run (``medts figures``); the data are rebuilt from the
    data-module settings its checkpoint records.

    Args:
        pretrain_dir: the run's pretraining folder (holds ``checkpoints/last.ckpt`` and ``logs/``).
        out: folder for the PNGs.
        method: the pretraining method of that run.
    """
    from medts.baselines import PRETRAINING
    from medts.data import Construction, MedTSDataModule, Source

    ckpt = Path(pretrain_dir) / "checkpoints" / "last.ckpt"
    if not ckpt.is_file():
        raise FileNotFoundError(f"{ckpt}: no pretraining checkpoint (is {pretrain_dir} a pretraining run folder?)")
    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    hp = dict(state.get("datamodule_hyper_parameters") or {})
    if not hp:
        raise ValueError(f"{ckpt}: the checkpoint records no data-module settings")
    dm = MedTSDataModule(**{**hp, "source": Source(**hp["source"]), "construction": Construction(**hp["construction"])})
    dm.setup()
    module = PRETRAINING[method].load_from_checkpoint(ckpt, map_location="cpu", weights_only=True)
    return [str(p) for p in write_figures(out, pretrain_dir, module, dm.parts["test"])]
