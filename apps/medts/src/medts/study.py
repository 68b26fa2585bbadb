"""``medts study``: pretrain each method per seed, then the paper's protocol; writes metrics.json.

Methods (``protocol.methods``): ``comet`` (:class:`medts.method.COMET`), and the baselines of
:mod:`medts.baselines`: ``ts2vec``, ``simclr``, ``supervised`` (no pretraining). Each method's
settings are the arguments of its class, in the config section of the same name; the data are
the arguments of :class:`medts.data.MedTSDataModule` (section ``data``); the protocol those of
:class:`Protocol`. jsonargparse reads them from ``--config`` YAML files and the command line and
checks their types (a wrong one is an error naming the field):

    medts study --config apps/medts/configs/eeg_smni.yaml --protocol.seeds [0] --comet.depth 4
    medts table "[runs/medts/eeg_smni/version_0]"

A study's unit is one method x fold x seed. Its run directory holds ``<method>/[fold<f>/]seed<k>/``
(``pretrain/`` and ``finetune_<fraction>/`` sub-runs with their checkpoints, logs and ``plots/``),
``units.json`` (the finished units, :class:`contrastkit.train.units.StudyUnits`), ``table.csv`` /
``table.md`` (mean ± sample std over folds x seeds and ``n``), ``paired.csv`` / ``paired.md``
(COMET minus each baseline on the same units, with a 95 % interval — over the fold means in a
k-fold study, whose seeds of one fold share its test subjects — and the wins) and
``metrics.json``. ``units.json`` is rewritten atomically after every unit: with ``--resume``
(which finds the study by its sub-runs' checkpoints) a killed study skips the units it records
and its unfinished sub-runs continue from their ``last.ckpt``; a resume with other settings is
refused, naming the fields.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from contrastkit.train import (
    TrainerOptions,
    announce_run,
    failure_marked,
    fit_resumable,
    is_rank_zero,
    make_trainer,
    markdown_table,
    open_run,
    seed_table,
    summarize,
    write_metrics,
    write_table,
)
from contrastkit.train.tables import format_paired, paired_comparison
from contrastkit.train.units import UNITS_FILE, StudyUnits, read_units
from lightning.pytorch.callbacks import Timer

from medts.baselines import METHODS, SimCLR, TS2Vec
from medts.data.datamodule import MedTSDataModule, with_fold, with_runs_root
from medts.evaluate import run_finetune, run_linear_probe
from medts.method import COMET, EncoderPretraining
from medts.models.encoder import TSEncoder
from medts.plots import write_figures


@dataclass
class Protocol:
    """Which methods, seeds and label fractions; the budgets of pretraining and fine-tuning.

    Args:
        methods: some of ``comet``, ``ts2vec``, ``simclr``, ``supervised``.
        seeds: each seed varies initialization, views, batches and the labelled fraction (the
            split or the folds come from ``data.split_seed``).
        folds: subject-wise k-fold cross-validation with ``k = folds`` (every subject tested once;
            :func:`medts.data.split.patient_folds`); 0 uses the data's one ``split``.
        fractions: label fractions of fine-tuning (the paper's 100 / 10 / 1 %), drawn per fold and seed.
        label_by: draw the fractions by ``sample`` stratified by class (the paper), by
            ``sample_per_patient`` (the fraction of each training patient's samples) or by ``patient``.
        linear_probe: also score a linear probe on frozen embeddings.
        max_epochs_pretrain / pretrain_max_minutes / val_every: pretraining budget and validation period.
        max_epochs_finetune / finetune_lr / finetune_batch_size: fine-tuning.
        progress: show progress bars.
    """

    methods: list[Literal["comet", "ts2vec", "simclr", "supervised"]] = field(default_factory=lambda: list(METHODS))
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    folds: int = 0
    fractions: list[float] = field(default_factory=lambda: [1.0, 0.1, 0.01])
    label_by: Literal["sample", "sample_per_patient", "patient"] = "sample"
    linear_probe: bool = True
    max_epochs_pretrain: int = 20
    pretrain_max_minutes: float | None = None
    val_every: int = 1
    max_epochs_finetune: int = 20
    finetune_lr: float = 1e-4
    finetune_batch_size: int = 128
    progress: bool = True


def device() -> torch.device:
    """Where embedding and prediction run after a fit (Lightning hands modules back on the CPU)."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def pretrain(dm: MedTSDataModule, model: Callable[[int], EncoderPretraining], seed: int, run_dir: Path, max_epochs: int,
             progress: bool = True, max_minutes: float | None = None, val_every: int = 1,
             options: TrainerOptions | None = None) -> EncoderPretraining:
    """Pretrain ``model(n_channels)`` (continues from ``run_dir``'s checkpoint: :func:`~contrastkit.train.fit_resumable`);
    ``max_minutes`` caps the training time; ``options``: devices, strategy...

    ``module.pretrain_stats["seconds"]`` is the training time of every process that worked on this
    pretraining: Lightning's ``Timer`` keeps it in each checkpoint, so a resumed run adds its own
    to the time saved with the checkpoint it continues from (a resume from a finished pretraining
    reports that pretraining's time, not the zero seconds it ran itself).
    """
    torch.manual_seed(seed)
    np.random.seed(seed)
    module = model(dm.n_channels)
    # the Timer that Trainer(max_time=...) would make, made here so that it is there without a cap too
    timer = Timer(duration={"minutes": max_minutes} if max_minutes else None, interval="step")
    trainer = make_trainer(run_dir, max_epochs, progress=progress, num_sanity_val_steps=0,
                           check_val_every_n_epoch=val_every, options=options, callbacks=[timer])
    fit_resumable(trainer, module, dm, run_dir=run_dir)
    module.pretrain_stats = {"epochs": float(trainer.current_epoch), "steps": float(trainer.global_step),
                             "seconds": timer.time_elapsed("train")}
    return module.to(device())


def run_method(dm: MedTSDataModule, method: str, model: Callable[[int], Any], proto: Protocol, seed: int,
               run_dir: Path, options: TrainerOptions | None = None) -> dict[str, dict[str, float]]:
    """Pretrain (unless ``supervised``, where ``model`` builds the fresh encoder), probe, fine-tune;
    ``{setting: metrics}`` for one seed."""
    parts = dm.parts
    out: dict[str, dict[str, float]] = {}
    module = None
    if method != "supervised":
        module = pretrain(dm, model, seed, run_dir / "pretrain", proto.max_epochs_pretrain, proto.progress,
                          proto.pretrain_max_minutes, proto.val_every, options)
        out["pretrain"] = module.pretrain_stats
        if is_rank_zero():
            write_figures(run_dir / "plots", run_dir / "pretrain", module.averaged_encoder(), parts["test"],
                          f"{method}, seed {seed}")
        if proto.linear_probe:
            out["linear"] = run_linear_probe(lambda x: module.embed(torch.from_numpy(x)), parts, seed)
    for frac in proto.fractions:
        torch.manual_seed(seed)
        enc = module.export_encoder() if module is not None else model(dm.n_channels)
        out[f"finetune_{frac:g}"] = run_finetune(
            enc, parts, run_dir / f"finetune_{frac:g}", frac, proto.label_by, seed, proto.max_epochs_finetune,
            proto.finetune_lr, proto.finetune_batch_size, progress=proto.progress, options=options)
    return out


METRICS = ("sample/accuracy", "sample/f1", "sample/auroc", "patient/accuracy", "patient/f1")


def summarize_results(results: dict) -> dict:
    """``{method: {setting: {metric: {"mean", "std", "n"}}}}`` over the seeds of
    ``results[method][seed][setting][metric]`` (:func:`contrastkit.train.summarize`: sample std,
    None for one seed)."""
    out: dict = {}
    for method, per_seed in results.items():
        settings = dict.fromkeys(s for r in per_seed.values() for s in r if s != "seconds")
        out[method] = {}
        for setting in settings:
            runs = [r[setting] for r in per_seed.values() if setting in r]
            out[method][setting] = {}
            for metric in runs[0]:
                mean, std, n = summarize(r[metric] for r in runs)
                out[method][setting][metric] = {"mean": mean, "std": None if n == 1 else std, "n": n}
    return out


def results_table(results: dict, metrics=METRICS) -> tuple[list[str], list[list[str]]]:
    """``(header, rows)``: one row per method and setting that has ``metrics``, mean ± sample std
    over seeds in % (the value alone for one seed), and the number of seeds ``n``
    (:func:`contrastkit.train.seed_table`)."""
    values = {}
    for method, per_seed in results.items():
        settings = dict.fromkeys(s for r in per_seed.values() for s in r if metrics[0] in r[s])
        for setting in settings:
            runs = [r[setting] for r in per_seed.values() if setting in r]
            values[f"{method}\t{setting}"] = {k: [100 * r[k] for r in runs] for k in metrics}
    header, rows = seed_table(values, metrics, digits=1)
    return ["method", "setting", *header[1:]], [[*row[0].split("\t"), *row[1:]] for row in rows]


def _settings(factory: Any) -> dict:
    """The arguments jsonargparse gave a ``Callable[[int], X]`` (for the run's config.yaml)."""
    keywords = getattr(factory, "keywords", {})
    return {k: v for k, v in keywords.items() if isinstance(v, (int, float, str, bool, type(None), list))}


# jsonargparse reads the defaults from the signature; the classes are the defaults of the factories.
def study(
    data: MedTSDataModule | None = None,
    comet: Callable[[int], COMET] = COMET,
    ts2vec: Callable[[int], TS2Vec] = TS2Vec,
    simclr: Callable[[int], SimCLR] = SimCLR,
    supervised: Callable[[int], TSEncoder] = TSEncoder,
    protocol: Protocol | None = None,
    trainer: TrainerOptions | None = None,
    name: str = "study",
    runs_root: str = "runs",
    resume: bool = False,
    prepare_only: bool = False,
) -> dict:
    """Pretrain every method x fold x seed, linear probe, fine-tune; writes metrics.json, table.md
    and (with COMET and a baseline) paired.md.

    Args:
        data: the data (MedTSDataModule's arguments: source, construction, cache_dir, split, ...).
        comet: COMET's arguments (all but input_dims, which the data give).
        ts2vec: TS2Vec's arguments.
        simclr: SimCLR's arguments.
        supervised: the fresh encoder (TSEncoder's arguments) fine-tuned from scratch.
        protocol: methods, seeds, folds, label fractions, epochs.
        trainer: accelerator, devices, num_nodes, strategy, precision of every fit
            (``--trainer.devices 2 --trainer.strategy ddp``; default: one device).
        name: run name: the run goes to ``<runs_root>/medts/<name>/version_K``.
        runs_root: the run root (and, unless ``data.cache_dir`` names one, of the data cache
            ``<runs_root>/medts/cache/``).
        resume: continue the newest run of that name (finished units are kept, the others continue
            from their last checkpoint); refused when the settings differ.
        prepare_only: read the raw files, write the data cache, print its summary and stop.
    """
    data = with_runs_root(data or MedTSDataModule(), runs_root)
    protocol = protocol or Protocol()
    models = {"comet": comet, "ts2vec": ts2vec, "simclr": simclr, "supervised": supervised}
    data.setup()
    if prepare_only:
        summary = {k: v.summary() for k, v in data.parts.items()}
        print(json.dumps({"cache_dir": data.cache_dir, "parts": summary}, indent=1))
        return summary
    config = {"data": dict(data.hparams), "protocol": asdict(protocol),
              **{m: _settings(models[m]) for m in protocol.methods}}
    run_dir = open_run(runs_root, "medts", name, config, resume=resume)
    folds = ([(f"fold{f}/", with_fold(data, protocol.folds, f)) for f in range(protocol.folds)] if protocol.folds
             else [("", data)])
    with failure_marked(run_dir):
        write_metrics(run_dir, {"data": {k: v.summary() for k, v in data.parts.items()}})
        units = StudyUnits(run_dir, resume=resume, label="[medts]")
        for _, fold_data in folds:
            fold_data.setup()
        # seed-major order: a study stopped part-way holds every method on the same folds of its
        # first seeds, so its table and paired comparison are already like for like
        for seed in protocol.seeds:
            for fold, fold_data in folds:
                for method in protocol.methods:
                    key = f"{method}/{fold}seed{seed}"
                    res = units.run(key, partial(_timed_unit, fold_data, method, models[method], protocol, seed,
                                                 run_dir / key, trainer))
                    print(f"[medts] {key}: " + ", ".join(
                        f"{s} f1={m['sample/f1']:.3f}" for s, m in res.items() if "sample/f1" in m), flush=True)
        results = nest_units(units.results)
        summary = summarize_results(results)
        write_metrics(run_dir, {"units": units.results, "summary": summary})
        header, rows = results_table(results)
        paired = paired_table(results)
        if is_rank_zero():
            write_table(run_dir / "table", header, rows)
            if paired[1]:
                write_table(run_dir / "paired", *paired)
    print(markdown_table(header, rows))
    if paired[1]:
        print("\nCOMET minus each baseline on the same folds and seeds (mean [95 % interval], wins):")
        print(markdown_table(*paired))
    announce_run(run_dir)
    return summary


def _timed_unit(data: MedTSDataModule, method: str, model: Callable[[int], Any], proto: Protocol, seed: int,
                run_dir: Path, options: TrainerOptions | None) -> dict:
    """:func:`run_method`'s results with the unit's wall time under ``"seconds"``."""
    t0 = time.time()
    res = run_method(data, method, model, proto, seed, run_dir, options)
    res["seconds"] = {"wall": time.time() - t0}
    return res


def nest_units(units: dict[str, dict]) -> dict[str, dict[str, dict]]:
    """``{"comet/fold0/seed1": r}`` -> ``{"comet": {"fold0/seed1": r}}`` (the tables' shape)."""
    out: dict[str, dict[str, dict]] = {}
    for key, result in units.items():
        method, _, unit = key.partition("/")
        out.setdefault(method, {})[unit] = result
    return out


PAIRED_METRICS = ("sample/accuracy", "sample/f1", "patient/accuracy")


def paired_table(results: dict, reference: str = "comet", metrics=PAIRED_METRICS) -> tuple[list[str], list[list[str]]]:
    """``(header, rows)``: ``reference`` against each other method, per setting, on the units
    (folds x seeds) both finished: mean difference in points with its 95 % interval and the wins
    (:func:`contrastkit.train.tables.paired_comparison`). No rows without ``reference``.

    Units of one fold (``fold<k>/seed<s>``) are one cluster: their seeds share the fold's test
    subjects, so the interval is over the fold means (``t`` with folds - 1 degrees of freedom).
    On one fixed split (``seed<s>``) each seed is its own unit: the interval is over seeds."""
    header = ["baseline", "setting", *(f"{reference} - baseline: {m}" for m in metrics), "n"]
    rows = []
    for baseline, per_unit in results.items():
        if baseline == reference or reference not in results:
            continue
        own = results[reference]
        common = [u for u in own if u in per_unit]
        clusters = [u.split("/")[0] if u.startswith("fold") else u for u in common]
        settings = dict.fromkeys(s for u in common for s in own[u] if s in per_unit[u] and metrics[0] in own[u][s])
        for setting in settings:
            pairs = [paired_comparison([100 * own[u][setting][m] for u in common],
                                       [100 * per_unit[u][setting][m] for u in common], clusters=clusters)
                     for m in metrics]
            rows.append([baseline, setting, *(format_paired(p, 1) for p in pairs), str(len(common))])
    return header, rows


def table(runs: list[str], name: str = "table", runs_root: str = "runs") -> str:
    """Merge study runs (their ``units.json``) into one mean ± sample std table, a row per
    study name, method and setting, and the paired comparison of COMET with each baseline.

    E.g. one study run per method x seed, made in parallel, or a study still running (its
    finished units); writes ``table.csv``, ``table.md``, ``paired.csv`` / ``paired.md`` (when a
    study has COMET and a baseline on common units) and ``metrics.json`` (the summaries per study
    name) in ``<runs_root>/medts/<name>/version_K``.

    Args:
        runs: study run folders (``<runs_root>/medts/<name>/version_K``); runs named
            ``<study>__<anything>`` are merged under ``<study>``.
        name / runs_root: the run directory.
    """
    for r in runs:
        if not (Path(r) / UNITS_FILE).is_file():
            raise FileNotFoundError(f"{Path(r) / UNITS_FILE}: not a study run folder (no {UNITS_FILE})")
    merged: dict = {}
    for r in runs:
        group = Path(r).parent.name.split("__")[0]
        for method, per_unit in nest_units(read_units(r)).items():
            merged.setdefault(group, {}).setdefault(method, {}).update(per_unit)
    header, rows, summaries = ["study"], [], {}
    paired_header, paired_rows = ["study"], []
    for group, results in merged.items():
        summaries[group] = summarize_results(results)
        group_header, group_rows = results_table(results)
        header, rows = ["study", *group_header], rows + [[group, *row] for row in group_rows]
        group_header, group_rows = paired_table(results)
        paired_header, paired_rows = ["study", *group_header], paired_rows + [[group, *row] for row in group_rows]
    run_dir = open_run(runs_root, "medts", name, {"runs": [str(r) for r in runs]})
    with failure_marked(run_dir):
        write_table(run_dir / "table", header, rows)
        if paired_rows:
            write_table(run_dir / "paired", paired_header, paired_rows)
        write_metrics(run_dir, {"summary": summaries, "pretraining": pretraining_run(summaries)})
    text = markdown_table(header, rows) + "\n" + "\n".join(
        f"{group}, pretraining actually run (mean over units): {line}"
        for group, line in pretraining_run(summaries).items())
    if paired_rows:
        text += ("\n\nCOMET minus each baseline on the same folds and seeds (mean [95 % interval], wins):\n"
                 + markdown_table(paired_header, paired_rows))
    print(text)
    announce_run(run_dir)
    return text


def pretraining_run(summaries: dict) -> dict[str, str]:
    """Per study name: the epochs, steps and seconds each method's pretraining ran (mean over units)."""
    out = {}
    for group, summary in summaries.items():
        parts = [f"{m} {s['pretrain']['epochs']['mean']:.1f} epochs / {s['pretrain']['steps']['mean']:.0f} steps / "
                 f"{s['pretrain']['seconds']['mean']:.0f} s" for m, s in summary.items() if "pretrain" in s]
        if parts:
            out[group] = "; ".join(parts)
    return out
