"""Shared fixtures of the slu tests: the real FSDD and Picovoice folders, a tiny synthetic set,
a tiny model, and a writer of small WAV files."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from contrastkit.paths import data_root


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)
    torch.manual_seed(0)


def _real(name: str) -> Path:
    path = data_root() / name
    if not path.is_dir():
        pytest.fail(f"real data folder {path} missing: set CONTRASTKIT_DATA to the shared data folder")
    return path


@pytest.fixture(scope="session")
def fsdd_dir() -> Path:
    return _real("fsdd")


@pytest.fixture(scope="session")
def picovoice_dir() -> Path:
    return _real("picovoice_coffee")


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("slu_cache")


@pytest.fixture(scope="session")
def tiny_data_config(cache_dir):
    """4 FSC intents, 2 phrasings, 3 train + 1 test pseudo-speakers (32 clips), 2 tasks."""
    from slu.data.datamodule import DataConfig
    from slu.data.synthetic import SyntheticConfig

    return DataConfig(dataset="synthetic_fsc", n_tasks=2, batch_size=8, vocab_size=40, cache_dir=str(cache_dir),
                      synthetic=SyntheticConfig(train_speakers=3, test_speakers=1, phrasings=2, max_classes=4))


@pytest.fixture(scope="session")
def tiny_data(tiny_data_config):
    from slu.data.datamodule import prepare_data

    return prepare_data(tiny_data_config)


@pytest.fixture(scope="session")
def tiny_model_config():
    from slu.continual import ModelConfig

    return ModelConfig(d_model=32, encoder_layers=1, decoder_layers=1, heads=2, ff=64, proj_dim=16)
