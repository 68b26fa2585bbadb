"""sinkhorn_knopp and swav_loss (Caron et al. 2020) against float64 loop references."""

from __future__ import annotations

import math

import pytest
import torch
from contrastkit.functional import sinkhorn_knopp, swav_loss
from contrastkit.testing import ref_sinkhorn, ref_swav
from contrastkit.testing.checks import (
    assert_finite_grads,
    assert_gradcheck,
    assert_low_precision_close,
    assert_matches,
    assert_permutation_invariant,
    random_embeddings,
)

B, K = 8, 5


def _scores(seed: int, b: int = B, k: int = K) -> torch.Tensor:
    return torch.tanh(random_embeddings(b, k, seed))  # cosine-like scores in (-1, 1)


@pytest.mark.parametrize("n_iters", [1, 3, 10])
def test_sinkhorn_matches_reference(n_iters):
    s = _scores(0)
    torch.testing.assert_close(sinkhorn_knopp(s, 0.05, n_iters), ref_sinkhorn(s, 0.05, n_iters))


def test_sinkhorn_marginals_converge_to_equipartition():
    q = sinkhorn_knopp(_scores(0), 0.1, 200)
    torch.testing.assert_close(q.sum(1), torch.ones(B, dtype=torch.float64))
    torch.testing.assert_close(q.sum(0), torch.full((K,), B / K, dtype=torch.float64), rtol=0, atol=1e-6)
    assert not q.requires_grad


def test_loss_matches_reference():
    s1, s2 = _scores(0), _scores(1)
    assert assert_matches(lambda a, b: swav_loss(a, b, 0.1), lambda a, b: ref_swav(a, b, 0.1), [s1, s2]) > 0


def test_gradcheck_with_codes_held_fixed():
    """The codes carry no gradient (Sinkhorn runs under no_grad), so gradcheck holds them fixed."""
    s1, s2 = _scores(0), _scores(1)
    codes = (sinkhorn_knopp(s1), sinkhorn_knopp(s2))
    assert_gradcheck(lambda a, b: swav_loss(a, b, 0.5, codes=codes), [s1, s2])
    torch.testing.assert_close(swav_loss(s1, s2, 0.5, codes=codes), swav_loss(s1, s2, 0.5))


def test_permutation_and_view_swap_invariance():
    s1, s2 = _scores(0), _scores(1)
    assert_permutation_invariant(lambda a, b: swav_loss(a, b), [s1, s2], batch_args=[0, 1])
    torch.testing.assert_close(swav_loss(s1, s2), swav_loss(s2, s1))


def test_temperature_to_zero_limit():
    """t * L -> 1/2 mean_b [sum_k q1_bk (max s2_b - s2_bk) + sum_k q2_bk (max s1_b - s1_bk)]."""
    s1, s2 = _scores(0), _scores(1)
    q1, q2 = sinkhorn_knopp(s1), sinkhorn_knopp(s2)
    expected = 0.5 * ((q1 * (s2.amax(1, keepdim=True) - s2)).sum(1) + (q2 * (s1.amax(1, keepdim=True) - s1)).sum(1)).mean()
    t = 1e-4
    torch.testing.assert_close(swav_loss(s1, s2, t) * t, expected, rtol=0, atol=1e-3)


def test_all_equal_scores_give_log_k():
    s = torch.full((B, K), 0.3, dtype=torch.float64)
    torch.testing.assert_close(sinkhorn_knopp(s), torch.full((B, K), 1 / K, dtype=torch.float64))
    torch.testing.assert_close(swav_loss(s, s), torch.tensor(math.log(K), dtype=torch.float64))


def test_zero_and_duplicated_scores_are_finite():
    zeros = torch.zeros(B, K, dtype=torch.float64)
    assert_finite_grads(lambda a, b: swav_loss(a, b), [zeros, zeros])
    dup = _scores(0)[:1].expand(B, K)
    assert_finite_grads(lambda a, b: swav_loss(a, b, 0.1, epsilon=0.01), [dup, dup])


def test_low_precision_and_autocast():
    assert_low_precision_close(lambda a, b: swav_loss(a, b), [_scores(0, 16, 6), _scores(1, 16, 6)])


def test_bad_input():
    with pytest.raises(ValueError, match="scores_1 and scores_2"):
        swav_loss(torch.randn(4, 3), torch.randn(4, 2))
    with pytest.raises(ValueError, match="scores_2 contains NaN"):
        swav_loss(torch.randn(4, 3), torch.full((4, 3), math.nan))
    with pytest.raises(ValueError, match="epsilon"):
        sinkhorn_knopp(torch.randn(4, 3), epsilon=0.0)
    with pytest.raises(ValueError, match="n_iters"):
        sinkhorn_knopp(torch.randn(4, 3), n_iters=0)
