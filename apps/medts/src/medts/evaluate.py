"""COMET's evaluation protocol (Wang et al., NeurIPS 2023, Sec. 4): linear probe on frozen
features, full fine-tuning at 100 / 10 / 1 % of the training labels, metrics per sample and per
patient; ``medts evaluate`` runs it on one checkpoint (``medts study`` on every method x seed).

    medts evaluate --ckpt_path runs/medts/demo/version_0/pretrain/checkpoints/last.ckpt --fractions "[0.1]"
    medts evaluate --ckpt_path runs/medts/demo/version_0/finetune/checkpoints/best.ckpt
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from contrastkit.eval import classification_metrics, linear_probe
from contrastkit.train import (
    TrainerOptions,
    announce_run,
    failure_marked,
    fit_resumable,
    load_checkpoint,
    make_trainer,
    open_run,
    plot_loss_curves,
    write_metrics,
)

from medts.data.datamodule import MedTSDataModule, loader
from medts.data.hierarchy import HierarchicalSet
from medts.data.split import label_fraction
from medts.finetune import FineTuner
from medts.models.encoder import TSEncoder, embed_samples


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
    max_epochs: int = 20,
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
    trainer = make_trainer(run_dir, max_epochs, monitor="val/macro_f1", mode="max", progress=progress,
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


def evaluate(
    ckpt_path: str = "",
    data: MedTSDataModule | None = None,
    linear_probe: bool = True,
    fractions: list[float] | None = None,
    label_by: Literal["sample", "sample_per_patient", "patient"] = "sample",
    max_epochs_finetune: int = 20,
    finetune_lr: float = 1e-4,
    finetune_batch_size: int = 128,
    seed: int = 0,
    progress: bool = False,
    name: str = "evaluate",
    runs_root: str = "runs",
    resume: bool = False,
    trainer: TrainerOptions | None = None,
) -> dict[str, dict[str, float]]:
    """The paper's protocol on one checkpoint, scored on the test patients; writes metrics.json.

    A pretraining checkpoint (``medts fit``, ``demo``, ``study``) or an exported encoder gets the
    linear probe (``linear``) and a full fine-tuning per label fraction (``finetune_<fraction>``,
    each a sub-run with its checkpoints and ``plots/loss.png``); a fine-tuned checkpoint is
    scored as it is (``finetuned``). Metrics per sample and per patient, as in ``medts study``.
    Writes ``metrics.json`` in ``<runs_root>/medts/<name>/version_K``.

    Args:
        ckpt_path: a pretraining or fine-tuned checkpoint, or an exported ``.safetensors`` encoder.
        data: the data (MedTSDataModule's arguments); default: the data the checkpoint or its run records.
        linear_probe: score the linear probe on frozen embeddings (pretrained encoders).
        fractions: label fractions to fine-tune on (the paper's ``[1.0, 0.1, 0.01]``; none by default).
        label_by: draw the fractions by ``sample`` (the paper), ``sample_per_patient`` or ``patient``.
        max_epochs_finetune / finetune_lr / finetune_batch_size: the fine-tuning.
        seed: the probe's and the fine-tuning's seed.
        progress: show progress bars.
        name / runs_root: the run directory.
        resume: continue the newest run of that name (finished fine-tunings continue from their checkpoints).
        trainer: accelerator, devices, strategy... of the fine-tunings (default: one device).
    """
    from medts.use import data_of, is_finetuned, load_encoder_from, load_finetuned

    finetuned = is_finetuned(ckpt_path)
    model = load_finetuned(ckpt_path) if finetuned else load_encoder_from(ckpt_path)  # named before the data
    data = data_of(ckpt_path, data)
    data.setup()
    parts, metrics = data.parts, {}
    config = {"ckpt_path": str(ckpt_path), "data": dict(data.hparams), "linear_probe": linear_probe,
              "fractions": list(fractions or []), "label_by": label_by, "max_epochs_finetune": max_epochs_finetune,
              "finetune_lr": finetune_lr, "finetune_batch_size": finetune_batch_size, "seed": seed}
    run_dir = open_run(runs_root, "medts", name, config, resume=resume)
    with failure_marked(run_dir):
        if finetuned:
            if list(parts["test"].class_names) != list(model.hparams.class_names):
                raise ValueError(f"{ckpt_path}: the model predicts the classes {list(model.hparams.class_names)}, "
                                 f"the data has {parts['test'].class_names}")
            metrics["finetuned"] = score(parts["test"], model.predict_proba(all_samples(parts["test"])))
        else:
            if linear_probe:
                metrics["linear"] = run_linear_probe(lambda x: embed_samples(model, torch.from_numpy(x)), parts, seed)
            for frac in fractions or []:
                torch.manual_seed(seed)
                metrics[f"finetune_{frac:g}"] = run_finetune(
                    copy.deepcopy(model).requires_grad_(True), parts, run_dir / f"finetune_{frac:g}", frac, label_by,
                    seed, max_epochs_finetune, finetune_lr, finetune_batch_size, progress=progress, options=trainer)
        write_metrics(run_dir, metrics)
    from medts.demo import table

    print(table(metrics))
    announce_run(run_dir)
    return metrics
