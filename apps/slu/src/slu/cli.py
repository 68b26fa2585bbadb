"""``slu <command>`` (console script): the app's registration (``contrastkit.train.app.App``).

    slu demo                                                  # synthetic speech, no data needed
    slu synthesize --synthetic.kind fsc --wavs true           # the synthetic set as WAVs, in a run folder
    slu prepare --data.dataset fsdd --data.n_tasks 5          # read, cache features, show the tasks
    slu fit --config apps/slu/configs/fsdd_fit.yaml --method.name coconut
    slu validate --ckpt_path runs/slu/fsdd_fit/version_0/checkpoints/task_4.ckpt
    slu test --ckpt_path runs/slu/fsdd_fit/version_0/checkpoints/task_4.ckpt
    slu study --config apps/slu/configs/fsdd.yaml --methods '[finetune, er, coconut]' --seeds '[0, 1, 2]'
    slu evaluate --ckpt_path runs/slu/fsdd_fit/version_0/checkpoints/task_4.ckpt --data.dataset fsdd --data.n_tasks 5
    slu embed --ckpt_path runs/slu/fsdd_fit/version_0/checkpoints/task_4.ckpt --audio '[a.wav, b.wav]'
    slu predict --ckpt_path runs/slu/fsdd_fit/version_0/checkpoints/task_4.ckpt --audio '[a.wav]'
    slu export --ckpt_path runs/slu/fsdd_fit/version_0/checkpoints/task_4.ckpt

``fit`` is a sequence of Lightning fits (one per task), so the app registers its own ``fit``,
``validate`` and ``test``. Commands are imported only when run, so ``slu --help`` loads no torch.
``evaluate`` starts from the data settings of the run that wrote ``--ckpt_path`` (its
``config.yaml``, registered as ``run_settings``): they go first on the command line, so every
``--data.*`` flag or ``--config`` given changes them.
"""

from __future__ import annotations

from collections.abc import Sequence

from contrastkit.train.app import App, run_app

APP = App(
    name="slu",
    module=None,  # fit is a task sequence: its own fit / validate / test below
    datamodule=None,
    demo="slu.demo:demo",
    evaluate="slu.evaluate_cli:evaluate",
    study="slu.study:study",
    embed="slu.use:embed",
    export="slu.use:export",
    use=("predict", "slu.use:predict"),
    commands={
        "fit": "slu.study:fit",
        "validate": "slu.evaluate_cli:validate",
        "test": "slu.evaluate_cli:test",
        "prepare": "slu.prepare:prepare",
        "synthesize": "slu.prepare:synthesize",
    },
    renamed={"--root": "--runs_root", "--epochs": "--max_epochs", "--train.epochs": "--train.max_epochs",
             "--data.root": "--data.data_root"},
    run_settings={"evaluate": "slu.evaluate_cli:run_settings"},
)


def main(argv: Sequence[str] | None = None):
    """Console entry point (see :func:`contrastkit.train.app.run_app`)."""
    return run_app(APP, argv)


if __name__ == "__main__":
    main()
