"""dcl_loss and dclw_loss (Yeh et al. 2022) against the float64 loop references, limits and robustness."""

from __future__ import annotations

import math

import pytest
import torch
from contrastkit.functional import dcl_loss, dclw_loss, dclw_weights
from contrastkit.testing import l2n, ref_dcl, ref_dclw
from contrastkit.testing.checks import (
    assert_finite_grads,
    assert_gradcheck,
    assert_low_precision_close,
    assert_matches,
    assert_permutation_invariant,
    random_embeddings,
)

N, D = 5, 4


@pytest.mark.parametrize("chunk_size", [None, 3])
def test_dcl_matches_reference(chunk_size):
    z1, z2 = random_embeddings(N, D, 0), random_embeddings(N, D, 1)
    assert_matches(lambda a, b: dcl_loss(a, b, 0.1, chunk_size=chunk_size),
                   lambda a, b: ref_dcl(l2n(a), l2n(b), 0.1), [z1, z2])


@pytest.mark.parametrize("chunk_size", [None, 3])
@pytest.mark.parametrize("sigma", [0.5, 2.0])
def test_dclw_matches_reference(chunk_size, sigma):
    z1, z2 = random_embeddings(N, D, 0), random_embeddings(N, D, 1)
    z2 = z2 + 0.8 * z1  # spread the positive similarities so the weights differ from 1
    w = dclw_weights(l2n(z1), l2n(z2), sigma)
    assert (w - 1).abs().max() > 0.1
    torch.testing.assert_close(w.mean(), torch.tensor(1.0, dtype=torch.float64))
    assert_matches(lambda a, b: dclw_loss(a, b, 0.2, sigma, chunk_size=chunk_size),
                   lambda a, b: ref_dclw(l2n(a), l2n(b), 0.2, sigma), [z1, z2])


def test_dclw_per_view_temperature_equals_scalar():
    z1, z2 = random_embeddings(N, D, 0), random_embeddings(N, D, 1)
    t = torch.full((2 * N,), 0.2, dtype=torch.float64)
    torch.testing.assert_close(dclw_loss(z1, z2, t), dclw_loss(z1, z2, 0.2))


def test_dcl_is_below_nt_xent_by_the_removed_positive():
    """Removing the positive from the denominator lowers every term."""
    from contrastkit.functional import nt_xent_loss

    z1, z2 = random_embeddings(N, D, 0), random_embeddings(N, D, 1)
    assert dcl_loss(z1, z2, 0.5) < nt_xent_loss(z1, z2, 0.5)


def test_gradcheck():
    inputs = [random_embeddings(N, D, 0), random_embeddings(N, D, 1)]
    assert_gradcheck(lambda a, b: dcl_loss(a, b, 0.3, chunk_size=4), inputs)
    assert_gradcheck(lambda a, b: dclw_loss(a, b, 0.3, 0.5, chunk_size=4), inputs)


@pytest.mark.parametrize("fn", [dcl_loss, dclw_loss])
def test_permutation_invariance(fn):
    assert_permutation_invariant(lambda a, b: fn(a, b), [random_embeddings(N, D, 0), random_embeddings(N, D, 1)],
                                 batch_args=[0, 1])


def test_temperature_to_zero_limit():
    """t * l_k -> max over negatives of s_kj minus s_k,p(k) (no clamp: the positive is not in the lse)."""
    z1, z2 = l2n(random_embeddings(N, D, 0)), l2n(random_embeddings(N, D, 1))
    z = torch.cat([z1, z2])
    s = z @ z.T
    rows, pos = torch.arange(2 * N), torch.cat([torch.arange(N, 2 * N), torch.arange(N)])
    neg = s.clone()
    neg[rows, rows] = -math.inf
    neg[rows, pos] = -math.inf
    expected = (neg.amax(1) - s[rows, pos]).mean()
    t = 1e-4
    torch.testing.assert_close(dcl_loss(z1, z2, t) * t, expected, rtol=0, atol=1e-3)


@pytest.mark.parametrize("fn", [dcl_loss, dclw_loss])
def test_all_equal_embeddings_give_log_2n_minus_2(fn):
    x = torch.ones(N, D, dtype=torch.float64)
    torch.testing.assert_close(fn(x, x, 0.1), torch.tensor(math.log(2 * N - 2), dtype=torch.float64))


@pytest.mark.parametrize("fn", [dcl_loss, dclw_loss])
def test_zero_and_duplicated_vectors_are_finite(fn):
    zeros = torch.zeros(N, D, dtype=torch.float64)
    assert_finite_grads(lambda a, b: fn(a, b), [zeros, zeros])
    dup = random_embeddings(1, D, 0).expand(N, D)
    assert_finite_grads(lambda a, b: fn(a, b, 0.1, chunk_size=2), [dup, dup])


@pytest.mark.parametrize("fn", [dcl_loss, dclw_loss])
def test_low_precision_and_autocast(fn):
    assert_low_precision_close(lambda a, b: fn(a, b, 0.1, chunk_size=5),
                               [random_embeddings(16, 8, 0), random_embeddings(16, 8, 1)])


def test_bad_input():
    with pytest.raises(ValueError, match="sigma"):
        dclw_loss(torch.randn(4, 3), torch.randn(4, 3), 0.1, sigma=0.0)
    with pytest.raises(ValueError, match="temperature must be a scalar or of shape"):
        dclw_loss(torch.randn(4, 3), torch.randn(4, 3), torch.full((3,), 0.1))
    with pytest.raises(ValueError, match="z1 contains NaN"):
        dcl_loss(torch.full((4, 3), math.nan), torch.randn(4, 3))
