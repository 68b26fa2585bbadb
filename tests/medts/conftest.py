"""Shared fixtures: the real data root (a clear failure when it is missing)."""

from pathlib import Path

import pytest
from contrastkit.paths import data_root


@pytest.fixture(scope="session")
def real_data() -> Path:
    root = data_root()
    if not (root / "eeg_smni").exists():
        pytest.fail(f"real data not found at {root}; set CONTRASTKIT_DATA to the shared data folder")
    return root
