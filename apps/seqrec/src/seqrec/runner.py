"""Train and evaluate one configuration in a run directory ``runs/seqrec/<name>/version_K/``.

``fit_run``: resumable training with early stopping on a validation metric, then the test of the
best checkpoint; writes ``config.yaml``, ``item_ids.json`` (the data's id of each model item),
``checkpoints/``, ``logs/``, ``metrics.json`` (with the reader's counts, ``read/*``) and
``plots/loss.png``; the run directory follows the shared convention (``open_run``: ``--resume``
continues the newest run of that name that has a checkpoint, with the same settings;
``failure_marked``: a run that fails before its first checkpoint is removed or marked FAILED).
``fit_parts``: several such fits as sub-runs ``<run>/<part>/`` of one run (``demo``, ``study``),
each recorded in the run's ``units.json`` when it ends (:class:`contrastkit.train.units.StudyUnits`)
and continued or skipped on ``--resume``.
``evaluate_run``: full-ranking evaluation of a checkpoint, on the data it records (Lightning
stores the data module's arguments in every checkpoint) unless told otherwise. Checkpoints are
rebuilt by :func:`contrastkit.train.load_module` (weights only: a file that needs code to unpickle
is refused; the class a checkpoint records).

Where a fit runs is ``--trainer.*`` (:class:`contrastkit.train.TrainerOptions`: accelerator,
devices, num_nodes, strategy, precision). Under DDP Lightning re-runs the command for ranks
1..W-1; they train and evaluate in step with rank 0 and leave every file to it.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple

import torch
from contrastkit.train import (
    TrainerOptions,
    failure_marked,
    fit_resumable,
    is_rank_zero,
    load_checkpoint,
    make_trainer,
    open_run,
    plot_loss_curves,
    save_config,
    seed_everything,
    write_metrics,
)
from contrastkit.train.checkpoint import load_module as load_recorded
from contrastkit.train.cli import RESUME_MAY_DIFFER
from contrastkit.train.units import StudyUnits
from lightning.pytorch.callbacks import EarlyStopping

from seqrec.baselines import Popularity
from seqrec.config import (
    MAX_EPOCHS,
    METHODS,
    SEED,
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

# settings a --resume may change: the shared ones, and where the run trains (a CPU run may go on
# on a GPU, or on another number of processes: docs/scale-out.md says what then holds)
MAY_DIFFER = (*RESUME_MAY_DIFFER, "accelerator", "devices", "num_nodes", "strategy", "max_times")


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
    if is_rank_zero():
        (run_dir / "item_ids.json").write_text(json.dumps(dm.item_ids))
    report = dm.data.report
    write_metrics(run_dir, {"dataset": dm.hparams.dataset, "read/users": len(dm.data.sequences),
                            "read/items": dm.data.num_items, "read/blank_lines": report.blank_lines,
                            "read/short_users": report.short_users})


def check_method(method: str) -> None:
    """A clear error for a method that is neither popularity nor one of :data:`seqrec.config.METHODS`."""
    if method != "popularity" and method not in METHODS:
        raise ValueError(f"model.method must be popularity or one of {tuple(METHODS)}; got {method!r}")


def trainer_options_for(module: SeqRecModule, options: TrainerOptions) -> TrainerOptions:
    """``options``, with DDP told to find unused parameters for a module with its own optimization
    loop (MCLRec): each of its backward passes reaches only the encoder or only the augmenters."""
    return options if module.automatic_optimization else options.finding_unused_parameters()


def fit_run(data: DataConfig, model: ModelConfig, train: TrainConfig, *, runs_root: str = "runs",
            name: str = "synthetic", max_epochs: int = MAX_EPOCHS, seed: int = SEED, resume: bool = False,
            progress: bool = True, trainer: TrainerOptions | None = None) -> tuple[Path, dict[str, float]]:
    """Train ``model`` on ``data`` (or evaluate popularity) in a new run directory
    ``<runs_root>/seqrec/<name>/version_K``, or (``resume``) continue the newest run of ``name``
    that has a checkpoint; returns ``(run_dir, metrics)``. ``trainer``: where it trains (default
    one device, ``accelerator="auto"``)."""
    trainer = trainer or TrainerOptions()
    check_method(model.method)
    build_datamodule(data)  # a bad data setting is named here, before the run folder exists
    config = {**as_dict(data, model, train, max_epochs, seed), "trainer": asdict(trainer)}
    run_dir = open_run(runs_root, "seqrec", name, config, resume=resume, may_differ=MAY_DIFFER)
    with failure_marked(run_dir):
        return run_dir, fit_in(run_dir, data, model, train, max_epochs=max_epochs, seed=seed, progress=progress,
                               trainer=trainer)


def fit_in(run_dir: Path, data: DataConfig, model: ModelConfig, train: TrainConfig, *, max_epochs: int, seed: int,
           progress: bool = True, trainer: TrainerOptions | None = None, label: str | None = None) -> dict[str, float]:
    """Train and test in ``run_dir`` (an opened run or a sub-run folder), continuing from its
    checkpoint when there is one (:func:`contrastkit.train.fit_resumable`); writes its metrics.json and returns
    the metrics that are figures (floats). ``label`` (a part of a demo or study): the continued part is named
    on stdout with the epoch and step its checkpoint was saved at."""
    return _figures(fit_and_test(run_dir, data, model, train, max_epochs=max_epochs, seed=seed, progress=progress,
                                 trainer=trainer, label=label))


def _figures(metrics: dict[str, Any]) -> dict[str, float]:
    return {k: v for k, v in metrics.items() if isinstance(v, float)}


def fit_and_test(run_dir: Path, data: DataConfig, model: ModelConfig, train: TrainConfig, *, max_epochs: int,
                 seed: int, progress: bool = True, trainer: TrainerOptions | None = None,
                 label: str | None = None) -> dict[str, Any]:
    """:func:`fit_in`, returning every entry it writes to metrics.json (not only the floats).

    ``stopped_early`` says whether early stopping ended the fit (a resumed demo or study does not
    reopen such a part); ``epochs_run``, ``processes`` and ``method`` say how it ran."""
    torch.set_float32_matmul_precision("high")  # TF32 on GPUs that have it; no effect on CPU
    seed_everything(seed, workers=True)
    dm = build_datamodule(data, seed)
    _record_data(run_dir, dm)
    if model.method == "popularity":
        metrics = popularity_metrics(dm, model.exclude_history)
        write_metrics(run_dir, {"method": "popularity", **metrics})
        return {"method": "popularity", **metrics}
    split = dm.prepare_split()
    module = build_module(model, split.num_items, data.max_len)
    stopper = EarlyStopping(monitor=train.monitor, mode="max", patience=train.patience)
    options = trainer_options_for(module, trainer or TrainerOptions())
    pl_trainer = make_trainer(run_dir, max_epochs, monitor=train.monitor, mode="max", callbacks=[stopper],
                              progress=progress, options=options, limit_train_batches=train.limit_train_batches,
                              num_sanity_val_steps=0, val_check_interval=train.val_check_interval,
                              max_time=train.max_time)
    start = time.perf_counter()
    best = fit_resumable(pl_trainer, module, dm, run_dir=run_dir, label=label)
    fit_seconds = time.perf_counter() - start
    best_val = next((float(cb.best_model_score) for cb in pl_trainer.checkpoint_callbacks  # best.ckpt's, not last's
                     if cb.monitor and cb.best_model_score is not None), float("nan"))
    # read before test(): testing best.ckpt restores the callbacks' state of its epoch
    stopped_early, epochs_run = bool(stopper.stopped_epoch), pl_trainer.current_epoch
    result = pl_trainer.test(module, datamodule=dm, ckpt_path=str(best) if best else None, verbose=False)[0]
    metrics = {"method": model.method, "epochs_run": epochs_run,
               "fit_seconds": fit_seconds, f"best_{train.monitor}": best_val,
               "stopped_early": stopped_early, "processes": pl_trainer.world_size,
               "best_checkpoint": str(best) if best else None, **_prefixed(result, "test")}
    write_metrics(run_dir, metrics)
    if is_rank_zero():
        try:
            plot_loss_curves(run_dir)
        except (FileNotFoundError, ValueError):
            pass  # no training step logged (e.g. zero batches): nothing to plot
    return metrics


class Part(NamedTuple):
    """One fit of a demo or study: its method settings, training loop and seed."""

    model: ModelConfig
    train: TrainConfig
    seed: int


def fit_parts(run_dir: Path, data: DataConfig, parts: dict[str, Part], max_epochs: int,
              progress: bool = True, trainer: TrainerOptions | None = None) -> dict[str, dict[str, float]]:
    """Each part ``name -> Part(model, train, seed)`` fitted for at most ``max_epochs`` in its own
    folder ``run_dir/<name>/`` (config.yaml, item_ids.json, checkpoints/, logs/, metrics.json);
    returns ``{name: metrics}`` (the floats of each part's metrics).

    A part that ends is recorded in ``run_dir/units.json`` (:class:`contrastkit.train.units.StudyUnits`,
    key: its name): its figures, ``stopped_early``, ``epochs_run`` and the budget it ran under
    (``max_epochs``, ``max_time``). On a resumed run (the shared rule finds the parts' checkpoints
    under ``run_dir``; a new run has no record) a recorded part that early stopping ended is read back
    from the record, and so is one that ran to the budget it is given again; one whose budget changed
    continues from its checkpoint (a budget-stopped part goes on when ``max_time`` or ``max_epochs``
    grew), saying so with its epoch; parts not recorded continue from their checkpoint or start. A run
    folder from before ``units.json`` resumes as it did: a part whose metrics.json says early stopping
    ended it is read back (and recorded), the others continue from their checkpoint (a finished one
    is only tested again)."""
    trainer = trainer or TrainerOptions()
    units = StudyUnits(run_dir, resume=True, label="[seqrec]")
    out = {}
    for name, (model, train, seed) in parts.items():
        part = run_dir / name
        budget = {"max_epochs": max_epochs, "max_time": train.max_time}
        recorded = units.results.get(name)
        if recorded is None and (stopped := _early_stopped_part(part)) is not None:
            # recorded with this run's budget: an early-stopped part is read back under any budget
            recorded = units.record(name, {**stopped, **budget})
            print(f"{name}: read back from {part / 'metrics.json'} (early stopping ended it in an earlier part "
                  "of this run)", flush=True)
        elif recorded is not None and (recorded.get("stopped_early") or _budget(recorded) == budget):
            why = "early stopping ended it" if recorded.get("stopped_early") else "it ran to this budget"
            print(f"{name}: read back from {units.path} ({why} in an earlier part of this run)", flush=True)
        else:
            units.forget(name)  # run again (its budget changed): no record until it ends
            part.mkdir(exist_ok=True)
            save_config(part, {**as_dict(data, model, train, max_epochs, seed), "trainer": asdict(trainer)})
            metrics = fit_and_test(part, data, model, train, max_epochs=max_epochs, seed=seed, progress=progress,
                                   trainer=trainer, label=name)
            recorded = units.record(name, {**_figures(metrics), "stopped_early": bool(metrics.get("stopped_early")),
                                           "epochs_run": metrics.get("epochs_run", 0), **budget})
        out[name] = _figures(recorded)
    return out


def _budget(recorded: dict[str, Any]) -> dict[str, Any]:
    """The budget a recorded part ran under."""
    return {"max_epochs": recorded.get("max_epochs"), "max_time": recorded.get("max_time")}


def _early_stopped_part(part: Path) -> dict[str, Any] | None:
    """The figures of a part that early stopping ended, read from its metrics.json (a run folder
    from before ``units.json``); None for any other part."""
    path = part / "metrics.json"
    if not path.is_file():
        return None
    try:
        saved = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not readable JSON ({error}); delete it and the part continues from its checkpoint") from None
    if not saved.get("stopped_early"):
        return None
    return {**_figures(saved), "stopped_early": True, "epochs_run": saved.get("epochs_run", 0)}


def load_module(path: str | Path) -> tuple[SeqRecModule, DataConfig | None]:
    """The module stored in a checkpoint of :func:`fit_run`, in eval mode on the CPU, and the data
    it was trained on (None when the checkpoint does not record it).

    Rebuilt by :func:`contrastkit.train.load_module` (weights only): a pickle that would run code,
    an empty or truncated file, another app's checkpoint, settings its class does not take and
    weights that do not fit it are a ``CheckpointError`` (a ``ValueError``) naming the file. A
    checkpoint written before classes were recorded names its class in ``_class_name``.
    """
    module = load_recorded(path, ("seqrec",), SeqRecModule, fallback=_named_class)
    dm_hp = load_checkpoint(path).get("datamodule_hyper_parameters")
    trained_on = None
    if dm_hp:
        known = {k: dm_hp[k] for k in asdict(DataConfig()) if k in dm_hp}
        trained_on = DataConfig(**{**known, "synthetic": dict(dm_hp.get("synthetic") or {})})
    return module, trained_on


def _named_class(hparams: dict[str, Any]) -> type[SeqRecModule] | None:
    """The method class an older checkpoint names in its ``_class_name`` hyper-parameter."""
    return next((c for c in METHODS.values() if c.__name__ == hparams.get("_class_name")), None)


def _same_data(a: DataConfig, b: DataConfig) -> bool:
    def key(d: DataConfig) -> tuple:
        return d.dataset, d.max_len, (d.synthetic or {}) if d.dataset == "synthetic" else {}

    return key(a) == key(b)


def describe_data(data: DataConfig) -> str:
    """``Beauty`` or ``synthetic {...}`` (max_len when not 50)."""
    name = data.dataset + (f" {data.synthetic}" if data.dataset == "synthetic" and data.synthetic else "")
    return name + (f" (max_len {data.max_len})" if data.max_len != 50 else "")


@dataclass
class Scoring:
    """A checkpoint made ready to score: the module, the data module and a line saying what is scored."""

    module: SeqRecModule
    datamodule: SeqRecDataModule
    data: DataConfig
    what: str


def prepare_scoring(checkpoint: str | Path, data: DataConfig | None = None, *, other_data: bool = False,
                    device: str = "cpu") -> Scoring:
    """Load a checkpoint and the data to score it on, checking both before anything is written.

    ``data`` None scores the checkpoint on the data it records; other data than that is an error
    unless ``other_data`` (the item count must match in any case).
    """
    module, trained_on = load_module(checkpoint)
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
    trained = describe_data(trained_on) if trained_on is not None else "unrecorded data"
    what = (f"{type(module).__name__} from {checkpoint} (trained on {trained}), scored on "
            f"{describe_data(data)}: {len(split.test.targets):,} users, {split.num_items:,} items")
    return Scoring(module.to(device), dm, data, what)


def score(scoring: Scoring, exclude_history: bool = False, device: str = "cpu",
          stages: tuple[str, ...] = ("val", "test")) -> dict[str, float]:
    """Full-ranking metrics (``val/HR@5`` ... ``test/NDCG@20``) of a prepared checkpoint on the
    validation and/or test split (``stages``)."""
    out = {}
    dm = scoring.datamodule
    loaders = {"val": dm.val_dataloader, "test": dm.test_dataloader}
    for stage in stages:
        loader = loaders[stage]()
        out.update(_prefixed(evaluate_scores(scoring.module.scores, loader, exclude_history=exclude_history,
                                             device=device), stage))
    return out


def evaluate_run(checkpoint: str | Path, data: DataConfig | None = None, *, other_data: bool = False,
                 exclude_history: bool = False, device: str = "cpu") -> tuple[dict[str, float], str]:
    """Full-ranking validation and test metrics of a checkpoint, and a line saying what was scored
    (:func:`prepare_scoring`, then :func:`score`)."""
    scoring = prepare_scoring(checkpoint, data, other_data=other_data, device=device)
    return score(scoring, exclude_history, device), scoring.what


def run_name_of(checkpoint: str | Path) -> str:
    """The name of the run a checkpoint belongs to: ``beauty_mclrec`` for
    ``runs/seqrec/beauty_mclrec/version_0/checkpoints/best.ckpt``, ``demo_mclrec`` for a part of a
    demo or study (``runs/seqrec/demo/version_0/mclrec/checkpoints/best.ckpt``); the file's stem
    when it lies outside a run directory."""
    parts = Path(checkpoint).resolve().parts
    for i in range(len(parts) - 2, 0, -1):
        if re.fullmatch(r"version_\d+", parts[i]):
            return "_".join([parts[i - 1], *(p for p in parts[i + 1:-1] if p != "checkpoints")])
    return Path(checkpoint).stem


def format_table(rows: dict[str, dict[str, float]], stage: str = "test") -> str:
    """A Markdown table of HR/NDCG@{5,10,20} per row name."""
    cols = [f"{m}@{k}" for m in ("HR", "NDCG") for k in (5, 10, 20)]
    lines = ["| method | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, m in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{m.get(f'{stage}/{c}', float('nan')):.4f}" for c in cols) + " |")
    return "\n".join(lines)
