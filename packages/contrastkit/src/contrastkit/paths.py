"""Where the real data subsets live: ``$CONTRASTKIT_DATA``, else ``<repo>/../shared/data``."""

from __future__ import annotations

import os
from pathlib import Path


def data_root() -> Path:
    """Root of the real data subsets (see ``../shared/data/README.md``).

    ``CONTRASTKIT_DATA`` overrides the default, which is the ``shared/data`` folder beside the
    repository that holds this (editable) package.
    """
    env = os.environ.get("CONTRASTKIT_DATA")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[4]
    return repo.parent / "shared" / "data"


def resolve(path: str | Path) -> Path:
    """Expand ``$CONTRASTKIT_DATA`` / ``${CONTRASTKIT_DATA}`` and ``~`` in a configured path."""
    root = str(data_root())
    text = str(path).replace("${CONTRASTKIT_DATA}", root).replace("$CONTRASTKIT_DATA", root)
    return Path(os.path.expanduser(text))
