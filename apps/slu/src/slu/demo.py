"""``slu demo``: the embedded default, on synthetic speech (no data, no download).

A small FSC-like set (12 of the 31 intents, 12 pseudo-speakers, 9 for training), cut into 3
tasks of 4 intents; fine-tuning, experience replay and COCONUT trained with the same budget;
the report is ``table.md``/``table.csv`` (accuracy on unseen-wording and seen-wording test clips
side by side, unseen first) plus the accuracy matrices and the Avg Acc plot.
"""

from __future__ import annotations

from contrastkit.train.trainer import TrainerOptions

from slu.continual import ModelConfig, TrainConfig
from slu.data.datamodule import DataConfig
from slu.data.synthetic import SyntheticConfig
from slu.method import MethodConfig

DEMO_DATA = DataConfig(dataset="synthetic_fsc", n_tasks=3, batch_size=16, vocab_size=100,
                       synthetic=SyntheticConfig(train_speakers=9, test_speakers=3, phrasings=2, max_classes=12))
DEMO_MODEL = ModelConfig(d_model=96, encoder_layers=2, decoder_layers=2, ff=192)  # 2 decoder layers: README, unseen wording
DEMO_TRAIN = TrainConfig(max_epochs=20, lr=2e-3, memory_percent=10.0)
CPU = TrainerOptions(accelerator="cpu")  # the demo's default: one CPU process


def demo(runs_root: str = "runs", methods: list[str] = ("finetune", "er", "coconut"),
         max_epochs: int = DEMO_TRAIN.max_epochs, seed: int = 0, cache_dir: str | None = None, name: str = "demo",
         resume: bool = False, trainer: TrainerOptions = CPU) -> dict:
    """Synthetic speech, 3 tasks, fine-tune vs ER vs COCONUT; a report in ``<runs_root>/slu/demo/``.

    Args:
        runs_root: the runs folder.
        methods: the methods compared.
        max_epochs: epochs per task.
        seed: the seed of every run.
        cache_dir: where the synthetic set is cached (default ``<runs_root>/slu/cache``).
        name: the run's name.
        resume: continue the newest demo run that has a checkpoint.
        trainer: where every task trains (default one CPU process; ``--trainer.devices 2
            --trainer.strategy ddp``...); the batch of 16 is per process.
    """
    from dataclasses import replace

    from slu.study import run_rows

    data = replace(DEMO_DATA, cache_dir=cache_dir)
    _, rows = run_rows(data, DEMO_MODEL, MethodConfig(), replace(DEMO_TRAIN, max_epochs=max_epochs, seed=seed),
                       list(methods), [seed], name, runs_root, resume, trainer=trainer)
    keys = ("avg_acc_unseen", "last_acc_unseen", "avg_acc_seen", "last_acc_seen", "avg_acc", "last_acc", "forgetting",
            "bwt")
    return {m: {k: runs[0][k] for k in keys} for m, runs in rows.items()}
