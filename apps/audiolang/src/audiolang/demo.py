"""``audiolang demo``: the embedded default, on synthetic sounds (no data, no downloads).

Builds a small training set and the two benchmarks from the synthetic clips, trains CLAP (stage 1)
and CompA-CLAP (stages 2 and 3 on top of that CLAP) briefly, scores both and writes ``table.md`` /
``table.csv`` and ``metrics.json``. It is a small :func:`audiolang.study.study` (one seed), run as
``<runs_root>/audiolang/demo/version_K``; ``--resume`` continues a stopped demo as a study is
continued (finished stages kept, an unfinished one continued from its ``last.ckpt``).
"""

from __future__ import annotations

from contrastkit.train.trainer import TrainerOptions

from audiolang.data.build import ClipConfig
from audiolang.study import CPU


def demo(runs_root: str = "runs", max_epochs: int = 3, max_epochs_finetune: int = 2, train_size: int = 256,
         benchmark_size: int = 60, batch_size: int = 32, methods: tuple[str, ...] = ("clap", "compa_clap"),
         seed: int = 0, resume: bool = False, progress: bool = False,
         trainer: TrainerOptions = CPU) -> dict[str, dict[str, float]]:
    """Train CLAP and CompA-CLAP on synthetic sounds and score them; under two minutes on 2 CPU cores.

    Args:
        runs_root: the runs folder (``<runs_root>/audiolang/demo/version_K``).
        max_epochs: epochs of stage 1 (CLAP).
        max_epochs_finetune: epochs of each later stage (CompA-CLAP: 1 -> 2 -> 3).
        train_size: built training compositions.
        benchmark_size: pairs per benchmark.
        batch_size: training batch.
        methods: names from ``audiolang.study.METHODS``.
        seed: one seed.
        resume: continue the newest demo run (finished stages are kept).
        progress: show progress bars.
        trainer: where it trains (``--trainer.devices 2 --trainer.strategy ddp``...; default: one CPU
            process); ``batch_size`` is per process.
    """
    from audiolang.study import study

    return study(methods=methods, seeds=(seed,), max_epochs=max_epochs, max_epochs_finetune=max_epochs_finetune,
                 train_size=train_size, benchmark_size=benchmark_size, batch_size=batch_size,
                 clips=ClipConfig(sources=("synthetic",)), runs_root=runs_root, name="demo", resume=resume,
                 progress=progress, trainer=trainer)
