"""``audiolang <command>`` (console script), through ``contrastkit.train.run_cli``.

    audiolang demo
    audiolang build-benchmark --kind order --n 200 --clips.sources '[esc10, fsdd]'
    audiolang fit --model.stage 3 --data.clips.sources '[esc10, fsdd]' --trainer.max_epochs 5
    audiolang evaluate --ckpt_path runs/audiolang/fit/version_0/checkpoints/last.ckpt --benchmark BENCH.csv
    audiolang study --seeds '[0, 1]' --clips.sources '[esc10, fsdd]'
    audiolang embed --ckpt_path CKPT --out emb --audio '[a.wav, b.wav]'
    audiolang score --ckpt_path CKPT --audio '[a.wav]' --caption 'a dog barks, then a clock ticks'
    audiolang score --ckpt_path CKPT --audio '[a.wav, b.wav]' --captions_file captions.txt

Commands are named as ``"module:function"`` strings: ``audiolang --help`` imports no torch.
"""

from __future__ import annotations

from contrastkit.train.cli import run_cli

COMMANDS = {
    "demo": "audiolang.demo:demo",
    "build-benchmark": "audiolang.cli_build:build",
    "evaluate": "audiolang.use:evaluate",
    "study": "audiolang.study:study",
    "embed": "audiolang.use:embed",
    "score": "audiolang.use:score",
}


def main(argv: list[str] | None = None):
    """Console entry point (see :func:`contrastkit.train.run_cli`)."""
    return run_cli("audiolang", "audiolang.method:CompaClap", "audiolang.data.datamodule:AudioTextDataModule",
                   COMMANDS, argv)
