"""supcon_loss (Khosla et al. L_out) against the float64 loop reference, its limits and robustness."""

from __future__ import annotations

import math

import pytest
import torch
from contrastkit.functional import supcon_loss
from contrastkit.testing import l2n, ref_supcon
from contrastkit.testing.checks import (
    assert_finite_grads,
    assert_gradcheck,
    assert_low_precision_close,
    assert_matches,
    assert_permutation_invariant,
    random_embeddings,
)

LABELS = torch.tensor([0, 1, 0, 2, 1, 0, 3, 2])  # label 3 has a single sample: dropped
N, D = LABELS.shape[0], 5


@pytest.mark.parametrize("chunk_size", [None, 3])
def test_matches_reference(chunk_size):
    f = random_embeddings(N, D, 0)
    value = assert_matches(lambda f: supcon_loss(f, LABELS, 0.1, chunk_size=chunk_size),
                           lambda f: ref_supcon(l2n(f), LABELS, 0.1).loss, [f])
    assert value > 0


def test_anchors_without_positives_are_dropped_and_counted():
    f = random_embeddings(N, D, 0)
    out = supcon_loss(f, LABELS, 0.1, return_output=True, chunk_size=3)
    ref = ref_supcon(l2n(f), LABELS, 0.1)
    assert out.num_dropped == ref.num_dropped == 1
    assert out.per_anchor[6] == 0
    torch.testing.assert_close(out.per_anchor, ref.per_anchor)


def test_no_positive_at_all_gives_zero_not_nan():
    f = random_embeddings(4, D, 0).requires_grad_()
    out = supcon_loss(f, torch.arange(4), return_output=True)
    out.loss.backward()
    assert out.num_dropped == 4 and out.loss.item() == 0.0 and torch.isfinite(f.grad).all()


def test_multi_view_features_equal_flattened_views():
    f = random_embeddings(N * 2, D, 0).view(N, 2, D)
    torch.testing.assert_close(supcon_loss(f, LABELS), supcon_loss(f.reshape(2 * N, D), LABELS.repeat_interleave(2)))


def test_gradcheck():
    assert_gradcheck(lambda f: supcon_loss(f, LABELS, 0.2, chunk_size=5), [random_embeddings(N, D, 0)])


def test_permutation_invariance():
    assert_permutation_invariant(lambda f, y: supcon_loss(f, y), [random_embeddings(N, D, 0), LABELS], batch_args=[0, 1])


def test_temperature_to_zero_limit():
    f = l2n(random_embeddings(N, D, 0))
    s = f @ f.T
    s_no_self = s.masked_fill(torch.eye(N, dtype=torch.bool), -math.inf)
    terms = []
    for i in range(N):
        pos = [p for p in range(N) if p != i and LABELS[p] == LABELS[i]]
        if pos:
            terms.append(torch.stack([s_no_self[i].max() - s[i, p] for p in pos]).mean())
    t = 1e-4
    torch.testing.assert_close(supcon_loss(f, LABELS, t) * t, torch.stack(terms).mean(), rtol=0, atol=1e-3)


def test_all_equal_embeddings_give_log_n_minus_1():
    x = torch.ones(N, D, dtype=torch.float64)
    torch.testing.assert_close(supcon_loss(x, LABELS), torch.tensor(math.log(N - 1), dtype=torch.float64))


def test_zero_and_duplicated_vectors_are_finite():
    assert_finite_grads(lambda f: supcon_loss(f, LABELS), [torch.zeros(N, D, dtype=torch.float64)])
    assert_finite_grads(lambda f: supcon_loss(f, LABELS, chunk_size=3), [random_embeddings(1, D, 0).expand(N, D)])


def test_low_precision_and_autocast():
    labels = torch.arange(24) % 5
    assert_low_precision_close(lambda f: supcon_loss(f, labels, 0.1, chunk_size=7), [random_embeddings(24, 8, 0)])


def test_bad_input():
    with pytest.raises(ValueError, match="labels"):
        supcon_loss(torch.randn(4, 3), torch.arange(5))
    with pytest.raises(ValueError, match="labels must be integers"):
        supcon_loss(torch.randn(4, 3), torch.rand(4))
    with pytest.raises(ValueError, match="features contains NaN"):
        supcon_loss(torch.full((4, 3), math.nan), torch.arange(4))
