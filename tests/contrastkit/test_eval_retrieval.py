"""retrieval_recall_at_k against a plain loop and torchmetrics' hit rate, index and mask forms."""

import pytest
import torch
from contrastkit.eval import retrieval_recall_at_k
from torchmetrics.functional.retrieval import retrieval_hit_rate


def _loop_recall(q, g, mask, k):
    q = q / q.norm(dim=1, keepdim=True)
    g = g / g.norm(dim=1, keepdim=True)
    hits = 0
    for i in range(q.shape[0]):
        s = [float(q[i] @ g[j]) for j in range(g.shape[0])]
        best = max(s[j] for j in range(g.shape[0]) if mask[i, j])
        rank = 1 + sum(1 for j in range(g.shape[0]) if not mask[i, j] and s[j] >= best)
        hits += rank <= k
    return hits / q.shape[0]


def test_mask_and_index_forms_against_loop_and_torchmetrics():
    g = torch.Generator().manual_seed(0)
    gallery = torch.randn(40, 16, generator=g, dtype=torch.float64)
    idx = torch.randint(0, 40, (25,), generator=g)
    queries = gallery[idx] + 0.9 * torch.randn(25, 16, generator=g, dtype=torch.float64)
    mask = torch.zeros(25, 40, dtype=torch.bool)
    mask[torch.arange(25), idx] = True
    mask[::3, 5] = True  # some queries with two positives
    one = retrieval_recall_at_k(queries, gallery, idx, (1, 5, 10), batch_size=4)
    many = retrieval_recall_at_k(queries, gallery, mask, (1, 5, 10), batch_size=6)
    sims = torch.nn.functional.normalize(queries, dim=1) @ torch.nn.functional.normalize(gallery, dim=1).T
    for k in (1, 5, 10):
        assert many[k] == pytest.approx(_loop_recall(queries, gallery, mask, k))
        ref = torch.stack([retrieval_hit_rate(sims[i], mask[i], top_k=k) for i in range(25)]).mean()
        assert many[k] == pytest.approx(float(ref))
        one_mask = torch.zeros_like(mask)
        one_mask[torch.arange(25), idx] = True
        assert one[k] == pytest.approx(_loop_recall(queries, gallery, one_mask, k))
    assert 0.0 < one[1] < 1.0 and one[1] <= one[5] <= one[10]


def test_perfect_and_constant_embeddings():
    e = torch.eye(6)
    assert retrieval_recall_at_k(e, e, torch.arange(6), (1,)) == {1: 1.0}
    # a constant encoder ties everything: pessimistic ties put the positive last.
    c = torch.ones(6, 3)
    assert retrieval_recall_at_k(c, c, torch.arange(6), (1, 5, 6)) == {1: 0.0, 5: 0.0, 6: 1.0}


@pytest.mark.parametrize(
    "pos, match",
    [
        (torch.tensor([0, 1, 9]), "index the gallery"),
        (torch.zeros(3, 4, dtype=torch.bool), "no positive"),
        (torch.zeros(3, 5, dtype=torch.bool), "mask must be"),
        (torch.tensor([0.0, 1.0, 2.0]), "gallery indices"),
    ],
)
def test_bad_positives(pos, match):
    with pytest.raises(ValueError, match=match):
        retrieval_recall_at_k(torch.randn(3, 2), torch.randn(4, 2), pos)


def test_bad_embeddings():
    with pytest.raises(ValueError, match="differ in D"):
        retrieval_recall_at_k(torch.randn(3, 2), torch.randn(4, 5), torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="query_emb contains NaN"):
        retrieval_recall_at_k(torch.full((3, 2), float("nan")), torch.randn(4, 2), torch.tensor([0, 1, 2]))
