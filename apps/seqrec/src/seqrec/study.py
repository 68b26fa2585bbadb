"""``seqrec study``: methods x seeds on one dataset -> a mean ± std table.

The default schedule is the MCLRec paper's Beauty comparison: popularity, SASRec (full CE),
CL4SRec and MCLRec with the paper's settings (``configs/beauty.yaml``: its ``model`` section holds
MCLRec's Beauty weights, CL4SRec keeps ``lambda_cl`` 0.1), early stopping on validation NDCG@20,
full ranking, no history exclusion:

    seqrec study --config apps/seqrec/configs/beauty.yaml --name study_beauty
    seqrec study --config apps/seqrec/configs/beauty.yaml --name study_beauty --resume --trainer.accelerator gpu

The run ``<runs_root>/seqrec/<name>/version_K/`` holds one part per method and seed
(``<method>_seed<s>/``: config.yaml, checkpoints/, logs/, metrics.json), ``units.json`` (each
finished part's figures, whether early stopping ended it and the budget it ran under;
:class:`contrastkit.train.units.StudyUnits`, rewritten atomically as each part ends), ``table.md``
and ``table.csv`` (:func:`contrastkit.train.seed_table`: mean ± sample std over the seeds, an ``n``
column, and how each part ended), ``curves.md`` (the command and each part's validation curve) and
``metrics.json``. ``--max_times`` gives each method a wall-clock budget (Lightning's Timer,
checkpointed, so it counts every part of a resumed run). ``--resume`` continues the newest study
of that name that has a checkpoint: parts that ``units.json`` records as ended by early stopping,
or as run to the same budget, are read back; the others continue from their ``last.ckpt`` (a
budget-stopped part goes on when its budget grew, e.g. on a GPU). A study folder from before
``units.json`` resumes from its parts' metrics.json and checkpoints
(:func:`seqrec.runner.fit_parts`). The published figures are quoted beside ours in the app's
README, not here.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from contrastkit.atomic import write_text_atomic
from contrastkit.train import (
    TrainerOptions,
    announce_run,
    failure_marked,
    is_rank_zero,
    open_run,
    seed_table,
    write_metrics,
    write_table,
)
from contrastkit.train.plots import read_logged_rows

from seqrec.config import MAX_EPOCHS, SEED, DataConfig, ModelConfig, TrainConfig, as_dict, build_datamodule
from seqrec.runner import MAY_DIFFER, Part, check_method, fit_parts, popularity_metrics

COLS = ("HR@5", "HR@10", "HR@20", "NDCG@5", "NDCG@10", "NDCG@20")
LABELS = {"popularity": "Popularity", "sasrec": "SASRec (ours, CE)", "cl4srec": "CL4SRec (ours)",
          "mclrec": "MCLRec (ours)"}


def curve(part: Path) -> list[tuple[int, int, float]]:
    """``(epoch, step, val NDCG@20)`` at each validation of a part, from its CSV logs (resume-aware)."""
    try:
        rows = read_logged_rows(part)
    except FileNotFoundError:
        return []
    return [(int(r["epoch"]), int(r["step"]), float(r["val/NDCG@20"])) for r in rows if r.get("val/NDCG@20")]


def table(rows: dict[str, list[dict[str, float]]], notes: dict[str, str]) -> tuple[list[str], list[list[str]]]:
    """``(header, rows)``: one row per name, mean ± sample std over its runs and their number
    (:func:`contrastkit.train.seed_table`), then the row's note (how its parts ended)."""
    header, lines = seed_table({name: {c: [r[c] for r in runs] for c in COLS} for name, runs in rows.items()},
                               COLS, digits=4)
    return [*header, "run"], [[*line, notes.get(line[0], "")] for line in lines]


def _note(metrics: dict, budget: str | None) -> str:
    how = "early-stopped" if metrics.get("stopped_early") else (f"budget {budget}" if budget else "max epochs")
    return (f"{metrics.get('epochs_run', '?')} epochs, {metrics.get('fit_seconds', 0) / 60:.1f} min in its last "
            f"part, {metrics.get('processes', 1)} process(es), {how}")


def _command_line() -> str:
    """The command as typed, when it came from the ``seqrec`` console script."""
    if Path(sys.argv[0]).name == "seqrec" and sys.argv[1:2] == ["study"]:
        return "seqrec " + " ".join(sys.argv[1:])
    return "seqrec study (settings: config.yaml of the run)"


