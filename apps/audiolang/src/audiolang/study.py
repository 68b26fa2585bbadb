"""``audiolang study``: the paper's ablation rows x seeds -> a mean ± std table of benchmark scores.

CompA-CLAP is trained in stages, each initialised from the previous stage's checkpoint, as in the
paper: stage 1 (CLAP) -> stage 2 (composition-aware hard negatives) -> stage 3 (modular loss). A
row of the table (``METHODS``) is a chain of stage settings (``STAGES``). Chains are trained prefix
by prefix, and a prefix is trained once per seed whatever the rows that start with it: one stage-1
checkpoint per seed serves every row, and CompA-CLAP continues the "+ hard negatives" row's stage 2.
Each stage's run directory is ``<study>/runs/seed<S>/<chain joined by "-">/`` (``clap``,
``clap-hn``, ``clap-hn-mod``...); the last stage of a row is scored on the order and attribute
benchmarks (``metrics.json`` there), in unseen and seen wording (the table's columns ``SCORES``).
A stage is finished when its ``last.ckpt`` has trained the stage's epochs (read from the checkpoint
itself: there is no separate mark to lose).

A unit of the study is one row and seed, ``<method>/seed<S>``: its stages trained, its last stage
scored. Its scores are recorded in ``<study>/units.json`` (:class:`contrastkit.train.units.StudyUnits`,
rewritten atomically after each unit), and the table is built from that record. A study resumed
with ``--resume`` skips the units ``units.json`` records (without loading their checkpoints); in
the others it keeps finished stages, continues an unfinished one from its ``last.ckpt`` and reuses
a stage's scores cached in its ``metrics.json`` (``scored``) — so a study folder written before
``units.json`` existed resumes too, its record filled from those caches. The study's folder holds
``units.json``, ``table.md`` / ``table.csv`` (mean ± sample std over seeds, ``n``), ``metrics.json``
(every row's scores per seed) and ``plots/scores.png``.

Under DDP (``--trainer.devices 2 --trainer.strategy ddp``) every rank runs the whole study: the
fits run together (``batch_size`` per process), rank 0 writes every file, the ranks wait for each
other after each stage (so that all see the same finished stages), and the benchmark scores are
computed on the full benchmarks by every rank alike (no gathering; rank 0's are written, ``units.json`` included).
"""

from __future__ import annotations

from dataclasses import asdict
from functools import partial
from pathlib import Path

import numpy as np
from contrastkit.train.trainer import TrainerOptions
from contrastkit.train.units import StudyUnits

from audiolang.baselines import CLAP
from audiolang.data.build import ClipConfig, build_benchmark, build_training_set, load_clips

# one stage's settings of audiolang.method.CompaClap
STAGES: dict[str, dict] = {
    "clap": CLAP,                                                         # stage 1
    "hn": {"stage": 2},                                                   # hard negatives
    "hn_mult": {"stage": 2, "mask": "multiplicative"},                    # ... with the official -1e5 mask
    "hn_t2a": {"stage": 2, "text_hard_negatives": True},                  # ... and text->audio negatives
    "mod": {"stage": 3},                                                  # modular loss (official: with negatives)
    "mod_only": {"stage": 3, "use_negatives": False},                     # modular loss alone
    "mod_mult": {"stage": 3, "mask": "multiplicative"},
    "mod_t2a": {"stage": 3, "text_hard_negatives": True},
}
# the README table's rows: the paper's ablation (CLAP; + hard negatives = CompA-CLAP without the
# modular loss; + modular = CompA-CLAP without hard negatives; CompA-CLAP) and this app's two options
METHODS: dict[str, tuple[str, ...]] = {
    "clap": ("clap",),
    "hard_negatives": ("clap", "hn"),
    "modular": ("clap", "mod_only"),
    "compa_clap": ("clap", "hn", "mod"),
    "compa_clap_official_mask": ("clap", "hn_mult", "mod_mult"),
    "compa_clap_t2a_negatives": ("clap", "hn_t2a", "mod_t2a"),
}
# unseen wording (test-only families) first, the headline; the same pairs in seen wording beside it
# the text tower of every stage (CompaClap's arguments), unless the study is given others
TEXT: dict = {"tokens": "words", "text_layers": None, "word_dropout": 0.0, "text_pool": "segments"}
SCORES = ("order/unseen/text", "order/unseen/audio", "order/unseen/group", "order/seen/group",
          "attribute/unseen/text", "attribute/unseen/audio", "attribute/unseen/group", "attribute/seen/group")
CPU = TrainerOptions(accelerator="cpu")  # the study's default: one CPU process


def wait_for_other_ranks() -> None:
    """A barrier when several processes run (DDP): files rank 0 wrote are then seen by all."""
    from contrastkit.distributed import world

    if world()[1] > 1:
        import torch.distributed as dist

        dist.barrier()


