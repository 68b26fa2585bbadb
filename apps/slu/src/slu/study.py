"""``slu fit`` (one method, one scenario) and ``slu study`` (methods x seeds -> mean ± std table).

Both write a run directory ``<runs_root>/slu/<name>/version_K/`` with ``config.yaml``,
``checkpoints/`` (one state per finished task: the model, its settings and the data record that
``embed``, ``predict`` and ``evaluate`` need), ``units.json`` (the finished rows, method x seed:
:class:`contrastkit.train.StudyUnits`), ``tasks/`` (each task's trainer: ``checkpoints/last.ckpt`` every epoch, logs),
``metrics.json``, ``table.csv`` + ``table.md`` (mean ± sample std over seeds, with ``n``) and
``plots/`` (``matrix*.png``, ``avg_acc.png``, and ``loss*.png``: every task's losses, tasks marked).
``--resume`` continues the newest such run: finished rows are read back from ``units.json``, the
finished tasks of an unfinished row are skipped, the interrupted task continues from its last epoch.

``--trainer.*`` (:class:`~contrastkit.train.TrainerOptions`) says where every task trains
(``--trainer.devices 2 --trainer.strategy ddp``): every rank runs the same study, rank 0 writes the
files. A resume may change these options (the finished tasks are kept; the interrupted task's
batches are cut differently from its last epoch on).
"""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
from contrastkit.train.trainer import TrainerOptions

from slu.continual import ModelConfig, TrainConfig
from slu.data.datamodule import DataConfig
from slu.method import MethodConfig

COLUMNS = (("avg_acc", "Avg Acc"), ("last_acc", "Last Acc"), ("forgetting", "Forgetting"), ("bwt", "BWT"))
# on test clips of unseen and of seen wording (slu.evaluate); unseen first, the headline
WORDING_COLUMNS = (("avg_acc_unseen", "Avg Acc unseen"), ("last_acc_unseen", "Last Acc unseen"),
                   ("avg_acc_seen", "Avg Acc seen"), ("last_acc_seen", "Last Acc seen"))


def columns(rows: dict[str, list[dict]]) -> tuple[tuple[str, str], ...]:
    """The table's ``(key, header)`` columns: the wording columns first when any test clip is
    unseen wording, then Avg Acc, Last Acc, forgetting and BWT on all test clips."""
    unseen = any(sum(r.get("counts_unseen") or [0]) for runs in rows.values() for r in runs)
    return (WORDING_COLUMNS if unseen else ()) + COLUMNS


def _config(**parts) -> dict:
    return {k: asdict(v) if hasattr(v, "__dataclass_fields__") else v for k, v in parts.items()}


def results_table(rows: dict[str, list[dict]]) -> tuple[list[str], list[list[str]]]:
    """``(header, rows)``: one row per method, mean ± sample std over its seeds (in %) and ``n``
    (:func:`contrastkit.train.seed_table`), in the :func:`columns` of ``rows``."""
    from contrastkit.train import seed_table

    cols = columns(rows)
    per_method = {m: {h: [100 * r[k] for r in runs] for k, h in cols} for m, runs in rows.items()}
    return seed_table(per_method, [h for _, h in cols], digits=2)


def format_table(rows: dict[str, list[dict]]) -> str:
    """The Markdown of :func:`results_table`."""
    from contrastkit.train.tables import markdown_table

    return markdown_table(*results_table(rows))


