"""Print the third-party requirements of every workspace member, one per line (for pip -r).

The container image installs these in a layer of its own, built from the ``pyproject.toml``
files alone, so that a code change does not re-install torch; the members themselves are then
installed editable on top (``make setup``). Members' names (``contrastkit[train,eval]``) are
replaced by the extras they name.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAME = re.compile(r"^\s*([A-Za-z0-9_.-]+)(\[[^\]]*\])?")


def members() -> dict[str, dict]:
    """``{name: [project] table}`` of the root, packages/* and apps/*."""
    paths = [ROOT / "pyproject.toml", *sorted(ROOT.glob("packages/*/pyproject.toml")),
             *sorted(ROOT.glob("apps/*/pyproject.toml"))]
    projects = [tomllib.loads(p.read_text())["project"] for p in paths]
    return {p["name"]: p for p in projects}


def requirements() -> list[str]:
    """Every member's dependencies (and the root's ``dev`` extra), members expanded to their extras."""
    projects = members()
    wanted = [*projects["contrastkit-workspace"].get("optional-dependencies", {}).get("dev", [])]
    for name, project in projects.items():
        wanted += project.get("dependencies", [])
    out: list[str] = []
    while wanted:
        req = wanted.pop(0)
        match = NAME.match(req)
        name, extras = match.group(1), match.group(2)
        if name in projects:
            for extra in (extras or "[]").strip("[]").split(","):
                wanted += projects[name].get("optional-dependencies", {}).get(extra.strip(), []) if extra else []
            continue
        if req not in out:
            out.append(req)
    return out


if __name__ == "__main__":
    sys.stdout.write("\n".join(requirements()) + "\n")
