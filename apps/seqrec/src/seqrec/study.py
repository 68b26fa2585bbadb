"""``seqrec study``: methods x seeds on one dataset -> a mean ± std table, beside the published figures.

The default schedule is the MCLRec paper's Beauty comparison: popularity, SASRec (full CE),
CL4SRec and MCLRec with the paper's settings (``configs/beauty.yaml``: its ``model`` section holds
MCLRec's Beauty weights, CL4SRec keeps ``lambda_cl`` 0.1), early stopping on validation NDCG@20,
full ranking, no history exclusion; the published test figures are added as rows on Beauty:

    seqrec study --config apps/seqrec/configs/beauty.yaml --name study_beauty
    seqrec study --config apps/seqrec/configs/beauty.yaml --name study_beauty --resume --trainer.accelerator gpu

The run ``<root>/seqrec/<name>/version_K/`` holds one part per method and seed (``<method>_seed<s>/``:
config.yaml, checkpoints/, logs/, metrics.json), ``results.md`` (the table and each part's
validation curve) and ``metrics.json``. ``--max_times`` gives each method a wall-clock budget
(Lightning's Timer, checkpointed, so it counts every part of a resumed run). ``--resume``
continues the newest study of that name that has a checkpoint: parts that early stopping ended
are read back, the others continue from their ``last.ckpt`` (a budget-stopped part goes on when
its budget grew, e.g. on a GPU). ``--write_readme true`` puts the table into the app's README.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from contrastkit.train import (
    TrainerOptions,
    announce_run,
    failure_marked,
    is_rank_zero,
    open_run,
    write_metrics,
)
from contrastkit.train.plots import read_logged_rows

from seqrec.config import DataConfig, ModelConfig, TrainConfig, as_dict, build_datamodule
from seqrec.runner import MAY_DIFFER, check_method, fit_parts, popularity_metrics

README = Path(__file__).resolve().parents[2] / "README.md"
BEGIN, END = "<!-- seqrec_results:begin -->", "<!-- seqrec_results:end -->"
COLS = ("HR@5", "HR@10", "HR@20", "NDCG@5", "NDCG@10", "NDCG@20")
LABELS = {"popularity": "Popularity", "sasrec": "SASRec (ours, CE)", "cl4srec": "CL4SRec (ours)",
          "mclrec": "MCLRec (ours)"}
# Published Beauty test figures (MCLRec paper Table 2 / official README); "-" where not reported.
PUBLISHED = {
    "SASRec (published, BCE)": {"HR@5": .0377, "HR@20": .0894, "NDCG@5": .0241, "NDCG@20": .0386},
    "CL4SRec (published)": {"HR@5": .0401, "HR@20": .0974, "NDCG@5": .0268, "NDCG@20": .0428},
    "MCLRec (published)": {"HR@5": .0581, "HR@10": .0871, "HR@20": .1243, "NDCG@5": .0352, "NDCG@10": .0446,
                           "NDCG@20": .0539},
}


def curve(part: Path) -> list[tuple[int, int, float]]:
    """``(epoch, step, val NDCG@20)`` at each validation of a part, from its CSV logs (resume-aware)."""
    try:
        rows = read_logged_rows(part)
    except FileNotFoundError:
        return []
    return [(int(r["epoch"]), int(r["step"]), float(r["val/NDCG@20"])) for r in rows if r.get("val/NDCG@20")]


def _cell(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{np.mean(values):.4f} ± {np.std(values):.4f}" if len(values) > 1 else f"{values[0]:.4f}"


def table(rows: dict[str, list[dict[str, float]]], notes: dict[str, str]) -> str:
    """A Markdown table: one row per name, mean ± std over its runs (one value: the value), and a note."""
    lines = ["| method | " + " | ".join(COLS) + " | run |", "|---" * (len(COLS) + 2) + "|"]
    for name, runs in rows.items():
        cells = [_cell([r[c] for r in runs if r.get(c) is not None]) for c in COLS]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {notes.get(name, '')} |")
    return "\n".join(lines)


def _note(metrics: dict, budget: str | None) -> str:
    how = "early-stopped" if metrics.get("stopped_early") else (f"budget {budget}" if budget else "max epochs")
    return (f"{metrics.get('epochs_run', '?')} epochs, {metrics.get('fit_seconds', 0) / 60:.1f} min in its last "
            f"part, {metrics.get('processes', 1)} process(es), {how}")


def _command_line() -> str:
    """The command as typed, when it came from the ``seqrec`` console script."""
    if Path(sys.argv[0]).name == "seqrec" and sys.argv[1:2] == ["study"]:
        return "seqrec " + " ".join(sys.argv[1:])
    return "seqrec study (settings: config.yaml of the run)"


def update_readme(text: str, readme: Path = README) -> None:
    """Replace the block between the results markers of the app's README with ``text``."""
    if not readme.is_file() or BEGIN not in readme.read_text():
        raise FileNotFoundError(f"{readme}: no README with the {BEGIN} marker (--write_readme needs the source tree)")
    block = f"{BEGIN}\n{text}\n{END}"
    readme.write_text(re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, readme.read_text(),
                             flags=re.DOTALL))


