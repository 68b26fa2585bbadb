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

import inspect
from typing import Any

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
    _check_consistent(num_items, num_topics, min_len, max_len, p_follow)
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


def _check_consistent(num_items: int, num_topics: int, min_len: int, max_len: int, p_follow: float,
                      prefix: str = "") -> None:
    """The settings that must agree with each other; errors name them as ``<prefix><name>``."""
    def n(name: str) -> str:
        return prefix + name

    if not 1 <= num_topics <= num_items:
        raise ValueError(f"{n('num_topics')} ({num_topics}) must be between 1 and {n('num_items')} ({num_items}): "
                         "each topic holds at least one item")
    if not 3 <= min_len <= max_len:
        raise ValueError(f"{n('min_len')} ({min_len}) must be at least 3 and at most {n('max_len')} ({max_len})")
    if not 0.0 <= p_follow <= 1.0:
        raise ValueError(f"{n('p_follow')} must be in [0, 1]; got {p_follow}")


def synthetic_settings(settings: dict[str, Any] | None, prefix: str = "data.synthetic.") -> dict[str, Any]:
    """``settings`` (keyword arguments of :func:`make_synthetic`) checked before anything is generated:
    every name is one of its arguments, a whole number where it takes an ``int`` (``4.0`` becomes
    ``4``), and the settings agree with each other. Errors name the field as ``<prefix><name>``."""
    params = inspect.signature(make_synthetic).parameters
    out: dict[str, Any] = {}
    for name, value in (settings or {}).items():
        if name not in params:
            raise ValueError(f"{prefix}{name}: not a setting of the synthetic data (known: {', '.join(params)})")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{prefix}{name}: expected a number, got {value!r}")  # noqa: TRY004 (a bad config value)
        if isinstance(params[name].default, int):
            if not float(value).is_integer():
                raise ValueError(f"{prefix}{name}: expected a whole number, got {value}")
            value = int(value)
        out[name] = value
    full = {name: p.default for name, p in params.items()} | out
    _check_consistent(full["num_items"], full["num_topics"], full["min_len"], full["max_len"], full["p_follow"], prefix)
    return out
