"""Commands that read a trained model: embed, export and the use command, predict."""

from __future__ import annotations

import numpy as np
import torch
from contrastkit.train import (
    announce_run,
    export_encoder,
    load_checkpoint,
    load_module,
    open_run,
    write_embeddings,
)

from toyapp.data import ToyDataModule
from toyapp.method import ToyContrastive


def load_model(ckpt_path: str) -> ToyContrastive:
    """The model of a checkpoint of fit, demo or study (its class and settings are recorded in it)."""
    if not ckpt_path:
        raise ValueError("--ckpt_path is required (a .ckpt written by toyapp fit, demo or study)")
    return load_module(ckpt_path, packages=("toyapp",), expected=ToyContrastive)


def model_and_data(ckpt_path: str) -> tuple[ToyContrastive, ToyDataModule]:
    """The model and the data it was trained on (the datamodule's settings in the checkpoint)."""
    module = load_model(ckpt_path)
    data = ToyDataModule(**load_checkpoint(ckpt_path).get("datamodule_hyper_parameters", {}))
    data.setup()
    return module, data


def embed(ckpt_path: str = "", split: str = "test", name: str = "embed", runs_root: str = "runs") -> str:
    """``embeddings.npy`` + ``embeddings.ids.json`` of one split's points (ids: the point numbers).

    Args:
        ckpt_path: a checkpoint of fit, demo or study. split: train, val or test.
        name / runs_root: the run folder.
    """
    module, data = model_and_data(ckpt_path)
    x, _, ids = data.splits[split].tensors
    run_dir = open_run(runs_root, "toyapp", name, {"ckpt_path": str(ckpt_path), "split": split})
    write_embeddings(run_dir, module.embed(x), ids.tolist(), model=str(ckpt_path))
    announce_run(run_dir)
    return str(run_dir)


def export(ckpt_path: str = "", name: str = "export", runs_root: str = "runs") -> str:
    """The encoder as ``encoder.safetensors`` + ``encoder.json`` (no pickle, no training code).

    Args:
        ckpt_path: a checkpoint of fit, demo or study.
        name / runs_root: the run folder.
    """
    module = load_model(ckpt_path)
    run_dir = open_run(runs_root, "toyapp", name, {"ckpt_path": str(ckpt_path)})
    config = {k: module.hparams[k] for k in ("dim", "hidden", "out_dim")}
    path = export_encoder(module.encoder, run_dir / "encoder", config, "toyapp.method:ToyContrastive.encoder")
    announce_run(run_dir)
    return str(path)


def predict(ckpt_path: str = "", points: str = "", name: str = "predict", runs_root: str = "runs") -> list[int]:
    """The cluster of each point of a ``(N, dim)`` ``.npy`` file: the nearest class mean of the
    training embeddings; written to ``predictions.csv``.

    Args:
        ckpt_path: a checkpoint of fit, demo or study.
        points: a ``.npy`` file of shape ``(N, dim)``.
        name / runs_root: the run folder.
    """
    module, data = model_and_data(ckpt_path)
    if not points:
        raise ValueError("--points is required (a .npy file of shape (N, dim))")
    x = np.load(points, allow_pickle=False)
    if x.ndim != 2 or x.shape[1] != module.hparams.dim or not np.isfinite(x).all():
        raise ValueError(f"{points}: expected finite points of shape (N, {module.hparams.dim}); got {x.shape}")
    xtr, ytr, _ = data.splits["train"].tensors
    ztr = module.embed(xtr)
    means = torch.stack([ztr[ytr == c].mean(0) for c in range(int(ytr.max()) + 1)])
    labels = torch.cdist(module.embed(torch.from_numpy(x).float()), means).argmin(1).tolist()
    run_dir = open_run(runs_root, "toyapp", name, {"ckpt_path": str(ckpt_path), "points": str(points)})
    (run_dir / "predictions.csv").write_text("point,cluster\n" + "".join(f"{i},{c}\n" for i, c in enumerate(labels)))
    announce_run(run_dir)
    return labels
