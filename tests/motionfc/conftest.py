"""Shared fixtures of the motionfc tests."""

from __future__ import annotations

import pytest
from motionfc.paths import eth_ucy_root


@pytest.fixture(scope="session")
def eth_root():
    root = eth_ucy_root()
    if not (root / "all_data").is_dir():
        pytest.fail(f"ETH/UCY data not found at {root}: set CONTRASTKIT_DATA to the shared data folder")
    return root
