"""HR@k / NDCG@k of the batched evaluation against hand-computed values and against a plain loop
reference written here (sort per user, float64), with history exclusion and ties."""

from __future__ import annotations

import math

import pytest
import torch
from seqrec.evaluate import RankingMetrics, evaluate_scores


def _means(scores, targets, history=None):
    metrics = RankingMetrics()
    metrics.update(scores.clone(), targets, history)
    return metrics.compute()


def _reference(scores, targets, history=None, ks=(5, 10, 20)):
    """Per user: drop history items, sort the rest by score (ties: the target last), read its
    1-based position; a target in the history is a miss. Means of [r <= k] and [r <= k]/log2(r+1)."""
    out = {f"{m}@{k}": 0.0 for m in ("HR", "NDCG") for k in ks}
    for b in range(scores.shape[0]):
        t = int(targets[b])
        excluded = set() if history is None else {int(i) for i in history[b] if i > 0}
        if t in excluded:
            continue
        items = [i for i in range(1, scores.shape[1] + 1) if i not in excluded]
        ordered = sorted(items, key=lambda i: (-float(scores[b, i - 1]), i == t))
        r = ordered.index(t) + 1
        for k in ks:
            if r <= k:
                out[f"HR@{k}"] += 1.0 / scores.shape[0]
                out[f"NDCG@{k}"] += 1.0 / math.log2(r + 1) / scores.shape[0]
    return out


def _scores():
    """3 users, 25 items; the targets sit at 1-based ranks 7, 1 and 21."""
    base = torch.linspace(1.0, 0.0, 25)  # item id i (index i-1) has rank i
    return base.repeat(3, 1), torch.tensor([7, 1, 21])


def test_hand_computed_values():
    m = _means(*_scores())
    # ranks 7, 1, 21: HR@5 = 1/3, HR@10 = HR@20 = 2/3
    assert m["HR@5"] == pytest.approx(1 / 3) and m["HR@10"] == pytest.approx(2 / 3)
    assert m["HR@20"] == pytest.approx(2 / 3)
    # NDCG: user 2 gets 1/log2(2) = 1; user 1 gets 1/log2(8) = 1/3 from k = 10 on
    assert m["NDCG@5"] == pytest.approx(1 / 3)
    assert m["NDCG@10"] == pytest.approx((1 + 1 / 3) / 3)
    assert m["NDCG@20"] == pytest.approx((1 + 1 / 3) / 3)


def test_history_exclusion_lifts_the_target():
    scores, targets = _scores()
    history = torch.tensor([[1, 2, 3, 4, 5, 6], [0, 0, 0, 0, 0, 0], [2, 3, 0, 0, 0, 0]])
    m = _means(scores, targets, history)
    # user 1 now at rank 1, user 3 at rank 19
    assert m["HR@5"] == pytest.approx(2 / 3) and m["HR@20"] == pytest.approx(1.0)
    assert m["NDCG@20"] == pytest.approx((1 + 1 + 1 / math.log2(20)) / 3)


def test_constant_scores_never_hit():
    assert _means(torch.zeros(2, 30), torch.tensor([1, 2]))["HR@20"] == 0.0


@pytest.mark.parametrize("exclude", [False, True])
def test_batched_metrics_match_the_loop_reference(exclude):
    g = torch.Generator().manual_seed(0)
    scores = torch.randint(0, 6, (50, 40), generator=g).float()  # many ties
    targets = torch.randint(1, 41, (50,), generator=g)
    history = torch.randint(0, 41, (50, 7), generator=g) if exclude else torch.zeros(50, 1, dtype=torch.long)
    history[0, 0] = targets[0]  # one target repeats a history item: a miss when excluded
    loader = [{"input": scores[i:i + 16], "target": targets[i:i + 16], "history": history[i:i + 16]}
              for i in range(0, 50, 16)]
    got = evaluate_scores(lambda b: b["input"].clone(), loader, exclude_history=exclude)
    ref = _reference(scores, targets, history if exclude else None)
    assert ref["HR@20"] > 0
    for k, v in ref.items():
        assert got[k] == pytest.approx(v, abs=1e-6), k
