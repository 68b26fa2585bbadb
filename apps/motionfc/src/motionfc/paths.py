"""Where motionfc's real data lives, below the shared root of :func:`contrastkit.paths.data_root`."""

from __future__ import annotations

from pathlib import Path

from contrastkit.paths import data_root


def eth_ucy_root() -> Path:
    """``<data_root>/eth_ucy/raw`` (folders ``all_data``, ``train``, ``val``)."""
    return data_root() / "eth_ucy" / "raw"
