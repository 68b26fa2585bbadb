"""The ``seqrec`` console script, through ``contrastkit.train.run_cli``:

    seqrec demo
    seqrec demo --resume
    seqrec fit --config apps/seqrec/configs/beauty.yaml
    seqrec fit --config apps/seqrec/configs/beauty.yaml --resume
    seqrec fit --data.dataset synthetic --model.method mclrec --trainer.devices 2 --trainer.strategy ddp --trainer.accelerator cpu
    seqrec test --ckpt_path runs/seqrec/beauty_mclrec/version_0/checkpoints/best.ckpt
    seqrec evaluate --model.method popularity --data.dataset Beauty
    seqrec study --config apps/seqrec/configs/beauty.yaml --name study_beauty
    seqrec embed --ckpt_path runs/seqrec/beauty_mclrec/version_0/checkpoints/best.ckpt --users true
    seqrec recommend --ckpt_path runs/seqrec/beauty_mclrec/version_0/checkpoints/best.ckpt --k 10
    seqrec export --ckpt_path runs/seqrec/beauty_mclrec/version_0/checkpoints/best.ckpt

Commands are named as ``"module:function"`` strings, so that the help imports no torch.
(tests/seqrec/test_docs.py parses every ``seqrec`` command of this docstring and of the README.)
"""

from __future__ import annotations

import logging

from contrastkit.train.cli import run_cli

COMMANDS = {
    "demo": "seqrec.demo:demo",
    "fit": "seqrec.commands:fit",
    "test": "seqrec.commands:test",
    "evaluate": "seqrec.commands:evaluate",
    "study": "seqrec.study:study",
    "embed": "seqrec.use:embed",
    "recommend": "seqrec.use:recommend",
    "export": "seqrec.use:export",
}


def _log_to_console() -> None:
    """Show the ``seqrec`` logger's INFO lines (what each reader read and skipped) on stderr."""
    log = logging.getLogger("seqrec")
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("seqrec: %(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.INFO)


def main(argv: list[str] | None = None):
    """Console entry point: the command's result when called with ``argv``, None from the console
    script (see :func:`contrastkit.train.run_cli`)."""
    _log_to_console()
    return run_cli("seqrec", commands=COMMANDS, argv=argv)


if __name__ == "__main__":
    main()
