"""siglip_loss against the float64 loop reference, its limits and its robustness."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from contrastkit.functional import siglip_loss
from contrastkit.testing import l2n, ref_siglip
from contrastkit.testing.checks import (
    assert_finite_grads,
    assert_gradcheck,
    assert_low_precision_close,
    assert_matches,
    assert_permutation_invariant,
    random_embeddings,
)

N, D = 6, 5


@pytest.mark.parametrize("chunk_size", [None, 1, 4])
def test_matches_reference_including_scale_and_bias_gradients(chunk_size):
    a, b = random_embeddings(N, D, 0), random_embeddings(N, D, 1)
    scale, bias = torch.tensor(10.0, dtype=torch.float64), torch.tensor(-3.0, dtype=torch.float64)
    value = assert_matches(lambda a, b, s, t: siglip_loss(a, b, s, t, chunk_size=chunk_size),
                           lambda a, b, s, t: ref_siglip(l2n(a), l2n(b), s, t), [a, b, scale, bias])
    assert value > 0


def test_plain_float_scale_and_bias():
    a, b = random_embeddings(N, D, 0), random_embeddings(N, D, 1)
    torch.testing.assert_close(siglip_loss(a, b, 10.0, -10.0), ref_siglip(l2n(a), l2n(b), 10.0, -10.0))


def test_gradcheck():
    assert_gradcheck(lambda a, b, s, t: siglip_loss(a, b, s, t, chunk_size=4),
                     [random_embeddings(N, D, 0), random_embeddings(N, D, 1), torch.tensor(5.0), torch.tensor(-2.0)])


def test_permutation_and_modality_swap_invariance():
    a, b = random_embeddings(N, D, 0), random_embeddings(N, D, 1)
    assert_permutation_invariant(lambda a, b: siglip_loss(a, b, 10.0, -10.0), [a, b], batch_args=[0, 1])
    torch.testing.assert_close(siglip_loss(a, b, 10.0, -10.0), siglip_loss(b, a, 10.0, -10.0))


def test_large_scale_limit_is_the_pairwise_hinge():
    """With bias 0, L / scale -> 1/N sum_ij max(0, -z_ij s_ij)."""
    a, b = l2n(random_embeddings(N, D, 0)), l2n(random_embeddings(N, D, 1))
    z = 2 * torch.eye(N, dtype=torch.float64) - 1
    expected = (-z * (a @ b.T)).clamp_min(0).sum() / N
    scale = 1e5
    torch.testing.assert_close(siglip_loss(a, b, scale, 0.0) / scale, expected, rtol=0, atol=1e-4)


def test_all_equal_embeddings_analytic_value():
    x = torch.ones(N, D, dtype=torch.float64)
    logit = torch.tensor(10.0 * 1.0 - 8.0, dtype=torch.float64)  # scale * cos + bias, cos = 1
    expected = F.softplus(-logit) + (N - 1) * F.softplus(logit)
    torch.testing.assert_close(siglip_loss(x, x, 10.0, -8.0), expected)


def test_zero_and_duplicated_vectors_are_finite():
    zeros = torch.zeros(N, D, dtype=torch.float64)
    assert_finite_grads(lambda a, b: siglip_loss(a, b, 10.0, -10.0), [zeros, zeros])
    dup = random_embeddings(1, D, 0).expand(N, D)
    assert_finite_grads(lambda a, b: siglip_loss(a, b, 100.0, -10.0, chunk_size=2), [dup, dup])


def test_low_precision_and_autocast():
    assert_low_precision_close(lambda a, b: siglip_loss(a, b, 10.0, -10.0, chunk_size=5),
                               [random_embeddings(16, 8, 0), random_embeddings(16, 8, 1)])


def test_bad_input():
    with pytest.raises(ValueError, match="a and b"):
        siglip_loss(torch.randn(4, 3), torch.randn(5, 3), 10.0, -10.0)
    with pytest.raises(ValueError, match="logit_bias contains NaN"):
        siglip_loss(torch.randn(4, 3), torch.randn(4, 3), 10.0, math.nan)
    with pytest.raises(ValueError, match="chunk_size"):
        siglip_loss(torch.randn(4, 3), torch.randn(4, 3), 10.0, -10.0, chunk_size=0)
    with pytest.raises(ValueError, match="scalars"):
        siglip_loss(torch.randn(4, 3), torch.randn(4, 3), torch.ones(2), -10.0)