def stage_finished(run_dir: Path, max_epochs: int) -> bool:
    """Whether the stage in ``run_dir`` has a ``last.ckpt`` that trained ``max_epochs`` epochs."""
    from contrastkit.train import load_checkpoint

    from audiolang.method import epochs_trained

    last = run_dir / "checkpoints" / "last.ckpt"
    return last.is_file() and epochs_trained(load_checkpoint(last)) >= max_epochs


def train_stage(run_dir: Path, settings: dict, init_from: Path | None, manifest: Path, seed: int, max_epochs: int,
                batch_size: int, sample_rate: int, progress: bool = False, options: TrainerOptions = CPU) -> Path:
    """Fit one stage for ``max_epochs`` in ``run_dir``, initialised from ``init_from`` (the previous
    stage's checkpoint, weights only); resumable; a finished stage (:func:`stage_finished`) is
    kept as it is. ``options``: where it trains (devices, strategy...). Returns its last.ckpt."""
    last = run_dir / "checkpoints" / "last.ckpt"
    stage = {"init_from": str(init_from) if init_from else None, "max_epochs": max_epochs}
    from contrastkit.train import write_metrics

    if stage_finished(run_dir, max_epochs):
        if not (run_dir / "metrics.json").is_file():  # stopped after the last epoch, before metrics.json
            write_metrics(run_dir, stage)
    else:
        import lightning as L
        from contrastkit.train import fit_resumable, make_trainer

        from audiolang.data.datamodule import AudioTextDataModule
        from audiolang.method import CompaClap

        run_dir.mkdir(parents=True, exist_ok=True)
        L.seed_everything(seed, verbose=False)
        module = CompaClap(sample_rate=sample_rate, init_from=stage["init_from"], **settings)
        data = AudioTextDataModule(manifest=str(manifest), clips=ClipConfig(sample_rate=sample_rate),
                                   batch_size=batch_size, seed=seed, val_fraction=0.0,
                                   negative_audio=bool(settings.get("text_hard_negatives")))
        trainer = make_trainer(run_dir, max_epochs, progress=progress, num_sanity_val_steps=0, options=options)
        fit_resumable(trainer, module, data, run_dir=run_dir)
        write_metrics(run_dir, {"train/loss_last": trainer.callback_metrics.get("train/loss_epoch", float("nan")),
                                **stage})
    wait_for_other_ranks()  # every rank now sees the finished checkpoint: the next row's check agrees on all
    return last


def score_checkpoint(run_dir: Path, ckpt: Path, benchmarks: dict[str, Path], zero_shot_clips=None) -> dict[str, float]:
    """Benchmark scores (``<kind>/<score>``) and zero-shot accuracy of a checkpoint, cached in
    ``run_dir/metrics.json`` (``scored``). Computed on the full benchmarks in this process (every
    rank under DDP computes the same figures; rank 0 writes them)."""
    import json

    from contrastkit.train import write_metrics

    from audiolang.evaluate import evaluate_benchmark, zero_shot_by_group
    from audiolang.use import load_model

    path = run_dir / "metrics.json"
    try:
        saved = json.loads(path.read_text()) if path.is_file() else {}
    except ValueError as error:
        raise ValueError(f"{path}: not readable JSON ({error}); delete it and the stage is scored again") from None
    if not saved.get("scored"):
        encoder = load_model(str(ckpt))
        metrics = {}
        for name, csv in benchmarks.items():
            metrics.update({f"{name}/{k}": v for k, v in evaluate_benchmark(encoder, csv).items()})
        if zero_shot_clips is not None:
            metrics.update(zero_shot_by_group(encoder, zero_shot_clips))
        write_metrics(run_dir, {**metrics, "scored": True})
        saved = {**saved, **metrics}  # not read back: only rank 0 writes
    return {k: float(v) for k, v in saved.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in ("epochs", "max_epochs")}


def write_study_table(rows: dict[str, list[dict[str, float]]], stem: Path,
                      columns: tuple[str, ...] = SCORES) -> str:
    """``<stem>.md`` and ``<stem>.csv``: one row per method (its chain of stages beside it),
    ``mean ± sample std`` over its seeds for each column and ``n`` (``contrastkit.train.seed_table``);
    returns the Markdown."""
    from contrastkit.train import markdown_table, seed_table, write_table

    header, table = seed_table({m: {c: [r[c] for r in runs] for c in columns} for m, runs in rows.items()},
                               columns, digits=1)
    header.insert(1, "stages")
    for row in table:
        row.insert(1, " → ".join(METHODS.get(row[0], ())))
    write_table(stem, header, table)
    return markdown_table(header, table)


