"""Every app command shown in a README, in docs/ or in a config's comments parses.

Each command line is run in-process with ``--print_config`` appended: jsonargparse (and
LightningCLI) then parse and type-check every flag and ``--config`` file, print the resolved
configuration and exit 0, without training anything. A command whose flags or config do not
exist fails here before a user copies it.
"""

from __future__ import annotations

import importlib
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = sorted(p.parent.name for p in (ROOT / "apps").glob("*/pyproject.toml"))
FENCE = re.compile(r"```(?:bash|sh|console)?\n(.*?)```", re.DOTALL)
# commands that do not take --print_config (they print help or act on nothing)
NOT_PARSED = {"--help", "-h"}


def _doc_files() -> list[Path]:
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for app in APPS:
        files += [ROOT / "apps" / app / "README.md", *sorted((ROOT / "apps" / app / "configs").glob("*.yaml"))]
    return [f for f in files if f.is_file()]


def _lines(path: Path) -> list[str]:
    text = path.read_text()
    if path.suffix == ".yaml":  # commands in comments: "#   seqrec fit --config ...   (what it does)"
        candidates = [re.split(r"\s{2,}", line.lstrip("#").strip())[0]
                      for line in text.splitlines() if line.lstrip().startswith("#")]
    else:
        candidates = [line.strip() for block in FENCE.findall(text) for line in block.splitlines()]
    out, pending = [], ""
    for line in candidates:
        line = pending + line
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        out.append(line.split(" #")[0].strip())
    return out


def documented_commands() -> list[tuple[str, str, list[str]]]:
    """``(where, app, argv)`` for every documented line that runs an app's console script."""
    found = []
    for path in _doc_files():
        for line in _lines(path):
            try:
                words = shlex.split(line, comments=True) if line else []
            except ValueError:  # not shell (prose or code in an untagged block): a plain split
                words = line.split()
            while words and ("=" in words[0] and not words[0].startswith("-")):  # VAR=value prefixes
                words = words[1:]
            if words and Path(words[0]).name in APPS and len(words) > 1 and not NOT_PARSED & set(words):
                found.append((f"{path.relative_to(ROOT)}: {line}", Path(words[0]).name, words[1:]))
    return found


COMMANDS = documented_commands()


def test_the_docs_show_commands_of_every_app():
    shown = {app for _, app, _ in COMMANDS}
    assert shown == set(APPS), f"apps whose docs show no command: {set(APPS) - shown}"


@pytest.mark.parametrize(("where", "app", "argv"), COMMANDS, ids=[c[0][:90] for c in COMMANDS])
def test_documented_command_parses(where, app, argv, monkeypatch):
    monkeypatch.chdir(ROOT)
    main = importlib.import_module(f"{app}.cli").main
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--print_config"])
    assert exit_info.value.code in (0, None), f"{where}\n  exited with {exit_info.value.code}"
