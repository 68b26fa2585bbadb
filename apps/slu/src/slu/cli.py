"""``slu <command>`` (console script), through ``contrastkit.train.run_cli``.

    slu demo                                                  # synthetic speech, no data needed
    slu synthesize --synthetic.kind fsc --out synth_fsc       # the synthetic set as WAVs
    slu prepare --data.dataset fsdd --data.n_tasks 5          # read, cache features, show the tasks
    slu fit --config apps/slu/configs/fsdd_fit.yaml --method.name coconut
    slu study --config apps/slu/configs/fsdd.yaml --methods '[finetune, er, coconut]' --seeds '[0, 1, 2]'
    slu evaluate --ckpt_path runs/slu/fsdd_fit/version_0/checkpoints/task_4.ckpt --data.dataset fsdd --data.n_tasks 5
    slu embed --ckpt_path runs/slu/fsdd_fit/version_0/checkpoints/task_4.ckpt --audio '[a.wav, b.wav]'
    slu predict --ckpt_path runs/slu/fsdd_fit/version_0/checkpoints/task_4.ckpt --audio '[a.wav]'

Commands are imported only when run, so ``slu --help`` loads no torch.
"""

from __future__ import annotations

from collections.abc import Sequence

COMMANDS = {
    "demo": "slu.demo:demo",
    "prepare": "slu.prepare:prepare",
    "synthesize": "slu.prepare:synthesize",
    "fit": "slu.study:fit",
    "study": "slu.study:study",
    "evaluate": "slu.evaluate_cli:evaluate",
    "embed": "slu.use:embed",
    "predict": "slu.use:predict",
}


def main(argv: Sequence[str] | None = None):
    """Console entry point (see :func:`contrastkit.train.run_cli`)."""
    from contrastkit.train.cli import run_cli

    return run_cli("slu", commands=COMMANDS, argv=argv)


if __name__ == "__main__":
    main()