def study(methods: tuple[str, ...] = tuple(METHODS), seeds: tuple[int, ...] = (0, 1), max_epochs: int = 10,
          max_epochs_finetune: int = 4, train_size: int = 1000, benchmark_size: int = 200, batch_size: int = 32,
          clips: ClipConfig = ClipConfig(), runs_root: str = "runs", name: str = "study",  # noqa: B008
          resume: bool = False, progress: bool = False, tokens: str = TEXT["tokens"],
          text_layers: int | None = TEXT["text_layers"], word_dropout: float = TEXT["word_dropout"],
          text_pool: str = TEXT["text_pool"], trainer: TrainerOptions = CPU) -> dict[str, dict[str, float]]:
    """The paper's ablation rows x seeds on the built order and attribute benchmarks -> table.md / table.csv.

    The table holds mean ± sample std over seeds and ``n``; the run folder is
    ``<runs_root>/audiolang/<name>/version_K/``.

    Each row trains its chain of stages (module docstring), every stage after the first initialised
    from the previous one's checkpoint; shared prefixes are trained once per seed.

    Args:
        methods: rows, names from ``audiolang.study.METHODS``.
        seeds: one chain per seed (the training set and benchmarks are built once, with the first seed).
        max_epochs: epochs of stage 1 (CLAP).
        max_epochs_finetune: epochs of each later stage (2 and 3).
        train_size: built training compositions.
        benchmark_size: pairs per benchmark.
        batch_size: training batch.
        clips: sources and test groups (``--clips.sources '[esc10, fsdd]'`` for the real clips).
        runs_root: the runs folder (the built data are cached in ``<runs_root>/audiolang/cache``).
        name: the study's run name.
        resume: continue the newest run of that name (the units its ``units.json`` records are
            skipped; in the others finished stages are kept, an unfinished one continues from its last.ckpt).
        progress: show Lightning's progress bars.
        tokens, text_layers, word_dropout, text_pool: the text tower of every stage (``CompaClap``'s arguments;
            the defaults, ``TEXT``, are what generalized best to unseen wording, see the README).
        trainer: where every stage trains (``--trainer.accelerator gpu``, ``--trainer.devices 2
            --trainer.strategy ddp``...; default: one CPU process). ``batch_size`` is per process.
    """
    from contrastkit.train import announce_run, failure_marked, is_rank_zero, open_run, write_metrics
    from contrastkit.train.cli import RESUME_MAY_DIFFER

    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; known: {sorted(METHODS)}")
    config = {"methods": list(methods), "seeds": list(seeds), "max_epochs": max_epochs,
              "max_epochs_finetune": max_epochs_finetune, "train_size": train_size, "benchmark_size": benchmark_size,
              "batch_size": batch_size, "clips": asdict(clips), "trainer": asdict(trainer),
              "text": {"tokens": tokens, "text_layers": text_layers, "word_dropout": word_dropout,
                       "text_pool": text_pool}}
    # a stage's length is part of the experiment: a resumed study must keep it
    may_differ = [f for f in RESUME_MAY_DIFFER if f != "max_epochs"]
    run_dir = open_run(runs_root, "audiolang", name, config, resume, may_differ=may_differ)
    with failure_marked(run_dir):
        cache = Path(runs_root) / "audiolang" / "cache"
        manifest = build_training_set(cache, train_size, seeds[0], clips)
        test_clips = load_clips(clips, test=True)
        benchmarks = {kind: build_benchmark(cache, kind, benchmark_size, seeds[0], clips, clip_set=test_clips)
                      for kind in ("order", "attribute")}
        units = StudyUnits(run_dir, resume=resume, label="[audiolang]")

        def unit(method: str, seed: int) -> dict[str, float]:
            """Train ``method``'s chain of stages for ``seed`` (finished stages kept) and score its last."""
            ckpt, chain = None, METHODS[method]
            for depth, stage in enumerate(chain, start=1):
                stage_dir = run_dir / "runs" / f"seed{seed}" / "-".join(chain[:depth])
                ckpt = train_stage(stage_dir, {**STAGES[stage], **config["text"]}, ckpt, manifest, seed,
                                   max_epochs if depth == 1 else max_epochs_finetune, batch_size,
                                   clips.sample_rate, progress, trainer)
            return score_checkpoint(stage_dir, ckpt, benchmarks, test_clips)

        for seed in seeds:
            for method in methods:
                metrics = units.run(f"{method}/seed{seed}", partial(unit, method, seed))
                if is_rank_zero():
                    print(f"{method} seed {seed}: " + ", ".join(f"{k} {metrics[k]:.1f}" for k in SCORES), flush=True)
        rows = {m: [units.results[f"{m}/seed{s}"] for s in seeds] for m in methods}
        flat = {f"{m}/seed{s}/{k}": v for s in seeds for m in methods for k, v in units.results[f"{m}/seed{s}"].items()}
        write_metrics(run_dir, flat)
        if is_rank_zero():
            from audiolang.plots import plot_scores

            table = write_study_table(rows, run_dir / "table")
            plot_scores(rows, run_dir / "plots" / "scores.png")
            print(table)
    announce_run(run_dir)
    return {m: {k: float(np.mean([r[k] for r in runs])) for k in set.intersection(*(set(r) for r in runs))}
            for m, runs in rows.items()}
