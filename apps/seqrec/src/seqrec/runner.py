"""Train and evaluate one configuration in a run directory ``runs/seqrec/<name>/version_K/``.

``fit_run``: resumable training with early stopping on a validation metric, then the test of the
best checkpoint; writes ``config.yaml``, ``item_ids.json`` (the data's id of each model item),
``checkpoints/``, ``logs/``, ``metrics.json`` (with the reader's counts, ``read/*``) and
``plots/loss.png``; the run directory follows the shared convention (``open_run``: ``--resume``
continues the newest run of that name that has a checkpoint, with the same settings;
``failure_marked``: a run that fails before its first checkpoint is removed or marked FAILED).
``evaluate_run``: full-ranking evaluation of a checkpoint, on the data it records (Lightning
stores the data module's arguments in every checkpoint) unless told otherwise. Checkpoints are
loaded with :func:`contrastkit.train.load_checkpoint` (weights only: a file that needs code to
unpickle is refused).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import torch
from contrastkit.train import (
    failure_marked,
    fit_resumable,
    load_checkpoint,
    make_trainer,
    open_run,
    plot_loss_curves,
    seed_everything,
    write_metrics,
)
from contrastkit.train.cli import RESUME_MAY_DIFFER
from lightning.pytorch.callbacks import EarlyStopping

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
from seqrec.data.datamodule import SeqRecDataModule
from seqrec.evaluate import evaluate_scores
from seqrec.module import SeqRecModule


def _prefixed(metrics: dict[str, Any], prefix: str) -> dict[str, float]:
    return {f"{prefix}/{k.split('/', 1)[-1]}": float(v) for k, v in metrics.items()}


def popularity_metrics(data: DataConfig | SeqRecDataModule, exclude_history: bool = False) -> dict[str, float]:
    """Validation and test metrics of the popularity ranking."""
    dm = data if isinstance(data, SeqRecDataModule) else build_datamodule(data)
    split = dm.prepare_split()
    pop = Popularity(split.train_sequences, split.num_items)
    out = {}
    for stage, loader in (("val", dm.val_dataloader()), ("test", dm.test_dataloader())):
        out.update(_prefixed(evaluate_scores(pop, loader, exclude_history=exclude_history), stage))
    return out


def _record_data(run_dir: Path, dm: SeqRecDataModule) -> None:
    """``item_ids.json`` and the reader's counts (``read/*`` in ``metrics.json``) of the run's data."""
    dm.prepare_split()
    (run_dir / "item_ids.json").write_text(json.dumps(dm.item_ids))
    report = dm.data.report
    write_metrics(run_dir, {"dataset": dm.hparams.dataset, "read/users": len(dm.data.sequences),
                            "read/items": dm.data.num_items, "read/blank_lines": report.blank_lines,
                            "read/short_users": report.short_users})


def fit_run(data: DataConfig, model: ModelConfig, train: TrainConfig, resume: bool = False,
            progress: bool = True) -> tuple[Path, dict[str, float]]:
    """Train ``model`` on ``data`` (or evaluate popularity) in a new run directory, or (``resume``)
    continue the newest run of ``train.name`` that has a checkpoint; returns ``(run_dir, metrics)``."""
    torch.set_float32_matmul_precision("high")  # TF32 on GPUs that have it; no effect on CPU
    if model.method != "popularity" and model.method not in METHODS:
        raise ValueError(f"model.method must be popularity or one of {tuple(METHODS)}; got {model.method!r}")
    run_dir = open_run(train.root, "seqrec", train.name, as_dict(data, model, train), resume=resume,
                       may_differ=RESUME_MAY_DIFFER)
    with failure_marked(run_dir):
        return run_dir, _fit_in(run_dir, data, model, train, progress)


def _fit_in(run_dir: Path, data: DataConfig, model: ModelConfig, train: TrainConfig,
            progress: bool) -> dict[str, float]:
    seed_everything(train.seed, workers=True)
    dm = build_datamodule(data, train.seed)
    _record_data(run_dir, dm)
    if model.method == "popularity":
        metrics = popularity_metrics(dm, model.exclude_history)
        write_metrics(run_dir, {"method": "popularity", **metrics})
        return metrics
    split = dm.prepare_split()
    module = build_module(model, split.num_items, data.max_len)
    callbacks = [EarlyStopping(monitor=train.monitor, mode="max", patience=train.patience)]
    trainer = make_trainer(run_dir, train.max_epochs, monitor=train.monitor, mode="max", callbacks=callbacks,
                           progress=progress, accelerator=train.accelerator, precision=train.precision,
                           limit_train_batches=train.limit_train_batches, num_sanity_val_steps=0,
                           val_check_interval=train.val_check_interval, max_time=train.max_time)
    start = time.perf_counter()
    best = fit_resumable(trainer, module, dm, run_dir=run_dir)
    fit_seconds = time.perf_counter() - start
    best_val = float(trainer.checkpoint_callback.best_model_score or float("nan"))
    result = trainer.test(module, datamodule=dm, ckpt_path=str(best) if best else None, verbose=False)[0]
    metrics = {"method": model.method, "epochs_run": trainer.current_epoch,
               "fit_seconds": fit_seconds, f"best_{train.monitor}": best_val,
               "best_checkpoint": str(best) if best else None, **_prefixed(result, "test")}
    write_metrics(run_dir, metrics)
    try:
        plot_loss_curves(run_dir)
    except (FileNotFoundError, ValueError):
        pass  # no training step logged (e.g. zero batches): nothing to plot
    return {k: v for k, v in metrics.items() if isinstance(v, float)}


def load_module(path: str | Path, map_location: str = "cpu") -> tuple[SeqRecModule, DataConfig | None]:
    """The module stored in a checkpoint of :func:`fit_run` (its class from the hyper-parameters)
    and the data it was trained on (None when the checkpoint does not record it).

    Reads with :func:`contrastkit.train.load_checkpoint` (weights only): a pickle that would run
    code, an empty or a truncated file is refused with a ``CheckpointError`` (a ``ValueError``)
    naming the file.
    """
    ckpt = load_checkpoint(path, map_location)
    hp = ckpt.get("hyper_parameters")
    cls = next((c for c in METHODS.values() if c.__name__ == (hp or {}).get("_class_name")), None)
    if cls is None or "state_dict" not in ckpt:
        raise ValueError(f"{path}: not a seqrec checkpoint (no known _class_name in its hyper-parameters)")
    try:
        module = cls(**{k: v for k, v in hp.items() if not k.startswith("_")})
        module.load_state_dict(ckpt["state_dict"])
    except (TypeError, RuntimeError) as e:
        raise ValueError(f"{path}: written by another version of seqrec ({e})") from None
    dm_hp = ckpt.get("datamodule_hyper_parameters")
    trained_on = None
    if dm_hp:
        known = {k: dm_hp[k] for k in asdict(DataConfig()) if k in dm_hp}
        trained_on = DataConfig(**{**known, "synthetic": dict(dm_hp.get("synthetic") or {})})
    return module.eval(), trained_on


def _same_data(a: DataConfig, b: DataConfig) -> bool:
    def key(d: DataConfig) -> tuple:
        return d.dataset, d.max_len, (d.synthetic or {}) if d.dataset == "synthetic" else {}

    return key(a) == key(b)


def describe_data(data: DataConfig) -> str:
    """``Beauty`` or ``synthetic {...}`` (max_len when not 50)."""
    name = data.dataset + (f" {data.synthetic}" if data.dataset == "synthetic" and data.synthetic else "")
    return name + (f" (max_len {data.max_len})" if data.max_len != 50 else "")


def evaluate_run(checkpoint: str | Path, data: DataConfig | None = None, *, other_data: bool = False,
                 exclude_history: bool = False, device: str = "cpu") -> tuple[dict[str, float], str]:
    """Full-ranking validation and test metrics of a checkpoint, and a line saying what was scored.

    ``data`` None scores the checkpoint on the data it records; other data than that is an error
    unless ``other_data`` (the item count must match in any case).
    """
    module, trained_on = load_module(checkpoint, device)
    if data is None:
        if trained_on is None:
            raise ValueError(f"{checkpoint}: the checkpoint records no dataset; pass --data.dataset")
        data = trained_on
    elif trained_on is not None and not other_data and not _same_data(data, trained_on):
        raise ValueError(f"{checkpoint} was trained on {describe_data(trained_on)} but --data asks for "
                         f"{describe_data(data)}: leave --data out to use the checkpoint's, or pass "
                         "--other_data true to score it on other data")
    data = replace(data, max_len=min(data.max_len, module.encoder.max_len))
    dm = build_datamodule(data)
    split = dm.prepare_split()
    if split.num_items != module.encoder.num_items:
        raise ValueError(f"{checkpoint}: the model scores {module.encoder.num_items} items but "
                         f"{describe_data(data)} has {split.num_items}; it cannot be evaluated there")
    module = module.to(device)
    out = {}
    for stage, loader in (("val", dm.val_dataloader()), ("test", dm.test_dataloader())):
        out.update(_prefixed(evaluate_scores(module.scores, loader, exclude_history=exclude_history,
                                             device=device), stage))
    trained = describe_data(trained_on) if trained_on is not None else "unrecorded data"
    return out, (f"{type(module).__name__} from {checkpoint} (trained on {trained}), scored on "
                 f"{describe_data(data)}: {len(split.test.targets):,} users, {split.num_items:,} items")


def format_table(rows: dict[str, dict[str, float]], stage: str = "test") -> str:
    """A Markdown table of HR/NDCG@{5,10,20} per row name."""
    cols = [f"{m}@{k}" for m in ("HR", "NDCG") for k in (5, 10, 20)]
    lines = ["| method | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, m in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{m.get(f'{stage}/{c}', float('nan')):.4f}" for c in cols) + " |")
    return "\n".join(lines)
