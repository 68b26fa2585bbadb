"""``motionfc <command>`` (console script): the app's registration (``contrastkit.train.app.App``).

    motionfc demo                                                   # the style study in small, no data needed
    motionfc simulate --styles "[0.1, 0.5]"                         # the ORCA style dataset (cached)
    motionfc fit --config apps/motionfc/configs/style_irm_modular.yaml   # LightningCLI (--resume continues)
    motionfc validate --config apps/motionfc/configs/style_irm_modular.yaml --ckpt_path runs/motionfc/fit/version_0/checkpoints/last.ckpt
    motionfc test --config apps/motionfc/configs/style_irm_modular.yaml --ckpt_path runs/motionfc/fit/version_0/checkpoints/last.ckpt
    motionfc evaluate --ckpt_path runs/motionfc/fit/version_0/checkpoints/last.ckpt
    motionfc eth-ucy --config apps/motionfc/configs/eth_ucy_eth_irm.yaml
    motionfc study style --seeds "[0, 1, 2]"                        # the experiments behind the README
    motionfc report --style runs/motionfc/style_study/version_0     # their tables and figures, in a run folder
    motionfc embed --ckpt_path runs/motionfc/fit/version_0/checkpoints/last.ckpt
    motionfc forecast --ckpt_path runs/motionfc/ethucy_eth_irm0.1_s0/version_0/checkpoints/best.ckpt --path scene.txt
    motionfc export --ckpt_path runs/motionfc/fit/version_0/checkpoints/last.ckpt

``fit`` / ``validate`` / ``test`` are LightningCLI on the style study (:class:`~motionfc.method.CausalMotion`
with :class:`~motionfc.data.datamodule.StyleDataModule`). Commands are named as ``"module:function"``
strings: ``motionfc --help`` imports no torch.
"""

from __future__ import annotations

from collections.abc import Sequence

from contrastkit.train.app import App, run_app

APP = App(
    name="motionfc",
    module="motionfc.method:CausalMotion",
    datamodule="motionfc.data.datamodule:StyleDataModule",
    demo="motionfc.demo:demo",
    evaluate="motionfc.commands:evaluate",
    study="motionfc.experiments:Study",
    embed="motionfc.use:embed",
    export="motionfc.use:export",
    use=("forecast", "motionfc.use:forecast"),
    commands={
        "simulate": "motionfc.commands:simulate",
        "eth-ucy": "motionfc.commands:eth_ucy",
        "report": "motionfc.report:report",
    },
    renamed={
        **{f"--epochs_p{k}": f"--max_epochs_p{k}" for k in (3, 4, 5, 6)},  # demo's four stages
        "--epochs": "--max_epochs",  # eth-ucy, study style / irm_sweep / eth_ucy_grid
        "--finetune_epochs": "--max_epochs_finetune",  # study style
        "--lambda_penalty": "--lambda_irm",  # eth-ucy: v-REx's weight is --lambda_vrex
        "eth-ucy --root": "--data_root",  # the ETH/UCY folder there (elsewhere --root was the runs folder)
    },
)


def main(argv: Sequence[str] | None = None):
    """Console entry point: the command's result when called with ``argv``, None from the console script."""
    return run_app(APP, argv)
