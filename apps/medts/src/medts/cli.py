"""``medts <command>`` (console script): the app's registration; the commands are the core's.

    medts demo                                                     # synthetic cohort, no downloads
    medts fit --model.input_dims 4 --data.batch_size 64            # LightningCLI on COMET (--resume continues)
    medts validate --model.input_dims 4 --ckpt_path runs/medts/fit/version_0/checkpoints/last.ckpt
    medts evaluate --ckpt_path runs/medts/demo/version_0/pretrain/checkpoints/last.ckpt --fractions "[0.1]"
    medts study --config apps/medts/configs/eeg_smni.yaml          # every method x seed, probe, fine-tune
    medts study --config apps/medts/configs/eeg_smni.yaml --prepare_only true   # only the data cache
    medts table "[runs/medts/eeg_smni/version_0]"                  # merge study runs
    medts levels --seeds "[0, 1, 2]"                               # which COMET levels keep the class
    medts embed --ckpt_path runs/medts/fit/version_0/checkpoints/last.ckpt
    medts predict --ckpt_path runs/medts/demo/version_0/finetune/checkpoints/best.ckpt
    medts export --ckpt_path runs/medts/fit/version_0/checkpoints/last.ckpt
    medts figures runs/medts/demo/version_0/pretrain

Commands are named as ``"module:function"`` strings: ``medts --help`` imports no torch.
"""

from __future__ import annotations

from collections.abc import Sequence

from contrastkit.train.app import App, run_app

APP = App(
    name="medts",
    module="medts.method:COMET",
    datamodule="medts.data.datamodule:MedTSDataModule",
    demo="medts.demo:demo",
    evaluate="medts.evaluate:evaluate",
    study="medts.study:study",
    embed="medts.use:embed",
    export="medts.use:export",
    use=("predict", "medts.use:predict"),
    commands={
        "table": "medts.study:table",
        "levels": "medts.levels:levels",
        "figures": "medts.plots:figures",
    },
    renamed={
        "--pretrain_epochs": "--max_epochs_pretrain",
        "--finetune_epochs": "--max_epochs_finetune",
        "--protocol.pretrain_epochs": "--protocol.max_epochs_pretrain",
        "--protocol.finetune_epochs": "--protocol.max_epochs_finetune",
        "--epochs": "--max_epochs",
        "--data.source.root": "--data.source.data_root",
    },
)


def main(argv: Sequence[str] | None = None):
    """Console entry point: the command's result when called with ``argv``, None from the console script."""
    return run_app(APP, argv)
