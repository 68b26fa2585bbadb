"""contrastkit.train.embeddings: the one embed format (.npy + .ids.json)."""

from __future__ import annotations

import numpy as np
import pytest
from contrastkit.train.embeddings import read_embeddings, write_embeddings


def test_round_trip_keeps_rows_and_ids_in_order(tmp_path):
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    npy, ids = write_embeddings(tmp_path, x, ["a.wav", "b.wav", "c.wav", "d.wav"], model="m.ckpt")
    assert npy.name == "embeddings.npy" and ids.name == "embeddings.ids.json"
    back, back_ids = read_embeddings(npy)
    np.testing.assert_array_equal(back, x)
    assert back_ids == ["a.wav", "b.wav", "c.wav", "d.wav"]


def test_a_non_finite_row_names_its_id_and_writes_nothing(tmp_path):
    x = np.ones((3, 2), dtype=np.float32)
    x[1, 0] = np.nan
    with pytest.raises(ValueError, match=r"1 of 3 embeddings are not finite .* for user_7; the model m\.ckpt"):
        write_embeddings(tmp_path, x, ["user_3", "user_7", "user_9"], model="m.ckpt")
    assert list(tmp_path.iterdir()) == []


def test_ids_must_match_the_rows(tmp_path):
    with pytest.raises(ValueError, match="2 ids for 3 embeddings"):
        write_embeddings(tmp_path, np.zeros((3, 2)), ["a", "b"])
