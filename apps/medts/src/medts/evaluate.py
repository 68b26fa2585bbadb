"""COMET's evaluation protocol (Wang et al., NeurIPS 2023, Sec. 4): linear probe on frozen
features, full fine-tuning at 100 / 10 / 1 % of the training labels, metrics per sample and per
patient, mean +- std over seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from contrastkit.eval import classification_metrics, linear_probe
from contrastkit.train import (
    TrainerOptions,
    fit_resumable,
    load_checkpoint,
    make_trainer,
    plot_loss_curves,
)

from medts.data.datamodule import loader
from medts.data.hierarchy import HierarchicalSet
from medts.data.split import label_fraction
from medts.finetune import FineTuner
from medts.models.encoder import TSEncoder


def all_samples(ds: HierarchicalSet) -> np.ndarray:
    """``(N, T, C)`` float32: every sample of ``ds`` in order."""
    return ds.samples(np.arange(ds.n_samples))


def patient_probabilities(probs: np.ndarray, patient: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-patient prediction = mean of its samples' class probabilities; returns
    ``(patient ids (P,), probabilities (P, C))``."""
    ids, inv = np.unique(patient, return_inverse=True)
    out = np.zeros((len(ids), probs.shape[1]))
    np.add.at(out, inv, probs)
    return ids, out / np.bincount(inv)[:, None]


def score(ds: HierarchicalSet, probs: np.ndarray) -> dict[str, float]:
    """Accuracy, macro P/R/F1, AUROC, AUPRC per sample (``sample/*``) and per patient (``patient/*``)."""
    y = ds.sample_label
    out = {f"sample/{k}": float(v) for k, v in classification_metrics(torch.from_numpy(y), torch.from_numpy(probs)).items()}
    ids, pp = patient_probabilities(probs, ds.sample_patient)
    pm = classification_metrics(torch.from_numpy(ds.patient_label[ids]), torch.from_numpy(pp))
    out.update({f"patient/{k}": float(v) for k, v in pm.items()})
    return out


def _full_probs(probs: np.ndarray, classes: np.ndarray, n_classes: int) -> np.ndarray:
    full = np.zeros((len(probs), n_classes))
    full[:, classes] = probs
    return full


def run_linear_probe(embed, parts: dict[str, HierarchicalSet], seed: int = 0) -> dict[str, float]:
    """Standardized logistic regression on frozen embeddings (train) scored on test.

    ``embed``: callable ``(N, T, C) array -> (N, D) tensor``.
    """
    tr, te = parts["train"], parts["test"]
    xtr, xte = embed(all_samples(tr)).cpu(), embed(all_samples(te)).cpu()
    res = linear_probe(xtr, torch.from_numpy(tr.sample_label), xte, torch.from_numpy(te.sample_label), seed=seed)
    return score(te, _full_probs(res.probabilities.numpy(), res.classes.numpy(), len(te.class_names)))


def run_finetune(
    encoder: TSEncoder | None,
    parts: dict[str, HierarchicalSet],
    run_dir: str | Path,
    fraction: float = 1.0,
    label_by: str = "sample",
    seed: int = 0,
    epochs: int = 20,
    lr: float = 1e-4,
    batch_size: int = 128,
    encoder_kwargs: dict | None = None,
    progress: bool = False,
    options: TrainerOptions | None = None,
) -> dict[str, float]:
    """Fine-tune ``encoder`` (None: from scratch) on ``fraction`` of the training labels, keep the
    epoch with the best validation macro-F1, and score it on the test patients; the loss curve
    goes to ``run_dir/plots/loss.png``.

    Under DDP (``options``) the training samples are sharded by Lightning's sampler wrapper, the
    head's BatchNorm becomes SyncBatchNorm (Lightning's ``sync_batchnorm``: statistics over the
    global batch, as on one device), and every rank scores the whole validation set itself
    (the macro-F1 that selects the checkpoint is the full-set one on every rank)."""
    torch.manual_seed(seed)
    train = label_fraction(parts["train"], fraction, label_by, seed)
    module = FineTuner(len(train.class_names), encoder, encoder_kwargs, train.class_names, lr=lr)
    trainer = make_trainer(run_dir, epochs, monitor="val/macro_f1", mode="max", progress=progress,
                           num_sanity_val_steps=0, options=options, sync_batchnorm=True)
    best = fit_resumable(trainer, module, run_dir=run_dir,
                          train_dataloaders=loader(train, batch_size, shuffle=True, seed=seed),
                          val_dataloaders=loader(parts["val"], 512))
    module.load_state_dict(load_checkpoint(best)["state_dict"])
    plot_loss_curves(run_dir, columns=["train/loss_step"], title=f"fine-tuning on {fraction:g} of the labels")
    module.to("cuda" if torch.cuda.is_available() else "cpu")
    out = score(parts["test"], module.predict_proba(all_samples(parts["test"])))
    out["train_samples"] = float(train.n_samples)
    return out


def mean_std(runs: list[dict[str, float]]) -> dict[str, tuple[float, float]]:
    """``{metric: (mean, std)}`` over seeds (population std, NaNs ignored)."""
    keys = runs[0].keys()
    return {k: (float(np.nanmean([r[k] for r in runs])), float(np.nanstd([r[k] for r in runs]))) for k in keys}
