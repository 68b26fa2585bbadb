"""HR@k and NDCG@k against torchmetrics per user, a plain loop, and hand-computed values."""

import math

import pytest
import torch
from contrastkit.eval import hit_rate_at_k, hit_rate_from_ranks, ndcg_at_k, ndcg_from_ranks, target_ranks
from torchmetrics.functional.retrieval import retrieval_hit_rate, retrieval_normalized_dcg


def test_against_torchmetrics_per_user():
    g = torch.Generator().manual_seed(0)
    scores = torch.randn(37, 60, generator=g, dtype=torch.float64)
    targets = torch.randint(0, 60, (37,), generator=g)
    ks = (1, 5, 10, 20)
    hr, nd = hit_rate_at_k(scores, targets, ks, batch_size=8), ndcg_at_k(scores, targets, ks, batch_size=8)
    for k in ks:
        rel = torch.zeros_like(scores, dtype=torch.bool)
        rel[torch.arange(37), targets] = True
        ref_hr = torch.stack([retrieval_hit_rate(scores[u], rel[u], top_k=k) for u in range(37)]).mean()
        ref_nd = torch.stack([retrieval_normalized_dcg(scores[u], rel[u], top_k=k) for u in range(37)]).mean()
        assert hr[k] == pytest.approx(float(ref_hr), abs=1e-6)
        assert nd[k] == pytest.approx(float(ref_nd), abs=1e-6)


def test_ranks_loop_reference_and_ties():
    scores = torch.tensor([[0.1, 0.9, 0.5, 0.5], [1.0, 1.0, 1.0, 1.0], [0.3, 0.2, float("-inf"), 0.1]])
    targets = torch.tensor([2, 0, 1])
    # row 0: 0.9 above, 0.5 tied; row 1: all tied; row 2: 0.3 above, -inf excluded.
    assert target_ranks(scores, targets).tolist() == [3, 4, 2]
    assert target_ranks(scores, targets, ties="optimistic").tolist() == [2, 1, 2]


def test_from_ranks_hand_computed():
    ranks = torch.tensor([1, 3, 11])
    assert hit_rate_from_ranks(ranks, (1, 5, 10, 20)) == pytest.approx({1: 1 / 3, 5: 2 / 3, 10: 2 / 3, 20: 1.0})
    nd = ndcg_from_ranks(ranks, (5, 20))
    assert nd[5] == pytest.approx((1 + 1 / math.log2(4)) / 3)
    assert nd[20] == pytest.approx((1 + 1 / math.log2(4) + 1 / math.log2(12)) / 3)


def test_batching_invariant():
    g = torch.Generator().manual_seed(1)
    s, t = torch.randn(50, 30, generator=g), torch.randint(0, 30, (50,), generator=g)
    assert torch.equal(target_ranks(s, t, batch_size=7), target_ranks(s, t, batch_size=1000))


@pytest.mark.parametrize(
    "scores, targets, match",
    [
        (torch.zeros(3), torch.zeros(3, dtype=torch.long), "scores must be"),
        (torch.zeros(2, 4), torch.tensor([0, 4]), "targets must index"),
        (torch.tensor([[float("nan"), 0.0]]), torch.tensor([1]), "NaN"),
        (torch.tensor([[float("-inf"), 0.0]]), torch.tensor([0]), "finite"),
        (torch.zeros(2, 4), torch.tensor([0]), "rows"),
    ],
)
def test_bad_input(scores, targets, match):
    with pytest.raises(ValueError, match=match):
        target_ranks(scores, targets)


def test_bad_ranks_and_ks():
    with pytest.raises(ValueError, match="1-based"):
        hit_rate_from_ranks(torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="ks"):
        ndcg_from_ranks(torch.tensor([1]), ks=(0,))
