"""``audiolang study``: methods x seeds -> a mean ± std table of benchmark scores.

Each (method, seed) trains the dual encoder on the same built training set (seeded), then scores
it on the order and attribute benchmarks. Methods (``METHODS``) are settings of :class:`CompaClap`.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np

from audiolang.data.build import ClipConfig, build_benchmark, build_training_set, load_clips

# the README table's rows: the paper's ablations and this app's two options
METHODS: dict[str, dict] = {
    "clap": {"stage": 1},
    "hard_negatives": {"stage": 2},
    "modular": {"stage": 3, "use_negatives": False},
    "compa_clap": {"stage": 3},
    "compa_clap_official_mask": {"stage": 3, "mask": "multiplicative"},
    "compa_clap_t2a_negatives": {"stage": 3, "text_hard_negatives": True},
}
SCORES = ("order/text", "order/audio", "order/group", "attribute/text", "attribute/audio", "attribute/group")


def train_and_evaluate(run_dir: Path, method: dict, manifest: Path, benchmarks: dict[str, Path], seed: int,
                       epochs: int, batch_size: int, sample_rate: int, progress: bool = False,
                       zero_shot_clips=None) -> dict[str, float]:
    """Fit one method for ``epochs`` in ``run_dir`` (resumable), score it; metrics are written there."""
    import lightning as L
    from contrastkit.train import fit_resumable, make_trainer, write_metrics

    from audiolang.data.datamodule import AudioTextDataModule
    from audiolang.evaluate import evaluate_benchmark, zero_shot_by_group
    from audiolang.method import CompaClap

    L.seed_everything(seed, verbose=False)
    module = CompaClap(sample_rate=sample_rate, **method)
    data = AudioTextDataModule(manifest=str(manifest), batch_size=batch_size, seed=seed, val_fraction=0.0,
                               negative_audio=bool(method.get("text_hard_negatives")))
    trainer = make_trainer(run_dir, epochs, progress=progress, accelerator="cpu", num_sanity_val_steps=0)
    fit_resumable(trainer, module, data, run_dir=run_dir)
    metrics = {}
    for name, csv in benchmarks.items():
        metrics.update({f"{name}/{k}": v for k, v in evaluate_benchmark(module.encoder, csv).items()})
    if zero_shot_clips is not None:
        metrics.update(zero_shot_by_group(module.encoder, zero_shot_clips))
    metrics["train/loss_last"] = float(trainer.callback_metrics.get("train/loss_epoch", float("nan")))
    write_metrics(run_dir, metrics)
    return metrics


def format_table(rows: dict[str, list[dict[str, float]]], columns: tuple[str, ...] = SCORES) -> str:
    """Markdown table: one row per method, ``mean ± std`` over its seeds for each column."""
    lines = ["| method | seeds | " + " | ".join(columns) + " |", "|---|---|" + "---|" * len(columns)]
    for name, runs in rows.items():
        cells = []
        for c in columns:
            v = np.array([r[c] for r in runs if c in r], dtype=float)
            cells.append(f"{v.mean():.1f} ± {v.std(ddof=1) if len(v) > 1 else 0.0:.1f}" if len(v) else "–")
        lines.append(f"| {name} | {len(runs)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def study(methods: tuple[str, ...] = tuple(METHODS), seeds: tuple[int, ...] = (0, 1), epochs: int = 5,
          train_size: int = 1000, benchmark_size: int = 200, batch_size: int = 32,
          clips: ClipConfig = ClipConfig(), root: str = "runs", name: str = "study",  # noqa: B008
          resume: bool = False, progress: bool = False) -> dict[str, dict[str, float]]:
    """Methods x seeds on the built order and attribute benchmarks -> results.md (mean ± std).

    Runs go to ``<root>/audiolang/<name>/version_K/runs/<method>_seed<S>/``.

    Args:
        methods: names from ``audiolang.study.METHODS``.
        seeds: one run per seed (the training set is built once, with the first seed).
        epochs: epochs per run.
        train_size: built training compositions.
        benchmark_size: pairs per benchmark.
        batch_size: training batch.
        clips: sources and test groups (``--clips.sources '[esc10, fsdd]'`` for the real clips).
        root: runs folder.
        name: the study's run name.
        resume: continue the newest run of that name (finished (method, seed) runs are kept).
        progress: show Lightning's progress bars.
    """
    from contrastkit.train import announce_run, failure_marked, open_run, write_metrics

    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; known: {sorted(METHODS)}")
    config = {"methods": list(methods), "seeds": list(seeds), "epochs": epochs, "train_size": train_size,
              "benchmark_size": benchmark_size, "batch_size": batch_size, "clips": asdict(clips)}
    run_dir = open_run(root, "audiolang", name, config, resume)
    with failure_marked(run_dir):
        cache = Path(root) / "audiolang" / "cache"
        manifest = build_training_set(cache, train_size, seeds[0], clips)
        test_clips = load_clips(clips, test=True)
        benchmarks = {kind: build_benchmark(cache, kind, benchmark_size, seeds[0], clips, clip_set=test_clips)
                      for kind in ("order", "attribute")}
        rows: dict[str, list[dict[str, float]]] = {}
        flat = {}
        for method in methods:
            for seed in seeds:
                sub = run_dir / "runs" / f"{method}_seed{seed}"
                sub.mkdir(parents=True, exist_ok=True)
                metrics = train_and_evaluate(sub, METHODS[method], manifest, benchmarks, seed, epochs, batch_size,
                                             clips.sample_rate, progress, zero_shot_clips=test_clips)
                rows.setdefault(method, []).append(metrics)
                flat.update({f"{method}/seed{seed}/{k}": v for k, v in metrics.items()})
        table = format_table(rows)
        (run_dir / "results.md").write_text(table + "\n")
        write_metrics(run_dir, flat)
    print(table)
    announce_run(run_dir)
    return {m: {k: float(np.mean([r[k] for r in runs])) for k in runs[0]} for m, runs in rows.items()}
