"""nt_xent_loss (SimCLR) against the float64 loop reference, its limits and its robustness."""

from __future__ import annotations

import math

import pytest
import torch
from contrastkit.functional import nt_xent_loss
from contrastkit.testing import l2n, ref_nt_xent
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
@pytest.mark.parametrize("temperature", [0.5, 0.07])
def test_matches_reference(chunk_size, temperature):
    z1, z2 = random_embeddings(N, D, 0), random_embeddings(N, D, 1)
    value = assert_matches(lambda a, b: nt_xent_loss(a, b, temperature, chunk_size=chunk_size),
                           lambda a, b: ref_nt_xent(l2n(a), l2n(b), temperature), [z1, z2])
    assert value > 0


def test_gradcheck():
    assert_gradcheck(lambda a, b: nt_xent_loss(a, b, 0.5, chunk_size=4), [random_embeddings(N, D, 0),
                                                                     random_embeddings(N, D, 1)])


def test_permutation_and_view_swap_invariance():
    z1, z2 = random_embeddings(N, D, 0), random_embeddings(N, D, 1)
    assert_permutation_invariant(lambda a, b: nt_xent_loss(a, b), [z1, z2], batch_args=[0, 1])
    torch.testing.assert_close(nt_xent_loss(z1, z2), nt_xent_loss(z2, z1))


def test_temperature_to_zero_limit():
    z1, z2 = l2n(random_embeddings(N, D, 0)), l2n(random_embeddings(N, D, 1))
    z = torch.cat([z1, z2])
    s = z @ z.T
    pos = torch.cat([torch.arange(N, 2 * N), torch.arange(N)])
    neg = s.clone()
    neg[torch.arange(2 * N), torch.arange(2 * N)] = -math.inf
    neg[torch.arange(2 * N), pos] = -math.inf
    expected = (neg.amax(1) - s[torch.arange(2 * N), pos]).clamp_min(0).mean()
    t = 1e-4
    torch.testing.assert_close(nt_xent_loss(z1, z2, t) * t, expected, rtol=0, atol=1e-3)


def test_all_equal_embeddings_give_log_2n_minus_1():
    x = torch.ones(N, D, dtype=torch.float64)
    torch.testing.assert_close(nt_xent_loss(x, x, 0.5), torch.tensor(math.log(2 * N - 1), dtype=torch.float64))


def test_zero_and_duplicated_vectors_are_finite():
    zeros = torch.zeros(N, D, dtype=torch.float64)
    assert_finite_grads(lambda a, b: nt_xent_loss(a, b), [zeros, zeros])
    dup = random_embeddings(1, D, 0).expand(N, D)
    assert_finite_grads(lambda a, b: nt_xent_loss(a, b, 0.1, chunk_size=2), [dup, dup])


def test_low_precision_and_autocast():
    assert_low_precision_close(lambda a, b: nt_xent_loss(a, b, 0.5, chunk_size=7),
                               [random_embeddings(16, 8, 0), random_embeddings(16, 8, 1)])


def test_per_view_temperature_tensor():
    z1, z2 = random_embeddings(N, D, 0), random_embeddings(N, D, 1)
    t = torch.full((2 * N,), 0.3, dtype=torch.float64)
    torch.testing.assert_close(nt_xent_loss(z1, z2, t), nt_xent_loss(z1, z2, 0.3))


def test_bad_input():
    with pytest.raises(ValueError, match="z1 and z2"):
        nt_xent_loss(torch.randn(4, 3), torch.randn(3, 3))
    with pytest.raises(ValueError, match="z2 contains NaN"):
        nt_xent_loss(torch.randn(4, 3), torch.full((4, 3), math.nan))