def run_rows(data_config: DataConfig, model: ModelConfig, method: MethodConfig, train: TrainConfig,
             methods: list[str], seeds: list[int], name: str, runs_root: str, resume: bool, callbacks: tuple = (),
             trainer: TrainerOptions | None = None) -> tuple[Path, dict]:
    """Every ``method x seed`` row in one run directory; returns it and ``{method: [metrics per seed]}``.
    ``trainer``: where every task trains (default one device, ``accelerator="auto"``). Under DDP every
    rank returns the same rows; only rank 0 writes files and prints."""
    from contrastkit.train import (
        announce_run,
        failure_marked,
        is_rank_zero,
        open_run,
        write_metrics,
        write_table,
    )
    from contrastkit.train.cli import RESUME_MAY_DIFFER
    from contrastkit.train.units import StudyUnits

    from slu.continual import run_continual
    from slu.data.datamodule import prepare_data
    from slu.plots import plot_matrix, plot_seen_accuracy, plot_task_losses
    from slu.use import check_beam_size, data_record

    check_beam_size(train.beam_size, "--train.beam_size")  # before a run folder is made
    trainer = trainer or TrainerOptions()
    config = _config(data=data_config, model=model, method=method, train=train, methods=list(methods),
                     seeds=list(seeds), trainer=trainer)
    # epochs per task may not change on resume: finished tasks were trained with the saved number
    may_differ = tuple(k for k in RESUME_MAY_DIFFER if k != "max_epochs")
    run_dir = open_run(runs_root, "slu", name, config, resume=resume, may_differ=may_differ)
    say = print if is_rank_zero() else (lambda *_, **__: None)
    with failure_marked(run_dir):
        data = prepare_data(data_config, runs_root)
        say(data.corpus.summary() + f"; {len(data.tasks)} tasks: " + " | ".join(", ".join(t) for t in data.tasks),
            flush=True)
        record = data_record(data.corpus.classes, data.tokenizer, data_config.n_mels, data_config.features,
                             data.seen_sentences)
        units = StudyUnits(run_dir, resume=resume, label="[slu]")
        rows: dict[str, list[dict]] = {}
        for m in methods:
            for seed in seeds:
                label = f"{m}-seed{seed}" if len(methods) > 1 or len(seeds) > 1 else ""
                metrics = units.run(f"{m}/seed{seed}", lambda m=m, seed=seed, label=label: run_continual(
                    data, model, replace(method, name=m), replace(train, seed=seed), run_dir, data_config.n_mels,
                    data_config.batch_size, data_config.spec_augment, row=f"{label}-" if label else "",
                    callbacks=callbacks, trainer=trainer, record=record))
                rows.setdefault(m, []).append(metrics)
                if not is_rank_zero():
                    continue
                suffix = f"_{label}" if label else ""
                plot_matrix(metrics["matrix"], run_dir / "plots" / f"matrix{suffix}.png", f"{m}, seed {seed}")
                task_dirs = [run_dir / "tasks" / f"{label + '-' if label else ''}task_{t}" for t in range(len(data.tasks))]
                if all((d / "logs").is_dir() for d in task_dirs):
                    plot_task_losses(task_dirs, run_dir / "plots" / f"loss{suffix}.png", f"losses of {m}, seed {seed}")
                wording = (f"Avg Acc unseen wording {100 * metrics['avg_acc_unseen']:.2f}, seen "
                           f"{100 * metrics['avg_acc_seen']:.2f}; " if sum(metrics["counts_unseen"]) else "")
                print(f"{m} seed {seed}: {wording}Avg Acc {100 * metrics['avg_acc']:.2f}, Last Acc "
                      f"{100 * metrics['last_acc']:.2f}, forgetting {100 * metrics['forgetting']:.2f}", flush=True)
        table = format_table(rows)
        if not is_rank_zero():
            return run_dir, rows
        write_table(run_dir / "table", *results_table(rows))
        plot_seen_accuracy({m: np.mean([r["seen_acc"] for r in runs], axis=0).tolist() for m, runs in rows.items()},
                           run_dir / "plots" / "avg_acc.png")
        summary = {f"{m}/{k}": float(np.mean([r[k] for r in runs])) for m, runs in rows.items()
                   for k, _ in columns(rows)}
        write_metrics(run_dir, {**summary, "rows": {m: runs for m, runs in rows.items()}})
    print(table)
    announce_run(run_dir)
    return run_dir, rows


def fit(data: DataConfig = DataConfig(), model: ModelConfig = ModelConfig(),  # noqa: B008
        method: MethodConfig = MethodConfig(), train: TrainConfig = TrainConfig(),  # noqa: B008
        name: str = "fit", runs_root: str = "runs", resume: bool = False,
        trainer: TrainerOptions = TrainerOptions()) -> dict:  # noqa: B008
    """Train one method on one class-incremental scenario, task by task, and evaluate it.

    Args:
        data: dataset, scenario and loader settings.
        model: the seq2seq model.
        method: the method (``--method.name coconut``) and its loss weights.
        train: epochs per task (``max_epochs``), optimizer, memory, seed.
        name: the run's name (``<runs_root>/slu/<name>/version_K``).
        runs_root: the runs folder (the data cache defaults to ``<runs_root>/slu/cache``).
        resume: continue the newest run of this name that has a checkpoint.
        trainer: where every task trains (``--trainer.accelerator gpu``, ``--trainer.devices 2
            --trainer.strategy ddp``...); ``data.batch_size`` is per process.
    """
    _, rows = run_rows(data, model, method, train, [method.name], [train.seed], name, runs_root, resume,
                      trainer=trainer)
    return rows[method.name][0]


def study(data: DataConfig = DataConfig(), model: ModelConfig = ModelConfig(),  # noqa: B008
          method: MethodConfig = MethodConfig(), train: TrainConfig = TrainConfig(),  # noqa: B008
          methods: list[str] = ("finetune", "er", "coconut"), seeds: list[int] = (0, 1, 2),
          name: str = "study", runs_root: str = "runs", resume: bool = False,
          trainer: TrainerOptions = TrainerOptions()) -> dict:  # noqa: B008
    """Run several methods x seeds on one scenario and write the mean ± std table (table.md, table.csv).

    Args:
        data, model, train: as in ``fit`` (``train.seed`` is replaced by each seed).
        method: the loss weights shared by the methods (its name is replaced by each method).
        methods: the methods (finetune, joint, er, er_kd, er_skd, nspt, ntpt, coconut, coconut_skd).
        seeds: the seeds.
        name, runs_root, resume, trainer: as in ``fit``.
    """
    for m in methods:
        MethodConfig(name=m)  # an unknown name fails before any work
    _, rows = run_rows(data, model, method, train, list(methods), list(seeds), name, runs_root, resume,
                      trainer=trainer)
    return {m: {k: float(np.mean([r[k] for r in runs])) for k, _ in columns(rows)} for m, runs in rows.items()}
