"""``medts demo``: COMET on the synthetic cohort, linear probe and one fine-tuning setting, in a
few minutes on two CPU cores; writes ``runs/medts/demo/version_K/`` (with ``plots/``) and prints a metrics table.

The demo's encoder is the TS2Vec architecture at reduced width and depth (so that it runs in
minutes on a CPU); the configs for the real data use the paper's 64 / 320 / 10.
"""

from __future__ import annotations

import time
from functools import partial

import torch
from contrastkit.train import (
    TrainerOptions,
    announce_run,
    failure_marked,
    is_rank_zero,
    open_run,
    write_metrics,
)

from medts.data.build import Construction
from medts.data.datamodule import MedTSDataModule
from medts.data.sources import Source
from medts.evaluate import run_finetune, run_linear_probe
from medts.method import COMET
from medts.plots import write_figures
from medts.study import pretrain


def demo_data(patients_per_class: int = 10, seconds: float = 40.0, batch_size: int = 64,
              seed: int = 0) -> MedTSDataModule:
    """The demo's synthetic cohort, set up: 2 classes, 4 channels at 64 Hz, pseudo-trials of 5 s,
    1 s samples with 50 % overlap; ``seed`` draws the cohort, the patient split and the batches."""
    dm = MedTSDataModule(
        source=Source(kind="synthetic", synthetic_patients_per_class=patients_per_class, synthetic_seconds=seconds,
                      synthetic_seed=seed),
        construction=Construction(trial_mode="pseudo", trial_seconds=5.0, sample_seconds=1.0, overlap=0.5),
        batch_size=batch_size, split_seed=seed, seed=seed)
    dm.setup()
    return dm


def demo(
    runs_root: str = "runs",
    patients_per_class: int = 10,
    seconds: float = 40.0,
    max_epochs_pretrain: int = 20,
    max_epochs_finetune: int = 20,
    finetune_fraction: float = 0.1,
    finetune_lr: float = 1e-3,
    output_dims: int = 64,
    hidden_dims: int = 32,
    depth: int = 6,
    batch_size: int = 64,
    seed: int = 0,
    progress: bool = True,
    resume: bool = False,
    trainer: TrainerOptions | None = None,
) -> dict:
    """Pretrain COMET on synthetic patients, linear probe, fine-tune on a label fraction; print a table.

    Args:
        runs_root: where ``medts/demo/version_K`` goes.
        patients_per_class / seconds: the synthetic cohort (2 classes, 4 channels, 64 Hz).
        max_epochs_pretrain / max_epochs_finetune / finetune_fraction / finetune_lr: the protocol's budget.
        output_dims / hidden_dims / depth: the encoder's size.
        batch_size / seed: the batches; ``seed`` also draws the cohort, the split and the weights.
        progress: show progress bars.
        resume: continue the newest demo run that has a checkpoint (found in its ``pretrain/`` or
            ``finetune/`` sub-run): a finished pretraining is not run again, an unfinished one
            continues from its ``last.ckpt``, and so does the fine-tuning.
        trainer: accelerator, devices, strategy... of both fits (default: one device).

    CPU threads: ``medts demo --threads N`` (default: the cores this process may use).
    """
    t0 = time.time()
    dm = demo_data(patients_per_class, seconds, batch_size, seed)
    model = partial(COMET, output_dims=output_dims, hidden_dims=hidden_dims, depth=depth)
    run_dir = open_run(runs_root, "medts", "demo", {
        "data": dict(dm.hparams), "comet": dict(model.keywords), "max_epochs_pretrain": max_epochs_pretrain,
        "max_epochs_finetune": max_epochs_finetune, "finetune_fraction": finetune_fraction, "finetune_lr": finetune_lr,
        "seed": seed, "progress": progress}, resume=resume)
    with failure_marked(run_dir):
        module = pretrain(dm, model, seed, run_dir / "pretrain", max_epochs_pretrain, progress, options=trainer)
        embed = lambda x: module.embed(torch.from_numpy(x))
        metrics: dict = {"linear": run_linear_probe(embed, dm.parts, seed)}
        metrics[f"finetune_{finetune_fraction:g}"] = run_finetune(
            module.export_encoder(), dm.parts, run_dir / "finetune", finetune_fraction, "sample", seed,
            max_epochs_finetune, finetune_lr, batch_size, progress=progress, options=trainer)
        metrics["seconds"] = time.time() - t0
        write_metrics(run_dir, metrics)
        if is_rank_zero():
            write_figures(run_dir / "plots", run_dir / "pretrain", module.averaged_encoder(), dm.parts["test"], "demo")
    print(table(metrics))
    announce_run(run_dir)
    return metrics


def table(metrics: dict, keys=("accuracy", "precision", "recall", "f1", "auroc", "auprc")) -> str:
    """A plain-text table: one row per setting and level (sample / patient)."""
    lines = [f"{'setting':<16}{'level':<9}" + "".join(f"{k:>10}" for k in keys)]
    for setting, m in metrics.items():
        if not isinstance(m, dict):
            continue
        for level in ("sample", "patient"):
            lines.append(f"{setting:<16}{level:<9}" + "".join(f"{m[f'{level}/{k}']:>10.3f}" for k in keys))
    return "\n".join(lines)
