"""soft_contrastive_loss against the generic float64 loop reference, its limits and robustness."""

from __future__ import annotations

import math

import pytest
import torch
from contrastkit.functional import label_similarity, soft_contrastive_loss, supcon_loss
from contrastkit.testing import l2n, ref_weighted_ce
from contrastkit.testing.checks import (
    assert_finite_grads,
    assert_gradcheck,
    assert_low_precision_close,
    assert_matches,
    assert_permutation_invariant,
    random_embeddings,
)

MULTI_HOT = torch.tensor([[1, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 1, 1, 0], [1, 1, 1, 0], [0, 0, 0, 1]])
N, D = MULTI_HOT.shape[0], 5


def _ref_similarity(kind: str) -> torch.Tensor:
    """Label similarity written out per pair."""
    y = MULTI_HOT.double()
    out = torch.zeros(N, N, dtype=torch.float64)
    for i in range(N):
        for j in range(N):
            if kind == "cosine":
                out[i, j] = (y[i] * y[j]).sum() / (y[i].norm() * y[j].norm())
            else:
                out[i, j] = torch.minimum(y[i], y[j]).sum() / torch.maximum(y[i], y[j]).sum()
    return out


@pytest.mark.parametrize("kind", ["cosine", "jaccard"])
def test_label_similarity(kind):
    torch.testing.assert_close(label_similarity(MULTI_HOT, MULTI_HOT, kind), _ref_similarity(kind))


@pytest.mark.parametrize("chunk_size", [None, 4])
@pytest.mark.parametrize("kind", ["cosine", "jaccard"])
def test_matches_reference(chunk_size, kind):
    f = random_embeddings(N, D, 0)
    w = _ref_similarity(kind)
    value = assert_matches(
        lambda f: soft_contrastive_loss(f, MULTI_HOT, 0.1, similarity=kind, chunk_size=chunk_size),
        lambda f: ref_weighted_ce(l2n(f), l2n(f), weights=w, self_index=torch.arange(N), temperature=0.1).loss,
        [f],
    )
    assert value > 0


def test_precomputed_similarity_equals_labels():
    f = random_embeddings(N, D, 0)
    torch.testing.assert_close(soft_contrastive_loss(f, label_sim=_ref_similarity("cosine")), soft_contrastive_loss(f, MULTI_HOT))


def test_integer_labels_give_supcon():
    f, y = random_embeddings(8, D, 0), torch.tensor([0, 1, 0, 2, 1, 0, 3, 2])
    torch.testing.assert_close(soft_contrastive_loss(f, y, 0.1), supcon_loss(f, y, 0.1))


def test_sample_sharing_no_label_is_dropped_and_counted():
    f = random_embeddings(N, D, 0)
    out = soft_contrastive_loss(f, MULTI_HOT, return_output=True)
    assert out.num_dropped == 1  # the last sample shares no label with any other
    assert out.per_anchor[-1] == 0 and torch.isfinite(out.loss)


def test_gradcheck():
    assert_gradcheck(lambda f: soft_contrastive_loss(f, MULTI_HOT, 0.2, chunk_size=4), [random_embeddings(N, D, 0)])


def test_permutation_invariance():
    assert_permutation_invariant(lambda f, y: soft_contrastive_loss(f, y), [random_embeddings(N, D, 0), MULTI_HOT],
                                 batch_args=[0, 1])


def test_temperature_to_zero_limit():
    f = l2n(random_embeddings(N, D, 0))
    w = _ref_similarity("cosine").fill_diagonal_(0)
    s = f @ f.T
    s_no_self = s.masked_fill(torch.eye(N, dtype=torch.bool), -math.inf)
    keep = w.sum(1) > 0
    q = w[keep] / w[keep].sum(1, keepdim=True)
    expected = (q * (s_no_self[keep].amax(1, keepdim=True) - s[keep])).sum(1).mean()
    t = 1e-4
    torch.testing.assert_close(soft_contrastive_loss(f, MULTI_HOT, t) * t, expected, rtol=0, atol=1e-3)


def test_all_equal_embeddings_give_log_n_minus_1():
    x = torch.ones(N, D, dtype=torch.float64)
    torch.testing.assert_close(soft_contrastive_loss(x, MULTI_HOT), torch.tensor(math.log(N - 1), dtype=torch.float64))


def test_zero_and_duplicated_vectors_and_empty_labels_are_finite():
    assert_finite_grads(lambda f: soft_contrastive_loss(f, MULTI_HOT), [torch.zeros(N, D, dtype=torch.float64)])
    dup = random_embeddings(1, D, 0).expand(N, D)
    assert_finite_grads(lambda f: soft_contrastive_loss(f, torch.zeros_like(MULTI_HOT), chunk_size=2), [dup])


def test_low_precision_and_autocast():
    y = (torch.rand(16, 5, generator=torch.Generator().manual_seed(0)) > 0.5).long()
    assert_low_precision_close(lambda f: soft_contrastive_loss(f, y, 0.1, chunk_size=5), [random_embeddings(16, 8, 0)])


def test_bad_input():
    f = torch.randn(N, D)
    with pytest.raises(ValueError, match="exactly one of labels and label_sim"):
        soft_contrastive_loss(f)
    with pytest.raises(ValueError, match="labels must be non-negative"):
        soft_contrastive_loss(f, -MULTI_HOT)
    with pytest.raises(ValueError, match="labels must be"):
        soft_contrastive_loss(f, MULTI_HOT[:3])
    with pytest.raises(ValueError, match="label_sim must have shape"):
        soft_contrastive_loss(f, label_sim=torch.ones(N, N + 1))
    with pytest.raises(ValueError, match="similarity must be"):
        soft_contrastive_loss(f, MULTI_HOT, similarity="dice")
    with pytest.raises(ValueError, match="labels contains NaN"):
        soft_contrastive_loss(f, torch.full((N, 3), math.nan))
