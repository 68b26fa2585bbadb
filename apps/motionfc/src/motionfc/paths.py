"""Where the real data lives: ``$CONTRASTKIT_DATA`` or ``<repo>/../shared/data``."""

from __future__ import annotations

import os
from pathlib import Path


def data_root() -> Path:
    """Root of the shared real-data folder (``CONTRASTKIT_DATA`` overrides the default)."""
    env = os.environ.get("CONTRASTKIT_DATA")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[4]
    return repo.parent / "shared" / "data"


def eth_ucy_root() -> Path:
    """``<data_root>/eth_ucy/raw`` (folders ``all_data``, ``train``, ``val``)."""
    return data_root() / "eth_ucy" / "raw"
