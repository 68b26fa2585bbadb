"""``<app> fit | validate | test`` through LightningCLI, written like every other command's run.

LightningCLI parses the app's LightningModule and DataModule arguments (``--model.*``,
``--data.*``, ``--trainer.*``, ``--config``); :class:`ContrastKitCLI` adds ``--name``, ``--runs_root``,
``--resume`` and ``--ckpt_path``, and builds the Trainer with :func:`trainer_conventions`, so
that the run lands in ``<root>/<app>/<name>/version_K/`` with ``config.yaml``,
``checkpoints/last.ckpt``, ``metrics.json``, logs and ``plots/loss.png``, and resumes by the
same rule as every other command.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import yaml
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from contrastkit.train.checkpoint import check_lightning_checkpoint
from contrastkit.train.plots import plot_loss_curves
from contrastkit.train.rundir import (
    RESUME_MAY_DIFFER,
    announce_run,
    checkpoints_of,
    failure_marked,
    open_run,
    write_metrics,
)
from contrastkit.train.trainer import last_checkpoint, quiet_lightning, trainer_conventions

# the defaults of make_trainer, where they differ from Lightning's (overridable with --trainer.*);
# the seed defaults to 0, not to a random one: a resumed run must find the seed it started with
TRAINER_DEFAULTS = {"accelerator": "auto", "devices": 1, "log_every_n_steps": 1, "enable_model_summary": False}


class ContrastKitCLI(LightningCLI):
    """LightningCLI parsing one command's arguments (``run=False``); the command itself is run by
    :func:`run_lightning_command`."""

    def __init__(self, *args: Any, app: str, command: str, **kwargs: Any) -> None:
        self.app, self.command = app, command
        self.run_dir: Path | None = None
        super().__init__(*args, **kwargs)

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_argument("--name", type=str, default=self.command,
                            help="run name: the run is written to <root>/<app>/<name>/version_K")
        parser.add_argument("--runs_root", type=str, default="runs", help="the runs folder")
        parser.add_argument("--resume", type=bool, default=False,
                            help="continue the newest run of this name that has a checkpoint")
        parser.add_argument("--ckpt_path", type=str | None, default=None,
                            help="a checkpoint to start from (fit) or to evaluate (validate, test)")

    def instantiate_trainer(self, **kwargs: Any):
        settings = self.config
        if settings.ckpt_path:  # before the run folder is opened: a refused file leaves nothing behind
            check_lightning_checkpoint(settings.ckpt_path, self.model)
        config = yaml.safe_load(self.parser.dump(settings, skip_none=False, skip_check=True))
        self.run_dir = open_run(settings.runs_root, self.app, settings.name, config, resume=settings.resume,
                                may_differ=RESUME_MAY_DIFFER)
        trainer = dict(self.config_init.get("trainer") or {})
        conventions = trainer_conventions(self.run_dir, progress=trainer.get("enable_progress_bar", True) is not False)
        user_callbacks = trainer.get("callbacks") or []
        kwargs.update(
            default_root_dir=str(self.run_dir),
            logger=conventions["logger"],
            callbacks=[*(user_callbacks if isinstance(user_callbacks, list) else [user_callbacks]),
                       *conventions["callbacks"]],
            plugins=conventions["plugins"],
        )
        with failure_marked(self.run_dir):  # e.g. --trainer.accelerator gpu on a machine without one
            return super().instantiate_trainer(**kwargs)


def run_lightning_command(app: str, command: str, module_class: type, datamodule_class: type | None,
                          args: list[str]) -> ContrastKitCLI:
    """Parse ``args`` for ``command`` (fit, validate or test), run it in its run directory, write
    ``metrics.json`` and the loss plot, and print where they are; returns the CLI object."""
    quiet_lightning()
    # The arguments are always passed explicitly (run_cli removed --threads and rewrote --resume),
    # and sys.argv is left whole: Lightning's DDP launcher starts ranks 1..N-1 by running sys.argv
    # again, command word included. LightningCLI's warning about having both is then expected.
    warnings.filterwarnings("ignore", message=r"LightningCLI's args parameter is intended")
    cli = ContrastKitCLI(module_class, datamodule_class, args=args, run=False, app=app, command=command,
                         save_config_callback=None, parser_kwargs={"prog": f"{app} {command}"},
                         trainer_defaults=TRAINER_DEFAULTS, seed_everything_default=0)
    run_dir = cli.run_dir
    with failure_marked(run_dir):
        ckpt = cli.config.ckpt_path
        if command == "fit" and cli.config.resume:
            ckpt = str(last_checkpoint(run_dir) or checkpoints_of(run_dir)[0])
        if ckpt and cli.config.resume:
            check_lightning_checkpoint(ckpt, cli.model)  # the run's own: empty or truncated, named
        result = getattr(cli.trainer, command)(cli.model, datamodule=cli.datamodule, ckpt_path=ckpt)
        metrics = {k: float(v) for k, v in cli.trainer.callback_metrics.items() if v.numel() == 1}
        metrics.update(command=command, epochs_run=cli.trainer.current_epoch, checkpoint=ckpt,
                       last_checkpoint=str(last_checkpoint(run_dir)) if last_checkpoint(run_dir) else None)
        write_metrics(run_dir, metrics)
        if command == "fit":
            try:
                plot_loss_curves(run_dir)
            except (FileNotFoundError, ValueError):
                pass  # nothing with "loss" in its name was logged: no curve to draw
    announce_run(run_dir)
    cli.result = result
    return cli
