"""Where the real data lives: ``$CONTRASTKIT_DATA``, else ``<repo>/../shared/data``."""

from __future__ import annotations

import os
from pathlib import Path


def data_root() -> Path:
    """Root of the real data subsets (see ``../shared/data/README.md``)."""
    env = os.environ.get("CONTRASTKIT_DATA")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[4]
    return repo.parent / "shared" / "data"


def resolve(path: str | Path) -> Path:
    """Expand ``${CONTRASTKIT_DATA}`` / ``~`` in a config path; relative paths stay relative."""
    text = str(path).replace("${CONTRASTKIT_DATA}", str(data_root())).replace("$CONTRASTKIT_DATA", str(data_root()))
    return Path(os.path.expanduser(text))