def study(data: DataConfig = DataConfig(), model: ModelConfig = ModelConfig(),  # noqa: B008
          train: TrainConfig = TrainConfig(), trainer: TrainerOptions = TrainerOptions(),  # noqa: B008
          methods: tuple[str, ...] = ("sasrec", "cl4srec", "mclrec"), seeds: list[int] | None = None,
          seed: int = SEED, max_epochs: int = MAX_EPOCHS, popularity: bool = True,
          max_times: list[str | None] | None = None, runs_root: str = "runs", name: str = "study",
          resume: bool = False, progress: bool = True) -> dict[str, float]:
    """Train several methods x seeds on one dataset and write the mean ± std table (table.md, table.csv).

    Args:
        data: the data, as in ``fit`` (``batch_size`` per process).
        model: the settings shared by the methods (``method`` is replaced by each of ``methods``).
        train: early stopping, validation period and time budget, as in ``fit``.
        trainer: where the methods train, as in ``fit``.
        methods: the trained methods, in order (sasrec, cl4srec, mclrec).
        seeds: the seeds (default: ``[seed]``).
        seed: the seed when ``seeds`` is not given (a config of ``fit`` sets it).
        max_epochs: the most epochs per part (may grow on --resume).
        popularity: add the popularity ranking as the first row.
        max_times: one wall-clock budget "DD:HH:MM:SS" per method (or null), in the order of
            ``methods``; default ``train.max_time`` for each.
        runs_root: the runs folder.
        name: the run name: ``<runs_root>/seqrec/<name>/version_K``.
        resume: continue the newest study of this name that has a checkpoint (the parts its
            ``units.json`` records are read back, except one that ran to a budget since changed).
        progress: show Lightning's progress bars.
    """
    for m in methods:
        check_method(m)
    build_datamodule(data)  # a bad data setting is named here, before the run folder exists
    seeds = list(seeds) if seeds else [seed]
    budgets = list(max_times) if max_times else [train.max_time] * len(methods)
    if len(budgets) != len(methods):
        raise ValueError(f"--max_times needs one budget per method ({len(methods)}); got {len(budgets)}")
    config = {**as_dict(data, model, train, max_epochs, seed), "trainer": vars(trainer), "methods": list(methods),
              "seeds": seeds, "popularity": popularity, "max_times": budgets}
    run_dir = open_run(runs_root, "seqrec", name, config, resume=resume, may_differ=MAY_DIFFER)
    with failure_marked(run_dir):
        rows: dict[str, list[dict[str, float]]] = {}  # method -> one metrics dict per seed
        if popularity:
            pop = popularity_metrics(data, model.exclude_history)
            rows["popularity"] = [{c: pop[f"test/{c}"] for c in COLS}]
        parts = {f"{m}_seed{s}": Part(replace(model, method=m), replace(train, max_time=budget), s)
                 for m, budget in zip(methods, budgets, strict=True) for s in seeds}
        results = fit_parts(run_dir, data, parts, max_epochs, progress, trainer)
        notes, curves = {}, []
        for m, budget in zip(methods, budgets, strict=True):
            rows[m] = [{c: results[f"{m}_seed{s}"][f"test/{c}"] for c in COLS} for s in seeds]
            saved = [_read_metrics(run_dir / f"{m}_seed{s}") for s in seeds]
            notes[LABELS.get(m, m)] = "; ".join(f"seed {s}: {_note(x, budget)}" for s, x in zip(seeds, saved, strict=True))
            curves += [f"- {m}, seed {s}: " + ", ".join(f"e{e}/s{st}: {v:.4f}" for e, st, v in
                                                        curve(run_dir / f"{m}_seed{s}")[-12:]) for s in seeds]
        header, lines = table({LABELS.get(m, m): runs for m, runs in rows.items()}, notes)
        head = f"{data.dataset} test set, full ranking, mean ± sample std over seeds {seeds}. Command: `{_command_line()}`"
        text = "\n".join([head, "", "Validation NDCG@20 along training (epoch / global step, one per batch):", *curves])
        summary = {f"{m}/test/{c}": float(np.mean([r[c] for r in runs])) for m, runs in rows.items() for c in COLS}
        write_metrics(run_dir, summary)
        if is_rank_zero():
            _, md = write_table(run_dir / "table", header, lines)
            write_text_atomic(run_dir / "curves.md", text + "\n")
    if is_rank_zero():
        print(md.read_text() + "\n" + text)
    announce_run(run_dir)
    return summary


def _read_metrics(part: Path) -> dict:
    path = part / "metrics.json"
    return json.loads(path.read_text()) if path.is_file() else {}
