"""align_loss and uniform_loss (Wang & Isola 2020) against float64 loop references."""

from __future__ import annotations

import math

import pytest
import torch
from contrastkit.functional import align_loss, uniform_loss
from contrastkit.testing import l2n, ref_align, ref_uniform
from contrastkit.testing.checks import (
    assert_finite_grads,
    assert_gradcheck,
    assert_low_precision_close,
    assert_matches,
    assert_permutation_invariant,
    random_embeddings,
)

N, D = 6, 4


@pytest.mark.parametrize("alpha", [2.0, 1.0, 3.0])
def test_align_matches_reference(alpha):
    x, y = random_embeddings(N, D, 0), random_embeddings(N, D, 1)
    assert assert_matches(lambda x, y: align_loss(x, y, alpha), lambda x, y: ref_align(l2n(x), l2n(y), alpha), [x, y]) > 0


@pytest.mark.parametrize("t", [2.0, 0.5])
def test_uniform_matches_reference(t):
    x = random_embeddings(N, D, 0)
    assert_matches(lambda x: uniform_loss(x, t), lambda x: ref_uniform(l2n(x), t), [x])


def test_without_normalize():
    x, y = random_embeddings(N, D, 0), random_embeddings(N, D, 1)
    assert_matches(lambda x, y: align_loss(x, y, normalize=False), lambda x, y: ref_align(x, y), [x, y])
    assert_matches(lambda x: uniform_loss(x, 0.1, normalize=False), lambda x: ref_uniform(x, 0.1), [x])


def test_gradcheck():
    x, y = random_embeddings(N, D, 0), random_embeddings(N, D, 1)
    assert_gradcheck(lambda x, y: align_loss(x, y, 1.5), [x, y])
    assert_gradcheck(lambda x: uniform_loss(x), [x])


def test_permutation_invariance():
    x, y = random_embeddings(N, D, 0), random_embeddings(N, D, 1)
    assert_permutation_invariant(lambda x, y: align_loss(x, y), [x, y], batch_args=[0, 1])
    assert_permutation_invariant(lambda x: uniform_loss(x), [x], batch_args=[0])


def test_analytic_values():
    x = random_embeddings(N, D, 0)
    assert float(align_loss(x, x)) == 0.0
    antipodal = l2n(x)
    torch.testing.assert_close(align_loss(antipodal, -antipodal), torch.tensor(4.0, dtype=torch.float64))
    same = torch.ones(N, D, dtype=torch.float64)
    torch.testing.assert_close(uniform_loss(same), torch.tensor(0.0, dtype=torch.float64))
    # two antipodal points: ||x - y||^2 = 4, so L = -4 t
    pair = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64)
    torch.testing.assert_close(uniform_loss(pair, t=2.0), torch.tensor(-8.0, dtype=torch.float64))


def test_large_t_limit_is_the_closest_pair():
    """log mean exp(-t d2) / t -> -min d2 as t grows."""
    x = l2n(random_embeddings(N, D, 0))
    d2 = torch.cdist(x, x).pow(2)
    closest = d2[torch.triu_indices(N, N, 1).unbind()].min()
    t = 1e4
    torch.testing.assert_close(uniform_loss(x, t) / t, -closest, rtol=0, atol=1e-3)


@pytest.mark.parametrize("alpha", [2.0, 1.0])
def test_zero_and_duplicated_vectors_are_finite(alpha):
    zeros = torch.zeros(N, D, dtype=torch.float64)
    assert_finite_grads(lambda x, y: align_loss(x, y, alpha), [zeros, zeros])
    assert_finite_grads(lambda x: uniform_loss(x), [zeros])
    dup = random_embeddings(1, D, 0).expand(N, D)
    assert_finite_grads(lambda x, y: align_loss(x, y, alpha), [dup, dup])
    assert_finite_grads(lambda x: uniform_loss(x), [dup])


def test_low_precision_and_autocast():
    x, y = random_embeddings(16, 8, 0), random_embeddings(16, 8, 1)
    assert_low_precision_close(lambda x, y: align_loss(x, y), [x, y])
    assert_low_precision_close(lambda x: uniform_loss(x), [x])


def test_bad_input():
    with pytest.raises(ValueError, match="alpha"):
        align_loss(torch.randn(3, 2), torch.randn(3, 2), alpha=0)
    with pytest.raises(ValueError, match="at least 2 rows"):
        uniform_loss(torch.randn(1, 2))
    with pytest.raises(ValueError, match="x contains NaN"):
        uniform_loss(torch.full((3, 2), math.nan))
    with pytest.raises(ValueError, match="x and y"):
        align_loss(torch.randn(3, 2), torch.randn(2, 2))
