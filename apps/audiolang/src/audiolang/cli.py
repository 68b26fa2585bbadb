"""``audiolang <command>`` (console script): the app's registration (``contrastkit.train.app.App``).

    audiolang demo
    audiolang build-benchmark --kind order --n 200 --clips.sources '[esc10, fsdd]'
    audiolang fit --model.stage 3 --data.clips.sources '[esc10, fsdd]' --trainer.max_epochs 5
    audiolang validate --ckpt_path runs/audiolang/fit/version_0/checkpoints/last.ckpt --data.clips.sources '[esc10, fsdd]'
    audiolang test --ckpt_path runs/audiolang/fit/version_0/checkpoints/last.ckpt --data.clips.sources '[esc10, fsdd]'
    audiolang evaluate --ckpt_path runs/audiolang/fit/version_0/checkpoints/last.ckpt --benchmark BENCH.csv
    audiolang study --seeds '[0, 1]' --clips.sources '[esc10, fsdd]'
    audiolang embed --ckpt_path CKPT --audio '[a.wav, b.wav]'
    audiolang score --ckpt_path CKPT --audio '[a.wav]' --caption 'a dog barks, then a clock ticks'
    audiolang score --ckpt_path CKPT --audio '[a.wav, b.wav]' --captions_file captions.txt
    audiolang export --ckpt_path CKPT

``fit`` / ``validate`` / ``test`` are LightningCLI on ``CompaClap`` and ``AudioTextDataModule``.
Commands are named as ``"module:function"`` strings: ``audiolang --help`` imports no torch.
"""

from __future__ import annotations

from collections.abc import Sequence

from contrastkit.train.app import App, run_app

APP = App(
    name="audiolang",
    module="audiolang.method:CompaClap",
    datamodule="audiolang.data.datamodule:AudioTextDataModule",
    demo="audiolang.demo:demo",
    evaluate="audiolang.use:evaluate",
    study="audiolang.study:study",
    embed="audiolang.use:embed",
    export="audiolang.use:export",
    use=("score", "audiolang.use:score"),
    commands={"build-benchmark": "audiolang.cli_build:build"},
    renamed={"--root": "--runs_root", "--epochs": "--max_epochs", "--finetune_epochs": "--max_epochs_finetune"},
)


def main(argv: Sequence[str] | None = None):
    """Console entry point (see :func:`contrastkit.train.app.run_app`)."""
    return run_app(APP, argv)
