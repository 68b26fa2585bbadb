"""An app is a registration: its model, data, use command and study; the commands are the core's.

Every app's ``cli.py`` is a few lines::

    APP = App(
        name="seqrec",
        module="seqrec.module:SeqRecModule",                # fit / validate / test (LightningCLI)
        datamodule="seqrec.data.datamodule:SeqRecDataModule",
        demo="seqrec.demo:demo",
        evaluate="seqrec.evaluate:evaluate",
        study="seqrec.study:study",
        embed="seqrec.use:embed",
        export="seqrec.use:export",
        use=("recommend", "seqrec.use:recommend"),
    )

    def main(argv=None):
        return run_app(APP, argv)

and :func:`run_app` gives every app the same commands (:data:`STANDARD_COMMANDS` plus its use
command and any ``extra`` ones) with the same flags (``--threads``, ``--resume``, ``--debug``,
``--runs_root``, ``--name``, ``--ckpt_path``; see docs/app-anatomy.md). Commands are named as
``"package.module:function"`` strings so that ``<app> --help`` imports no torch. An app whose
``fit`` is not one Lightning fit (slu's task sequence) registers its own typed ``fit`` command;
the flags stay the same.

Flags renamed in this release (``renamed``: old spelling -> new) are still accepted for one
release, with a notice naming the new spelling.

A command that scores or uses a checkpoint can start from the settings of the run that wrote it
(``run_settings``: ``{command: reader}``, the reader returning e.g. ``{"data": {...}}`` from the
run's ``config.yaml``): they are put first on the command line, so every flag given still wins
(:func:`with_run_settings`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from contrastkit.train.cli import Command, _load, rename_flags, run_cli

STANDARD_COMMANDS = ("demo", "fit", "validate", "test", "evaluate", "study", "embed", "export")
USE_COMMANDS = ("predict", "forecast", "recommend", "score")


@dataclass(frozen=True)
class App:
    """What an app registers (module docstring).

    Args:
        name: the console script and the folder under the runs root (``runs/<name>/...``).
        module: the LightningModule of ``fit``/``validate``/``test`` (LightningCLI), or None when
            the app registers those three itself in ``commands``.
        datamodule: its LightningDataModule.
        demo, evaluate, study, embed, export: the standard commands.
        use: ``(name, command)``, the trained model in use; the name is one of :data:`USE_COMMANDS`.
        commands: the app's own further commands (and its own fit/validate/test when ``module``
            is None), by name.
        renamed: old flag spellings still accepted, ``{"--old": "--new"}`` for every command, or
            ``{"<command> --old": "--new"}`` for one command (where one old spelling meant
            different things in different commands).
        run_settings: ``{command: reader}``; ``reader(ckpt_path)`` returns the settings of the run
            that wrote ``--ckpt_path`` as ``{section: JSON-able value}`` (a missing or unreadable
            run config raises FileNotFoundError or ValueError), see :func:`with_run_settings`.
    """

    name: str
    module: Command | type | None
    datamodule: Command | type | None
    demo: Command
    evaluate: Command
    study: Command
    embed: Command
    export: Command
    use: tuple[str, Command]
    commands: dict[str, Command] = field(default_factory=dict)
    renamed: dict[str, str] = field(default_factory=dict)
    run_settings: dict[str, Command] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.use[0] not in USE_COMMANDS:
            raise ValueError(f"app {self.name}: the use command must be one of {USE_COMMANDS}; got {self.use[0]!r}")
        own_lightning = [c for c in ("fit", "validate", "test") if c in self.commands]
        if self.module is None and len(own_lightning) != 3:
            raise ValueError(f"app {self.name}: without a LightningModule it must register fit, validate and test "
                             f"itself (has {own_lightning or 'none'})")

    def all_commands(self) -> dict[str, Command]:
        """Every command of the app but the LightningCLI ones, by name."""
        standard = {"demo": self.demo, "evaluate": self.evaluate, "study": self.study, "embed": self.embed,
                    "export": self.export, self.use[0]: self.use[1]}
        clash = set(standard) & set(self.commands)
        if clash:
            raise ValueError(f"app {self.name}: {sorted(clash)} are standard commands; register them by their field")
        return {**standard, **self.commands}


def renames_of(app: App, command: str) -> dict[str, str]:
    """The old spellings that apply to ``command``: the app-wide ones, and its own, which win."""
    out = {old: new for old, new in app.renamed.items() if " " not in old}
    out.update({old.split(" ", 1)[1]: new for old, new in app.renamed.items() if old.startswith(f"{command} ")})
    return out


def ckpt_path_of(args: Sequence[str]) -> str | None:
    """The value of ``--ckpt_path`` in ``args`` (``--ckpt_path P`` or ``--ckpt_path=P``), or None."""
    for i, arg in enumerate(args):
        if arg.startswith("--ckpt_path="):
            return arg.partition("=")[2]
        if arg == "--ckpt_path" and i + 1 < len(args):
            return args[i + 1]
    return None


def with_run_settings(app: App, args: list[str]) -> list[str]:
    """``args`` (``[command, flags...]``) with the settings of the run that wrote ``--ckpt_path``
    right after the command (``--<section> <JSON>`` each), when the app registers a reader for the
    command; the flags given come later, so they win. Unchanged, with a notice on stderr, when the
    run's settings cannot be read (the flags and their defaults then give them)."""
    reader = app.run_settings.get(args[0]) if args else None
    ckpt = ckpt_path_of(args)
    if reader is None or not ckpt or "--help" in args or "-h" in args:
        return args
    try:
        sections = _load(reader)(ckpt)
    except (FileNotFoundError, ValueError, TypeError) as error:
        print(f"{app.name} {args[0]}: the settings of the run that wrote {ckpt} are not readable ({error}); the "
              "flags and their defaults give them", file=sys.stderr)
        return args
    leading = [part for key, value in sections.items() for part in (f"--{key}", json.dumps(value))]
    return [args[0], *leading, *args[1:]]


def run_app(app: App, argv: Sequence[str] | None = None):
    """``<app> <command> ...`` for a registered app (see :func:`contrastkit.train.cli.run_cli`)."""
    args = sys.argv[1:] if argv is None else list(argv)
    args = with_run_settings(app, args[:1] + rename_flags(args[1:], renames_of(app, args[0] if args else ""), app.name))
    rewritten = args
    if argv is None:
        sys.argv[1:] = rewritten  # Lightning's DDP launcher starts the other ranks from sys.argv
        return run_cli(app.name, app.module, app.datamodule, app.all_commands())
    return run_cli(app.name, app.module, app.datamodule, app.all_commands(), rewritten)
