"""``seqrec fit``, ``seqrec validate``, ``seqrec test`` and ``seqrec evaluate``: thin typed commands over :mod:`seqrec.runner`.

Their parameters are the flags (jsonargparse): ``--data.*`` (:data:`~seqrec.config.DataConfig`,
the data module's arguments), ``--model.*`` (:data:`~seqrec.config.ModelConfig`, the method
classes' arguments), ``--train.*`` (:class:`~seqrec.config.TrainConfig`), ``--trainer.*``
(:class:`contrastkit.train.TrainerOptions`: accelerator, devices, num_nodes, strategy,
precision), the run's own ``--max_epochs``, ``--seed``, ``--runs_root`` and ``--name``, or
``--config x.yaml`` with the same keys. ``--threads N`` is handled by
``contrastkit.train.run_cli``. Every command writes a run directory and ends with its
``run: <dir>  metrics: <dir>/metrics.json`` line.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from contrastkit.train import (
    TrainerOptions,
    announce_run,
    failure_marked,
    is_rank_zero,
    open_run,
    write_metrics,
)

from seqrec.config import MAX_EPOCHS, SEED, DataConfig, ModelConfig, TrainConfig, build_datamodule
from seqrec.runner import (
    describe_data,
    fit_run,
    format_table,
    popularity_metrics,
    prepare_scoring,
    run_name_of,
    score,
)


# jsonargparse reads the dataclass defaults from the signature, hence the calls in the defaults.
def fit(data: DataConfig = DataConfig(), model: ModelConfig = ModelConfig(),  # noqa: B008
        train: TrainConfig = TrainConfig(), trainer: TrainerOptions = TrainerOptions(),  # noqa: B008
        max_epochs: int = MAX_EPOCHS, seed: int = SEED, runs_root: str = "runs", name: str = "synthetic",
        resume: bool = False, progress: bool = True) -> dict[str, float]:
    """Train one method (popularity, sasrec, cl4srec, mclrec), early-stopped, then test it.

    Writes ``<runs_root>/seqrec/<name>/version_K/`` (config.yaml, item_ids.json, checkpoints/,
    logs/, metrics.json, plots/loss.png).

    Args:
        data: the data (the data module's arguments); ``batch_size`` is per process.
        model: the method and its settings.
        train: early stopping, validation period and time budget.
        trainer: where it trains (``--trainer.devices 2 --trainer.strategy ddp`` for two processes).
        max_epochs: the most epochs to train (may grow on --resume).
        seed: seed of the weights, the augmentations and the training order.
        runs_root: the runs folder.
        name: the run name.
        resume: continue the newest run of ``name`` that has a checkpoint (same settings;
            ``max_epochs``, ``train.max_time`` and the ``trainer`` placement may change).
        progress: show Lightning's progress bar.
    """
    run_dir, metrics = fit_run(data, model, train, runs_root=runs_root, name=name, max_epochs=max_epochs, seed=seed,
                               resume=resume, progress=progress, trainer=trainer)
    if is_rank_zero():
        print(f"{model.method} on {describe_data(data)}\n" + format_table({model.method: metrics}))
    announce_run(run_dir)
    return metrics


def _score_in_run(command: str, checkpoint: str, data: DataConfig | None, other_data: bool, exclude_history: bool,
                  device: str, runs_root: str, name: str | None,
                  stages: tuple[str, ...] = ("val", "test")) -> dict[str, float]:
    """Check the checkpoint and data, then score them on ``stages`` in a new run
    ``<runs_root>/seqrec/<name>/version_K`` (name default: the checkpoint's run with the command
    appended, e.g. ``beauty_mclrec_test``)."""
    if not checkpoint:
        raise ValueError(f"{command} needs --ckpt_path PATH (a .ckpt written by seqrec fit)")
    scoring = prepare_scoring(checkpoint, data, other_data=other_data, device=device)  # before any run exists
    config = {"command": command, "checkpoint": str(checkpoint), "data": asdict(scoring.data),
              "other_data": other_data, "exclude_history": exclude_history}
    run_dir = open_run(runs_root, "seqrec", name or f"{run_name_of(checkpoint)}_{command}", config)
    with failure_marked(run_dir):
        metrics = score(scoring, exclude_history, device, stages)
        write_metrics(run_dir, {"checkpoint": str(Path(checkpoint).resolve()), "scored": scoring.what, **metrics})
    print(scoring.what + "\n" + format_table({Path(checkpoint).name: metrics}, stage=stages[-1]))
    announce_run(run_dir)
    return metrics


def validate(ckpt_path: str = "", data: DataConfig | None = None, other_data: bool = False,
             exclude_history: bool = False, device: str = "cpu", runs_root: str = "runs",
             name: str | None = None) -> dict[str, float]:
    """Full-ranking validation metrics of a checkpoint written by ``seqrec fit``.

    ``val/HR@5`` ... ``val/NDCG@20``, the figures early stopping compared.

    Writes ``<runs_root>/seqrec/<name>/version_K/`` (config.yaml, metrics.json).

    Args:
        ckpt_path: the .ckpt file (loaded with weights_only=True: never runs code from it).
        data: the data to score on; by default the dataset the checkpoint records.
        other_data: allow data other than the checkpoint's (same item count).
        exclude_history: rank only items absent from each user's history.
        device: torch device.
        runs_root: the runs folder.
        name: the run name (default: the checkpoint's run name + ``_validate``).
    """
    return _score_in_run("validate", ckpt_path, data, other_data, exclude_history, device, runs_root, name,
                         stages=("val",))


def test(ckpt_path: str = "", data: DataConfig | None = None, other_data: bool = False,
         exclude_history: bool = False, device: str = "cpu", runs_root: str = "runs",
         name: str | None = None) -> dict[str, float]:
    """Full-ranking validation and test metrics of a checkpoint written by ``seqrec fit``.

    Writes ``<runs_root>/seqrec/<name>/version_K/`` (config.yaml, metrics.json).

    Args:
        ckpt_path: the .ckpt file (loaded with weights_only=True: never runs code from it).
        data: the data to score on; by default the dataset the checkpoint records.
        other_data: allow data other than the checkpoint's (same item count).
        exclude_history: rank only items absent from each user's history.
        device: torch device.
        runs_root: the runs folder.
        name: the run name (default: the checkpoint's run name + ``_test``, e.g. ``beauty_mclrec_test``).
    """
    return _score_in_run("test", ckpt_path, data, other_data, exclude_history, device, runs_root, name)


def evaluate(data: DataConfig | None = None, model: ModelConfig = ModelConfig(method="popularity"),  # noqa: B008
             ckpt_path: str | None = None, other_data: bool = False, device: str = "cpu", runs_root: str = "runs",
             name: str | None = None) -> dict[str, float]:
    """Evaluate the popularity ranking (``--model.method popularity``) or a checkpoint (as ``test``).

    Writes ``<runs_root>/seqrec/<name>/version_K/`` (config.yaml, metrics.json).

    Args:
        data: the data (popularity: default synthetic; a checkpoint: the dataset it records).
        model: ``method popularity`` and ``exclude_history``; other settings are unused here.
        ckpt_path: a .ckpt file written by ``seqrec fit`` (loaded with weights_only=True).
        other_data: allow a checkpoint to be scored on data other than its own.
        device: torch device.
        runs_root: the runs folder.
        name: the run name (default: ``popularity``, or the checkpoint's run name + ``_evaluate``).
    """
    if ckpt_path:
        return _score_in_run("evaluate", ckpt_path, data, other_data, model.exclude_history, device, runs_root,
                             name)
    if model.method != "popularity":
        raise ValueError("evaluate without --ckpt_path only evaluates --model.method popularity")
    data = data or DataConfig()
    dm = build_datamodule(data)
    dm.prepare_split()  # a bad file fails here, before any run exists
    config = {"command": "evaluate", "data": asdict(data), "model": asdict(model)}
    run_dir = open_run(runs_root, "seqrec", name or "popularity", config)
    with failure_marked(run_dir):
        metrics = popularity_metrics(dm, model.exclude_history)
        write_metrics(run_dir, {"method": "popularity", "scored": describe_data(data), **metrics})
    print(f"popularity on {describe_data(data)}\n" + format_table({"popularity": metrics}))
    announce_run(run_dir)
    return metrics
