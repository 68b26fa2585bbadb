"""Train and evaluate one configuration in a run directory ``runs/seqrec/<name>/version_K/``.

``fit_run``: resumable training with early stopping on a validation metric, then the test of the
best checkpoint; writes ``config.yaml``, ``checkpoints/``, ``logs/``, ``metrics.json`` and
``plots/loss.png``. ``evaluate_run``: full-ranking evaluation of popularity or of a checkpoint.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch
from contrastkit.train import (
    fit_resumable,
    make_trainer,
    new_run_dir,
    plot_loss_curves,
    save_config,
    seed_everything,
    write_metrics,
)
from lightning.pytorch.callbacks import Callback, EarlyStopping

from seqrec.baselines import Popularity
from seqrec.config import (
    METHODS,
    DataConfig,
    ModelConfig,
    TrainConfig,
    as_dict,
    build_datamodule,
    build_module,
)
from seqrec.evaluate import evaluate_scores


class ProgressLines(Callback):
    """Plain progress lines (for logs, where no progress bar is drawn): every ``every`` training
    batches and after each validation, with the elapsed time."""

    def __init__(self, every: int = 20) -> None:
        self.every, self.start = every, time.perf_counter()

    def _say(self, trainer, text: str) -> None:
        print(f"[{time.perf_counter() - self.start:7.0f}s] epoch {trainer.current_epoch} "
              f"step {trainer.global_step}: {text}", flush=True)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if (batch_idx + 1) % self.every == 0:
            loss = trainer.callback_metrics.get("train/loss_step", trainer.callback_metrics.get("train/loss"))
            self._say(trainer, f"batch {batch_idx + 1}/{trainer.num_training_batches}"
                      + (f" loss {float(loss):.4f}" if loss is not None else ""))

    def on_validation_end(self, trainer, pl_module) -> None:
        m = trainer.callback_metrics
        if "val/NDCG@20" in m:
            self._say(trainer, f"val HR@20 {float(m['val/HR@20']):.4f} NDCG@20 {float(m['val/NDCG@20']):.4f}")


def _prefixed(metrics: dict[str, Any], prefix: str) -> dict[str, float]:
    return {f"{prefix}/{k.split('/', 1)[-1]}": float(v) for k, v in metrics.items()}


def popularity_metrics(data: DataConfig, exclude_history: bool = False) -> dict[str, float]:
    """Validation and test metrics of the popularity ranking."""
    dm = build_datamodule(data)
    split = dm.prepare_split()
    pop = Popularity(split.train_sequences, split.num_items)
    out = {}
    for stage, loader in (("val", dm.val_dataloader()), ("test", dm.test_dataloader())):
        out.update(_prefixed(evaluate_scores(pop, loader, exclude_history=exclude_history), stage))
    return out


def fit_run(data: DataConfig, model: ModelConfig, train: TrainConfig) -> tuple[Path, dict[str, float]]:
    """Train ``model`` on ``data`` (or evaluate popularity) in a new (or resumed) run directory."""
    torch.set_num_threads(max(train.threads, 1))
    torch.set_float32_matmul_precision("high")  # TF32 on GPUs that have it; no effect on CPU
    run_dir = new_run_dir(train.root, "seqrec", train.name, resume=train.resume)
    save_config(run_dir, as_dict(data, model, train))
    seed_everything(train.seed, workers=True)
    if model.method == "popularity":
        metrics = popularity_metrics(data, model.exclude_history)
        write_metrics(run_dir, {"method": "popularity", **metrics})
        return run_dir, metrics
    if model.method not in METHODS:
        raise ValueError(f"model.method must be popularity or one of {tuple(METHODS)}; got {model.method!r}")
    dm = build_datamodule(data, train.seed)
    split = dm.prepare_split()
    module = build_module(model, data.dataset, split.num_items, data.max_len)
    callbacks = [EarlyStopping(monitor=train.monitor, mode="max", patience=train.patience)]
    if not train.progress:
        callbacks.append(ProgressLines())
    trainer = make_trainer(run_dir, train.max_epochs, monitor=train.monitor, mode="max", callbacks=callbacks,
                           progress=train.progress, accelerator=train.accelerator, precision=train.precision,
                           limit_train_batches=train.limit_train_batches, num_sanity_val_steps=0,
                           val_check_interval=train.val_check_interval, max_time=train.max_time)
    start = time.perf_counter()
    best = fit_resumable(trainer, module, dm, run_dir=run_dir)
    fit_seconds = time.perf_counter() - start
    best_val = float(trainer.checkpoint_callback.best_model_score or float("nan"))
    result = trainer.test(module, datamodule=dm, ckpt_path=str(best) if best else None, verbose=False)[0]
    metrics = {"method": model.method, "dataset": data.dataset, "epochs_run": trainer.current_epoch,
               "fit_seconds": fit_seconds, f"best_{train.monitor}": best_val,
               "best_checkpoint": str(best) if best else None, **_prefixed(result, "test")}
    write_metrics(run_dir, metrics)
    try:
        plot_loss_curves(run_dir)
    except (FileNotFoundError, ValueError):
        pass  # no training step logged (e.g. zero batches): nothing to plot
    return run_dir, {k: v for k, v in metrics.items() if isinstance(v, float)}


def load_checkpoint(path: str | Path, map_location: str = "cpu"):
    """The module stored in a checkpoint of :func:`fit_run` (its class from the hyper-parameters)."""
    ckpt = torch.load(path, map_location=map_location, weights_only=False)
    hp = ckpt["hyper_parameters"]
    cls = next((c for c in METHODS.values() if c.__name__ == hp.get("_class_name")), None)
    if cls is None:
        raise ValueError(f"{path}: not a seqrec checkpoint (no known _class_name in its hyper-parameters)")
    module = cls(**{k: v for k, v in hp.items() if not k.startswith("_")})
    module.load_state_dict(ckpt["state_dict"])
    return module.eval()


def evaluate_run(checkpoint: str | Path, data: DataConfig, exclude_history: bool = False,
                 device: str = "cpu") -> dict[str, float]:
    """Full-ranking validation and test metrics of a checkpoint."""
    module = load_checkpoint(checkpoint, device).to(device)
    dm = build_datamodule(data)
    out = {}
    for stage, loader in (("val", dm.val_dataloader()), ("test", dm.test_dataloader())):
        out.update(_prefixed(evaluate_scores(module.scores, loader, exclude_history=exclude_history,
                                             device=device), stage))
    return out


def format_table(rows: dict[str, dict[str, float]], stage: str = "test") -> str:
    """A Markdown table of HR/NDCG@{5,10,20} per row name."""
    cols = [f"{m}@{k}" for m in ("HR", "NDCG") for k in (5, 10, 20)]
    lines = ["| method | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, m in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{m.get(f'{stage}/{c}', float('nan')):.4f}" for c in cols) + " |")
    return "\n".join(lines)
