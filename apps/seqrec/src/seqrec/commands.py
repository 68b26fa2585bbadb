"""``seqrec fit``, ``seqrec test`` and ``seqrec evaluate``: thin typed commands over :mod:`seqrec.runner`.

Their parameters are the flags (jsonargparse): ``--data.*`` (:data:`~seqrec.config.DataConfig`,
the data module's arguments), ``--model.*`` (:data:`~seqrec.config.ModelConfig`, the method
classes' arguments), ``--train.*`` (:class:`~seqrec.config.TrainConfig`), ``--trainer.*``
(:class:`contrastkit.train.TrainerOptions`: accelerator, devices, num_nodes, strategy,
precision), or ``--config x.yaml`` with the same sections. ``--threads N`` is handled by
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

from seqrec.config import DataConfig, ModelConfig, TrainConfig, build_datamodule
from seqrec.runner import (
    describe_data,
    fit_run,
    format_table,
    popularity_metrics,
    prepare_scoring,
    run_name_of,
    score,
)

# From the README and docs/parity.md (Beauty, CPU, one thread); said after every MCLRec fit.
MCLREC_NOTE = ("note: MCLRec learns slowly at first. On Beauty (CPU, 1 thread) ~6 min gives test HR@20 .0180, "
               "below popularity (.0195), while SASRec reaches .0602 in 4 min. The official code does the same: "
               "after 5 epochs (prefix form) its MCLRec has .0944 and ours .0923-.0946, below SASRec's .1009. "
               "Run to beauty.yaml's 50 epochs (under 10 minutes on one GPU), ours reaches .1188-.1203 and passes SASRec "
               "(.1173); the paper reports .1243 (docs/parity.md).")


# jsonargparse reads the dataclass defaults from the signature, hence the calls in the defaults.
def fit(data: DataConfig = DataConfig(), model: ModelConfig = ModelConfig(),  # noqa: B008
        train: TrainConfig = TrainConfig(), trainer: TrainerOptions = TrainerOptions(),  # noqa: B008
        resume: bool = False, progress: bool = True) -> dict[str, float]:
    """Train one method (popularity, sasrec, cl4srec, mclrec), early-stopped, then test it.

    Args:
        data: the data (the data module's arguments); ``batch_size`` is per process.
        model: the method and its settings.
        train: epochs, early stopping, seed and run name.
        trainer: where it trains (``--trainer.devices 2 --trainer.strategy ddp`` for two processes).
        resume: continue the newest run of ``train.name`` that has a checkpoint (same settings;
            ``max_epochs``, ``max_time`` and the ``trainer`` placement may change).
        progress: show Lightning's progress bar.
    """
    run_dir, metrics = fit_run(data, model, train, resume=resume, progress=progress, trainer=trainer)
    if is_rank_zero():
        print(f"{model.method} on {describe_data(data)}\n" + format_table({model.method: metrics}))
        if model.method == "mclrec":
            print(MCLREC_NOTE)
    announce_run(run_dir)
    return metrics


def _score_in_run(command: str, checkpoint: str, data: DataConfig | None, other_data: bool, exclude_history: bool,
                  device: str, root: str, name: str | None) -> dict[str, float]:
    """Check the checkpoint and data, then score them in a new run ``<root>/seqrec/<name>/version_K``
    (name default: the checkpoint's run, ``_test`` or ``_evaluate`` appended)."""
    if not checkpoint:
        raise ValueError(f"{command} needs --ckpt_path PATH (a .ckpt written by seqrec fit)")
    scoring = prepare_scoring(checkpoint, data, other_data=other_data, device=device)  # before any run exists
    config = {"command": command, "checkpoint": str(checkpoint), "data": asdict(scoring.data),
              "other_data": other_data, "exclude_history": exclude_history}
    run_dir = open_run(root, "seqrec", name or f"{run_name_of(checkpoint)}_{command}", config)
    with failure_marked(run_dir):
        metrics = score(scoring, exclude_history, device)
        write_metrics(run_dir, {"checkpoint": str(Path(checkpoint).resolve()), "scored": scoring.what, **metrics})
    print(scoring.what + "\n" + format_table({Path(checkpoint).name: metrics}))
    announce_run(run_dir)
    return metrics


def test(ckpt_path: str = "", data: DataConfig | None = None, other_data: bool = False,
         exclude_history: bool = False, device: str = "cpu", root: str = "runs",
         name: str | None = None) -> dict[str, float]:
    """Full-ranking validation and test metrics of a checkpoint written by ``seqrec fit``.

    Writes ``<root>/seqrec/<name>/version_K/`` (config.yaml, metrics.json).

    Args:
        ckpt_path: the .ckpt file (loaded with weights_only=True: never runs code from it).
        data: the data to score on; by default the dataset the checkpoint records.
        other_data: allow data other than the checkpoint's (same item count).
        exclude_history: rank only items absent from each user's history.
        device: torch device.
        root: the runs folder.
        name: the run name (default: the checkpoint's run name + ``_test``, e.g. ``beauty_mclrec_test``).
    """
    return _score_in_run("test", ckpt_path, data, other_data, exclude_history, device, root, name)


def evaluate(data: DataConfig | None = None, model: ModelConfig = ModelConfig(method="popularity"),  # noqa: B008
             ckpt_path: str | None = None, other_data: bool = False, device: str = "cpu", root: str = "runs",
             name: str | None = None) -> dict[str, float]:
    """Evaluate the popularity ranking (``--model.method popularity``) or a checkpoint (as ``test``).

    Writes ``<root>/seqrec/<name>/version_K/`` (config.yaml, metrics.json).

    Args:
        data: the data (popularity: default synthetic; a checkpoint: the dataset it records).
        model: ``method popularity`` and ``exclude_history``; other settings are unused here.
        ckpt_path: a .ckpt file written by ``seqrec fit`` (loaded with weights_only=True).
        other_data: allow a checkpoint to be scored on data other than its own.
        device: torch device.
        root: the runs folder.
        name: the run name (default: ``popularity``, or the checkpoint's run name + ``_evaluate``).
    """
    if ckpt_path:
        return _score_in_run("evaluate", ckpt_path, data, other_data, model.exclude_history, device, root, name)
    if model.method != "popularity":
        raise ValueError("evaluate without --ckpt_path only evaluates --model.method popularity")
    data = data or DataConfig()
    dm = build_datamodule(data)
    dm.prepare_split()  # a bad file fails here, before any run exists
    config = {"command": "evaluate", "data": asdict(data), "model": asdict(model)}
    run_dir = open_run(root, "seqrec", name or "popularity", config)
    with failure_marked(run_dir):
        metrics = popularity_metrics(dm, model.exclude_history)
        write_metrics(run_dir, {"method": "popularity", "scored": describe_data(data), **metrics})
    print(f"popularity on {describe_data(data)}\n" + format_table({"popularity": metrics}))
    announce_run(run_dir)
    return metrics
