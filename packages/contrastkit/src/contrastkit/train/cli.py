"""The console-script entry shared by the apps: the app's own commands plus Lightning's.

``<app> <command> [--threads N] [--resume] ...``

- A command named in ``commands`` is a typed function (or ``"package.module:function"``, imported
  only when run) called through ``jsonargparse.CLI``: its parameters are the flags, its docstring
  the help.
- ``fit``, ``validate`` and ``test`` otherwise go to :class:`ContrastKitCLI` (LightningCLI on the
  app's LightningModule and DataModule) with the same run convention as every other command:
  ``<root>/<app>/<name>/version_K/`` with ``config.yaml``, ``checkpoints/last.ckpt``,
  ``metrics.json``, CSV/TensorBoard logs and ``plots/loss.png``.
- Three flags mean the same in every command of every app: ``--threads N`` (the thread policy of
  :mod:`contrastkit.train.threads`), ``--resume`` (continue the newest run of that name that has
  a checkpoint; :mod:`contrastkit.train.rundir`) and ``--debug`` (show the traceback of an error).
- From the console, an expected error (bad data, a bad config value, a refused checkpoint or
  resume: ``ValueError``, ``OSError``, ``ResumeError``, a non-finite loss) prints one line
  ``<app> <command>: error: <message>`` and exits with status 2; Ctrl-C prints what ``--resume``
  will do and exits with status 130. ``--debug`` (or ``CONTRASTKIT_DEBUG=1``) shows the traceback.
  Any other exception is a bug and keeps its traceback.

``<app> --help`` imports nothing heavy: it reads the commands' first docstring lines from their
source files.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from contrastkit.train.rundir import RESUME_MAY_DIFFER, interrupted_message

LIGHTNING_COMMANDS = ("fit", "validate", "test")
__all__ = ["RESUME_MAY_DIFFER", "expected_error", "interrupted_message", "run_cli"]

Command = Callable[..., Any] | str


def _load(target: Command | type | None):
    """A callable or class, or the object a ``"package.module:name"`` string names."""
    if not isinstance(target, str):
        return target
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def _summary(target: Command) -> str:
    """The first docstring line of a command, read from its source when given as a string."""
    if not isinstance(target, str):
        doc = (target.__doc__ or "").strip().splitlines()
        return doc[0] if doc else ""
    module, _, name = target.partition(":")
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        return ""
    tree = ast.parse(Path(spec.origin).read_text())
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
            doc = (ast.get_docstring(node) or "").strip().splitlines()
            return doc[0] if doc else ""
    return ""


def _usage(app: str, commands: dict[str, Command], lightning: bool) -> str:
    names = [*commands] + ([c for c in LIGHTNING_COMMANDS if c not in commands] if lightning else [])
    lines = [f"usage: {app} {{{','.join(names)}}} [--threads N] [--resume] [--help] ...", ""]
    for name, target in commands.items():
        lines.append(f"  {name:<10} {_summary(target)}")
    if lightning:
        for name in LIGHTNING_COMMANDS:
            if name not in commands:
                lines.append(f"  {name:<10} Lightning {name} of the app's model (--config YAML, --trainer.*, --model.*)")
    lines += ["", "  --threads N  CPU threads for torch (default: the cores this process may use)",
              "  --resume     continue the newest run of the same name that has a checkpoint",
              "  --debug      show the full traceback of an error"]
    return "\n".join(lines)


def _take_threads(argv: list[str]) -> tuple[list[str], int | None]:
    """``argv`` without ``--threads N`` / ``--threads=N``, and N (None when absent)."""
    rest, threads, i = [], None, 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--threads" or arg.startswith("--threads="):
            value = arg.split("=", 1)[1] if "=" in arg else (argv[i + 1] if i + 1 < len(argv) else "")
            i += 1 if "=" in arg else 2
            try:
                threads = int(value)
            except ValueError:
                raise SystemExit(f"--threads must be a positive integer; got {value!r}") from None
            continue
        rest.append(arg)
        i += 1
    return rest, threads


EXIT_ERROR = 2  # an expected error, explained in one line
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, the shell's convention)


def expected_error(error: BaseException) -> bool:
    """True for the errors a user can act on (bad input, configuration, checkpoint, resume, a
    diverged loss), which are reported in one line; anything else is a bug, with its traceback."""
    if isinstance(error, (ValueError, OSError, FloatingPointError)):
        return True
    # by name: importing their modules here would load Lightning for every command's --help
    return any(cls.__name__ in ("ResumeError", "MisconfigurationException") for cls in type(error).__mro__)


def _take_debug(argv: list[str]) -> tuple[list[str], bool]:
    rest = [a for a in argv if a != "--debug"]
    return rest, len(rest) != len(argv) or os.environ.get("CONTRASTKIT_DEBUG", "") not in ("", "0")


def rename_flags(argv: Sequence[str], renamed: dict[str, str], prog: str) -> list[str]:
    """``argv`` with old flag spellings replaced by the new ones (``--old v`` and ``--old=v``), and
    a notice on stderr for each."""
    out = []
    for arg in argv:
        flag, eq, value = arg.partition("=")
        if flag in renamed:
            print(f"{prog}: {flag} is now {renamed[flag]} (the old spelling goes in the next release)",
                  file=sys.stderr, flush=True)
            arg = renamed[flag] + eq + value
        out.append(arg)
    return out


def _bare_resume(argv: list[str]) -> list[str]:
    """``--resume`` alone means ``--resume=true`` (jsonargparse wants a value)."""
    out = []
    for i, arg in enumerate(argv):
        nxt = argv[i + 1] if i + 1 < len(argv) else None
        takes_value = nxt is not None and nxt.lower() in ("true", "false", "1", "0", "yes", "no")
        out.append("--resume=true" if arg == "--resume" and not takes_value else arg)
    return out


def run_cli(
    app: str,
    module_class: type | str | None = None,
    datamodule_class: type | str | None = None,
    commands: dict[str, Command] | None = None,
    argv: Sequence[str] | None = None,
):
    """Dispatch ``<app> <command> ...`` (see the module docstring).

    Returns the command's result when ``argv`` is given (tests, scripts), and None when it is
    read from ``sys.argv``: a console script passes ``main()``'s value to ``sys.exit``, where a
    returned dict of metrics would become exit status 1.
    """
    if argv is not None:
        return _dispatch(app, module_class, datamodule_class, dict(commands or {}), _take_debug(list(argv))[0])
    args, debug = _take_debug(sys.argv[1:])
    command = f"{app} {args[0]}" if args and not args[0].startswith("-") else app
    try:
        _dispatch(app, module_class, datamodule_class, dict(commands or {}), args)
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"\n{command}: {interrupted_message()}", file=sys.stderr, flush=True)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as error:
        if debug or not expected_error(error):
            raise
        message = str(error) or type(error).__name__
        print(f"{command}: error: {message}\n(--debug shows the traceback)", file=sys.stderr, flush=True)
        sys.exit(EXIT_ERROR)
    return None


def _dispatch(app, module_class, datamodule_class, commands, argv):
    lightning = module_class is not None
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage(app, commands, lightning))
        return None if argv else sys.exit(2)
    name, (rest, threads) = argv[0], _take_threads(argv[1:])
    rest = _bare_resume(rest)
    runs_something = name in commands or (lightning and name in LIGHTNING_COMMANDS)
    if runs_something and not any(a in ("-h", "--help") for a in rest):
        from contrastkit.train.threads import set_threads

        set_threads(threads)
    if name in commands:
        from jsonargparse import CLI

        # no abbreviations: a flag of an older version (--captions) must not silently mean a
        # longer one that happens to start with it (--captions_file)
        return CLI(_load(commands[name]), args=rest, prog=f"{app} {name}", allow_abbrev=False)
    if lightning and name in LIGHTNING_COMMANDS:
        from contrastkit.train.lightning_cli import run_lightning_command

        rest = rename_flags(rest, {"--root": "--runs_root"}, f"{app} {name}")  # the runs folder's old name
        return run_lightning_command(app, name, _load(module_class), _load(datamodule_class), rest)
    print(f"{app}: unknown command {name!r}\n\n{_usage(app, commands, lightning)}", file=sys.stderr)
    sys.exit(2)
