"""The ``seqrec`` console script: the app's registration (``contrastkit.train.app.App``).

    seqrec demo
    seqrec demo --resume
    seqrec fit --config apps/seqrec/configs/beauty.yaml
    seqrec fit --config apps/seqrec/configs/beauty.yaml --resume
    seqrec fit --data.dataset synthetic --model.method mclrec --trainer.devices 2 --trainer.strategy ddp --trainer.accelerator cpu
    seqrec validate --ckpt_path runs/seqrec/beauty_mclrec/version_0/checkpoints/best.ckpt
    seqrec test --ckpt_path runs/seqrec/beauty_mclrec/version_0/checkpoints/best.ckpt
    seqrec evaluate --model.method popularity --data.dataset Beauty
    seqrec study --config apps/seqrec/configs/beauty.yaml --name study_beauty
    seqrec embed --ckpt_path runs/seqrec/beauty_mclrec/version_0/checkpoints/best.ckpt --users true
    seqrec recommend --ckpt_path runs/seqrec/beauty_mclrec/version_0/checkpoints/best.ckpt --k 10
    seqrec export --ckpt_path runs/seqrec/beauty_mclrec/version_0/checkpoints/best.ckpt

``fit`` trains with early stopping and then tests the best checkpoint, and ``validate`` / ``test``
score a checkpoint with full ranking on the data it records, so the app registers its own three
(typed ``--data.*`` / ``--model.*`` / ``--train.*`` sections through jsonargparse). Commands are
imported only when run, so the help loads no torch. (tests/seqrec/test_docs.py parses every
``seqrec`` command of this docstring and of the README.)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from contrastkit.train.app import App, run_app

APP = App(
    name="seqrec",
    module=None,  # fit early-stops then tests; validate / test score with full ranking: its own three
    datamodule=None,
    demo="seqrec.demo:demo",
    evaluate="seqrec.commands:evaluate",
    study="seqrec.study:study",
    embed="seqrec.use:embed",
    export="seqrec.use:export",
    use=("recommend", "seqrec.use:recommend"),
    commands={
        "fit": "seqrec.commands:fit",
        "validate": "seqrec.commands:validate",
        "test": "seqrec.commands:test",
    },
    renamed={"--root": "--runs_root", "--train.root": "--runs_root", "--train.name": "--name",
             "--train.max_epochs": "--max_epochs", "--epochs": "--max_epochs", "--train.seed": "--seed"},
)


def _log_to_console() -> None:
    """Show the ``seqrec`` logger's INFO lines (what each reader read and skipped) on stderr."""
    log = logging.getLogger("seqrec")
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("seqrec: %(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.INFO)


def main(argv: Sequence[str] | None = None):
    """Console entry point: the command's result when called with ``argv`` (see
    :func:`contrastkit.train.app.run_app`)."""
    _log_to_console()
    return run_app(APP, argv)


if __name__ == "__main__":
    main()
