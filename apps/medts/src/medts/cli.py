"""``medts <command>`` (console script), through ``contrastkit.train.run_cli``.

    medts demo                                                     # synthetic cohort, no downloads
    medts fit --model.input_dims 4 --data.batch_size 64            # LightningCLI on COMET (--resume continues)
    medts study --config apps/medts/configs/eeg_smni.yaml          # every method x seed, probe, fine-tune
    medts study --config apps/medts/configs/eeg_smni.yaml --prepare_only true   # only the data cache
    medts table "[runs/medts/eeg_smni/version_0]"                  # merge study runs
    medts levels --seeds "[0, 1, 2]"                               # which COMET levels keep the class
    medts embed --ckpt_path runs/medts/fit/version_0/checkpoints/last.ckpt
    medts predict --ckpt_path runs/medts/demo/version_0/finetune/checkpoints/best.ckpt --data.source.kind synthetic
    medts export --ckpt_path runs/medts/fit/version_0/checkpoints/last.ckpt --out encoder
    medts figures runs/medts/demo/version_0/pretrain figures/

Commands are named as ``"module:function"`` strings: ``medts --help`` imports no torch.
"""

from __future__ import annotations

from collections.abc import Sequence

from contrastkit.train.cli import run_cli

COMMANDS = {
    "demo": "medts.demo:demo",
    "study": "medts.study:study",
    "table": "medts.study:table",
    "levels": "medts.levels:levels",
    "embed": "medts.use:embed",
    "predict": "medts.use:predict",
    "export": "medts.use:export",
    "figures": "medts.plots:figures",
}


def main(argv: Sequence[str] | None = None):
    """Console entry point (see :func:`contrastkit.train.run_cli`): the command's result when
    called with ``argv``, None from the console script."""
    return run_cli("medts", "medts.method:COMET", "medts.data.datamodule:MedTSDataModule", COMMANDS, argv)
