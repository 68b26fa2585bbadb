"""Shared fixtures of the seqrec tests: the real ``seqrec_5core`` folder and small synthetic data."""

from __future__ import annotations

import pytest
import torch

from seqrec.data import data_root


@pytest.fixture(scope="session")
def real_dir():
    path = data_root() / "seqrec_5core"
    if not path.is_dir():
        pytest.fail(f"real data folder {path} missing: set CONTRASTKIT_DATA (realdata tests need it)")
    return path


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)
    torch.manual_seed(0)
