"""The synthetic generator: determinism, id range, and a sequential signal popularity misses."""

from __future__ import annotations

import numpy as np
import pytest
from seqrec.data import leave_one_out, make_synthetic


def test_deterministic_and_in_range():
    a, b = make_synthetic(200, 100, 10, seed=3), make_synthetic(200, 100, 10, seed=3)
    assert all(np.array_equal(x, y) for x, y in zip(a.sequences, b.sequences))
    s = a.stats()
    assert s.users == 200 and 1 <= min(x.min() for x in a.sequences) and s.max_item_id == 100
    assert 5 <= s.avg_len <= 30


def test_bigram_model_beats_popularity():
    data = make_synthetic(1500, 300, 15, seed=1)
    split = leave_one_out(data)
    n = data.num_items
    bigram = np.zeros((n + 1, n + 1))
    for s in split.train_sequences:
        np.add.at(bigram, (s[:-1], s[1:]), 1)
    popularity = np.bincount(np.concatenate(split.train_sequences), minlength=n + 1)
    last = split.test.inputs[np.arange(len(data.sequences)), split.test.lengths - 1].numpy()
    targets = split.test.targets.numpy()

    def hr10(scores):
        scores = scores.astype(float).copy()
        scores[:, 0] = -np.inf
        top = np.argsort(-scores, 1)[:, :10]
        return (top == targets[:, None]).any(1).mean()

    pop = hr10(np.tile(popularity, (len(targets), 1)))
    seq = hr10(bigram[last] + 1e-6 * popularity)
    assert seq > 3 * pop and seq > 0.3


def test_bad_arguments():
    with pytest.raises(ValueError, match="p_follow"):
        make_synthetic(p_follow=1.5)
