"""Rehearsal memory: sizes, class balance, herding against a plain loop reference."""

from __future__ import annotations

import torch
from slu.memory import RehearsalMemory, herding


def ref_herding(features: torch.Tensor, m: int) -> list[int]:
    """iCaRL's herding written with loops in float64."""
    f = [v / v.norm() for v in features.double()]
    mu = sum(f) / len(f)
    chosen, running = [], torch.zeros_like(mu)
    for k in range(1, m + 1):
        best, best_d = None, None
        for i, v in enumerate(f):
            if i in chosen:
                continue
            d = float(((mu - (running + v) / k) ** 2).sum())
            if best_d is None or d < best_d:
                best, best_d = i, d
        chosen.append(best)
        running = running + f[best]
    return chosen


def test_herding_matches_reference():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(60, 8, generator=g)
    assert herding(x, 12) == ref_herding(x, 12)
    assert herding(x, 100) == ref_herding(x, 60)  # capped at n, never repeats


def test_herding_mean_beats_random_subset():
    g = torch.Generator().manual_seed(1)
    x = torch.nn.functional.normalize(torch.randn(200, 16, generator=g), dim=1)
    mu = x.mean(0)
    h = x[herding(x, 10)].mean(0)
    r = x[torch.randperm(200, generator=g)[:10]].mean(0)
    assert (h - mu).norm() < (r - mu).norm()


def test_percent_capacity_and_class_balance():
    mem = RehearsalMemory(train_size=1000, memory_percent=2.0)  # 20 exemplars
    assert mem.capacity == 20
    mem.update({0: list(range(100)), 1: list(range(100, 200))})
    assert [len(v) for v in mem.exemplars.values()] == [10, 10]
    first = list(mem.exemplars[0])
    mem.update({2: list(range(200, 300))})
    assert [len(v) for v in mem.exemplars.values()] == [7, 7, 6]  # 20 over 3 classes, order seen
    assert mem.exemplars[0] == first[:7]  # shrinking keeps the best-ranked exemplars
    assert all(100 * c <= i < 100 * (c + 1) for c, ids in mem.exemplars.items() for i in ids)
    assert len(mem.indices()) == 20 == len(set(mem.indices()))


def test_per_class_capacity_and_herding_needs_features():
    mem = RehearsalMemory(train_size=1000, memory_per_class=3, selection="herding")
    feats = {0: torch.randn(50, 4), 1: torch.randn(40, 4)}
    mem.update({0: list(range(50)), 1: list(range(50, 90))}, feats)
    assert mem.exemplars[0] == herding(feats[0], 3) and mem.exemplars[1] == [50 + i for i in herding(feats[1], 3)]
    try:
        mem.update({2: [1, 2]})
    except ValueError as error:
        assert "herding needs the features" in str(error)
    else:
        raise AssertionError("herding without features must fail")


def test_random_selection_is_seeded():
    a, b = RehearsalMemory(100, memory_percent=10, seed=3), RehearsalMemory(100, memory_percent=10, seed=3)
    for m in (a, b):
        m.update({0: list(range(50)), 1: list(range(50, 100))})
    assert a.exemplars == b.exemplars
    c = RehearsalMemory(100, memory_percent=10, seed=4)
    c.update({0: list(range(50)), 1: list(range(50, 100))})
    assert c.exemplars != a.exemplars
