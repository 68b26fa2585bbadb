"""Every ``seqrec`` command that the app's README, configs and cli docstring show parses: its
config files exist and every option is accepted (run with ``--print_config``, which stops after
parsing), so that no documented command fails on a wrong name or a missing file."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import seqrec.cli
from seqrec.cli import main

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "apps" / "seqrec"


def _commands() -> list[str]:
    texts = [(APP / "README.md").read_text(), seqrec.cli.__doc__ or ""]
    texts += [p.read_text() for p in sorted((APP / "configs").glob("*.yaml"))]
    found = []
    for text in texts:
        fenced = [line for block in re.findall(r"```\n(.*?)```", text, flags=re.DOTALL) for line in block.splitlines()]
        inline = [" ".join(m.split()) for m in re.findall(r"`(seqrec [^`]+)`", text)]
        docstring = [line.strip() for line in text.splitlines() if line.startswith("    seqrec ")]
        for line in fenced + inline + docstring:
            line = line.split("#")[0].strip()
            if line.startswith("seqrec ") and "|" not in line:
                found.append(line)
    return sorted(set(found))


COMMANDS = _commands()


def test_the_docs_show_commands():
    assert {c.split()[1] for c in COMMANDS} >= {"demo", "fit", "test", "evaluate", "study", "embed", "recommend", "export"}


@pytest.mark.parametrize("command", COMMANDS)
def test_documented_command_parses(command, monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    args = shlex.split(command)[1:]
    for i, arg in enumerate(args[:-1]):
        if arg == "--config":
            assert (REPO / args[i + 1]).is_file(), f"{command}: {args[i + 1]} does not exist"
    with pytest.raises(SystemExit) as stop:
        main([*args, "--print_config"])
    assert stop.value.code in (0, None), capsys.readouterr().err
