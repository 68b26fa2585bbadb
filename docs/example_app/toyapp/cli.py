"""``toyapp <command>``: the whole command layer of an app is this registration."""

from __future__ import annotations

from collections.abc import Sequence

from contrastkit.train.app import App, run_app

APP = App(
    name="toyapp",
    module="toyapp.method:ToyContrastive",  # fit / validate / test through LightningCLI
    datamodule="toyapp.data:ToyDataModule",
    demo="toyapp.commands:demo",
    evaluate="toyapp.commands:evaluate",
    study="toyapp.commands:study",
    embed="toyapp.use:embed",
    export="toyapp.use:export",
    use=("predict", "toyapp.use:predict"),
)


def main(argv: Sequence[str] | None = None):
    """The command's result when called with ``argv`` (tests), None from a console script."""
    return run_app(APP, argv)