def study(data: DataConfig = DataConfig(), model: ModelConfig = ModelConfig(),  # noqa: B008
          train: TrainConfig = TrainConfig(), trainer: TrainerOptions = TrainerOptions(),  # noqa: B008
          methods: tuple[str, ...] = ("sasrec", "cl4srec", "mclrec"), seeds: list[int] | None = None,
          popularity: bool = True, max_times: list[str | None] | None = None, name: str = "study",
          resume: bool = False, progress: bool = True, write_readme: bool = False) -> dict[str, float]:
    """Train several methods x seeds on one dataset and write the mean ± std table (results.md).

    Args:
        data: the data, as in ``fit`` (``batch_size`` per process).
        model: the settings shared by the methods (``method`` is replaced by each of ``methods``).
        train: epochs, early stopping, validation period and the runs folder (``train.root``); its
            ``seed`` is the default seed and its ``name`` is not used (the study's run is ``name``).
        trainer: where the methods train, as in ``fit``.
        methods: the trained methods, in order (sasrec, cl4srec, mclrec).
        seeds: the seeds (default: ``train.seed``).
        popularity: add the popularity ranking as the first row.
        max_times: one wall-clock budget "DD:HH:MM:SS" per method (or null), in the order of
            ``methods``; default ``train.max_time`` for each.
        name: the run name: ``<train.root>/seqrec/<name>/version_K``.
        resume: continue the newest study of this name that has a checkpoint.
        progress: show Lightning's progress bars.
        write_readme: put the table into apps/seqrec/README.md (between the results markers).
    """
    for m in methods:
        check_method(m)
    build_datamodule(data)  # a bad data setting is named here, before the run folder exists
    seeds = list(seeds) if seeds else [train.seed]
    budgets = list(max_times) if max_times else [train.max_time] * len(methods)
    if len(budgets) != len(methods):
        raise ValueError(f"--max_times needs one budget per method ({len(methods)}); got {len(budgets)}")
    config = {**as_dict(data, model, train), "trainer": vars(trainer), "methods": list(methods), "seeds": seeds,
              "popularity": popularity, "max_times": budgets}
    run_dir = open_run(train.root, "seqrec", name, config, resume=resume, may_differ=MAY_DIFFER)
    with failure_marked(run_dir):
        rows: dict[str, list[dict[str, float]]] = {}  # method -> one metrics dict per seed
        if popularity:
            pop = popularity_metrics(data, model.exclude_history)
            rows["popularity"] = [{c: pop[f"test/{c}"] for c in COLS}]
        parts = {f"{m}_seed{s}": (replace(model, method=m), replace(train, seed=s, max_time=budget))
                 for m, budget in zip(methods, budgets, strict=True) for s in seeds}
        results = fit_parts(run_dir, data, parts, progress, trainer)
        notes, curves = {}, []
        for m, budget in zip(methods, budgets, strict=True):
            rows[m] = [{c: results[f"{m}_seed{s}"][f"test/{c}"] for c in COLS} for s in seeds]
            saved = [_read_metrics(run_dir / f"{m}_seed{s}") for s in seeds]
            notes[LABELS.get(m, m)] = "; ".join(f"seed {s}: {_note(x, budget)}" for s, x in zip(seeds, saved, strict=True))
            curves += [f"- {m}, seed {s}: " + ", ".join(f"e{e}/s{st}: {v:.4f}" for e, st, v in
                                                        curve(run_dir / f"{m}_seed{s}")[-12:]) for s in seeds]
        shown = {LABELS.get(m, m): runs for m, runs in rows.items()}
        if data.dataset == "Beauty":
            shown.update({k: [v] for k, v in PUBLISHED.items()})
        head = f"{data.dataset} test set, full ranking, mean ± std over seeds {seeds}. Command: `{_command_line()}`"
        text = "\n".join([head, "", table(shown, notes), "",
                          "Validation NDCG@20 along training (epoch / global step, one per batch):", *curves])
        summary = {f"{m}/test/{c}": float(np.mean([r[c] for r in runs])) for m, runs in rows.items() for c in COLS}
        write_metrics(run_dir, summary)
        if is_rank_zero():
            (run_dir / "results.md").write_text(text + "\n")
            if write_readme:
                update_readme(text)
    if is_rank_zero():
        print(text)
    announce_run(run_dir)
    return summary


def _read_metrics(part: Path) -> dict:
    path = part / "metrics.json"
    return json.loads(path.read_text()) if path.is_file() else {}
