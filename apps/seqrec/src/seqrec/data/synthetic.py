"""Synthetic interaction sequences for the embedded default (no real data needed).

Each item belongs to one of ``num_topics`` topics; within a topic the items form a fixed
chain (a sequential pattern: item ``a`` is usually followed by its successor ``next(a)``).
Each user has latent tastes, a sparse Dirichlet mixture over topics. A sequence starts at a
topic drawn from the user's tastes; each next item is, with probability ``p_follow``, the
successor of the current item, otherwise a fresh draw: a topic from the tastes and an item in
it by Zipf popularity. A popularity ranking only sees the Zipf marginals; a sequential model
can learn both the chains and the tastes, so it beats popularity by a wide margin.
"""

from __future__ import annotations

import numpy as np

from seqrec.data.sequences import SequenceData


def make_synthetic(
    num_users: int = 2000,
    num_items: int = 500,
    num_topics: int = 20,
    min_len: int = 5,
    max_len: int = 30,
    mean_len: float = 12.0,
    p_follow: float = 0.6,
    taste_concentration: float = 0.1,
    zipf: float = 1.1,
    seed: int = 0,
) -> SequenceData:
    """Generate ``num_users`` sequences over items ``1..num_items`` (see module docstring).

    Lengths are ``min_len + Poisson(mean_len - min_len)`` clipped to ``max_len``.
    """
    if num_items < num_topics or num_topics < 1:
        raise ValueError(f"need num_items >= num_topics >= 1; got {num_items}, {num_topics}")
    if not 3 <= min_len <= max_len:
        raise ValueError(f"need 3 <= min_len <= max_len; got {min_len}, {max_len}")
    if not 0.0 <= p_follow <= 1.0:
        raise ValueError(f"p_follow must be in [0, 1]; got {p_follow}")
    rng = np.random.default_rng(seed)
    items = rng.permutation(num_items) + 1
    topics = np.array_split(items, num_topics)  # each topic's chain order
    successor = np.zeros(num_items + 1, dtype=np.int64)
    topic_of = np.zeros(num_items + 1, dtype=np.int64)
    popularity = []
    for k, chain in enumerate(topics):
        successor[chain] = np.roll(chain, -1)
        topic_of[chain] = k
        w = 1.0 / np.arange(1, len(chain) + 1) ** zipf
        popularity.append(w / w.sum())
    seqs, users = [], []
    for u in range(num_users):
        tastes = rng.dirichlet(np.full(num_topics, taste_concentration))
        n = int(np.clip(min_len + rng.poisson(max(mean_len - min_len, 0.0)), min_len, max_len))
        seq = np.empty(n, dtype=np.int64)
        for t in range(n):
            if t > 0 and rng.random() < p_follow:
                seq[t] = successor[seq[t - 1]]
            else:
                k = rng.choice(num_topics, p=tastes)
                seq[t] = rng.choice(topics[k], p=popularity[k])
        seqs.append(seq)
        users.append(u + 1)
    return SequenceData(seqs, np.asarray(users, dtype=np.int64), num_items, f"synthetic(seed={seed})")
