"""HR@k / NDCG@k against hand-computed values, history exclusion, batched accumulation."""

from __future__ import annotations

import math

import pytest
import torch
from seqrec.evaluate import RankingMetrics, evaluate_scores, rank_metrics


def _scores():
    """3 users, 25 items; the targets sit at 1-based ranks 7, 1 and 21."""
    base = torch.linspace(1.0, 0.0, 25)  # item id i (index i-1) has rank i
    scores = base.repeat(3, 1)
    targets = torch.tensor([7, 1, 21])
    return scores, targets


def test_hand_computed_values():
    scores, targets = _scores()
    m = {k: v.mean().item() for k, v in rank_metrics(scores, targets).items()}
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
    metrics = RankingMetrics()
    metrics.update(scores.clone(), targets, history)
    m = metrics.compute()
    # user 1 now at rank 1, user 3 at rank 19
    assert m["HR@5"] == pytest.approx(2 / 3) and m["HR@20"] == pytest.approx(1.0)
    assert m["NDCG@20"] == pytest.approx((1 + 1 + 1 / math.log2(20)) / 3)


def test_constant_scores_never_hit():
    m = rank_metrics(torch.zeros(2, 30), torch.tensor([1, 2]))
    assert m["HR@20"].sum() == 0


def test_batched_accumulation_equals_one_batch():
    torch.manual_seed(0)
    scores, targets = torch.randn(50, 40), torch.randint(1, 41, (50,))
    whole = {k: v.mean().item() for k, v in rank_metrics(scores, targets).items()}
    loader = [{"input": scores[i:i + 16], "target": targets[i:i + 16], "history": torch.zeros(16, 1, dtype=torch.long)}
              for i in range(0, 50, 16)]
    got = evaluate_scores(lambda b: b["input"].clone(), loader)
    for k, v in whole.items():
        assert got[k] == pytest.approx(v, abs=1e-6)


def test_rank_equals_contrastkit_pessimistic_rank():
    from contrastkit.eval.ranking import target_ranks
    from seqrec.evaluate import target_rank

    torch.manual_seed(1)
    scores = torch.randint(0, 5, (40, 30)).float()  # many ties
    targets = torch.randint(1, 31, (40,))
    assert torch.equal(target_rank(scores, targets), target_ranks(scores, targets - 1, ties="pessimistic"))
