"""The console-script entry shared by the apps: LightningCLI subcommands plus the app's own."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

LIGHTNING_COMMANDS = ("fit", "validate", "test", "predict")


def _usage(app: str, commands: dict[str, Callable], lightning: bool) -> str:
    names = [*commands] + ([c for c in LIGHTNING_COMMANDS if c not in commands] if lightning else [])
    lines = [f"usage: {app} {{{','.join(names)}}} [--help] ...", ""]
    for name, fn in commands.items():
        doc = (fn.__doc__ or "").strip().splitlines()
        lines.append(f"  {name:<10} {doc[0] if doc else ''}")
    if lightning:
        for name in LIGHTNING_COMMANDS:
            if name not in commands:
                lines.append(f"  {name:<10} Lightning {name} (LightningCLI; --config YAML)")
    return "\n".join(lines)


def run_cli(
    app: str,
    module_class=None,
    datamodule_class=None,
    commands: dict[str, Callable] | None = None,
    argv: Sequence[str] | None = None,
):
    """Dispatch ``<app> <command> ...``.

    A name in ``commands`` runs that function through ``jsonargparse.CLI`` (its typed, defaulted
    parameters become the flags and its docstring the help). ``fit``, ``validate``, ``test`` and
    ``predict`` otherwise go to ``LightningCLI(module_class, datamodule_class)``, with runs under
    ``runs/<app>/`` (versioned by Lightning's logger, never overwritten).

    Returns the command's result when ``argv`` is given (tests, scripts), and None when it is
    read from ``sys.argv``: a console script passes ``main()``'s value to ``sys.exit``, where a
    returned dict of metrics would become exit status 1.
    """
    result = _dispatch(app, module_class, datamodule_class, dict(commands or {}),
                       sys.argv[1:] if argv is None else list(argv))
    return None if argv is None else result


def _dispatch(app, module_class, datamodule_class, commands, argv):
    lightning = module_class is not None
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage(app, commands, lightning))
        return None if argv else sys.exit(2)
    name, rest = argv[0], argv[1:]
    if name in commands:
        from jsonargparse import CLI

        return CLI(commands[name], args=rest, prog=f"{app} {name}")
    if lightning and name in LIGHTNING_COMMANDS:
        from lightning.pytorch.cli import LightningCLI

        return LightningCLI(
            module_class,
            datamodule_class,
            args=[name, *rest],
            trainer_defaults={"default_root_dir": f"runs/{app}"},
            save_config_kwargs={"overwrite": False},
        )
    print(f"{app}: unknown command {name!r}\n\n{_usage(app, commands, lightning)}", file=sys.stderr)
    sys.exit(2)
