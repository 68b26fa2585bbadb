"""MoCHi hard negative mixing and its loss against explicit loop references."""

from __future__ import annotations

import math

import pytest
import torch
from contrastkit.functional import hard_negative_mixing, mochi_loss
from contrastkit.functional.hard_negatives import hardest_negatives
from contrastkit.testing import l2n, ref_info_nce
from contrastkit.testing.checks import (
    assert_finite_grads,
    assert_gradcheck,
    assert_low_precision_close,
    assert_matches,
    random_embeddings,
)

N, D, K = 4, 6, 10


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _ranked(q: torch.Tensor, queue: torch.Tensor, i: int) -> list[int]:
    """Queue indices sorted by similarity to query i, by a plain Python sort."""
    sims = [float((q[i] * queue[k]).sum()) for k in range(queue.shape[0])]
    return sorted(range(queue.shape[0]), key=lambda k: -sims[k])


def _coefficients(h: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, float]:
    """Least-squares ``h ≈ x u + y v``: the coefficients and the residual norm."""
    basis = torch.stack([u, v], dim=1)
    coef = torch.linalg.lstsq(basis, h[:, None]).solution[:, 0]
    return coef, float((basis @ coef - h).norm())


def test_hardest_negatives_match_a_python_sort():
    q, queue = l2n(random_embeddings(N, D, 0)), l2n(random_embeddings(K, D, 1))
    idx = hardest_negatives(q, queue, 3, chunk_size=3)
    for i in range(N):
        assert idx[i].tolist() == _ranked(q, queue, i)[:3]


def test_mixed_negatives_are_convex_mixtures_of_the_hardest_pair():
    q, queue = random_embeddings(N, D, 0), random_embeddings(K, D, 1)
    h = hard_negative_mixing(q, queue, n_hard=2, s_mix=5, s_prime=0, generator=_gen())
    qn, kn = l2n(q), l2n(queue)
    assert h.shape == (N, 5, D) and not h.requires_grad
    torch.testing.assert_close(h.norm(dim=-1), torch.ones(N, 5, dtype=torch.float64))
    for i in range(N):
        first, second = _ranked(qn, kn, i)[:2]
        for s in range(5):
            coef, residual = _coefficients(h[i, s], kn[first], kn[second])
            assert residual < 1e-9 and (coef >= -1e-9).all()


def test_query_mixtures_keep_the_query_weight_below_one_half():
    q, queue = random_embeddings(N, D, 0), random_embeddings(K, D, 1)
    h = hard_negative_mixing(q, queue, n_hard=1, s_mix=0, s_prime=6, generator=_gen(3))
    qn, kn = l2n(q), l2n(queue)
    for i in range(N):
        hardest = _ranked(qn, kn, i)[0]
        for s in range(6):
            (beta_scaled, rest), residual = _coefficients(h[i, s], qn[i], kn[hardest])
            assert residual < 1e-9 and 0 <= beta_scaled < rest  # beta < 1 - beta


def test_single_hard_negative_mixes_to_itself_and_draws_are_reproducible():
    q, queue = random_embeddings(N, D, 0), random_embeddings(K, D, 1)
    h = hard_negative_mixing(q, queue, n_hard=1, s_mix=3, s_prime=2, generator=_gen(1))
    hardest = hardest_negatives(l2n(q), l2n(queue), 1)[:, 0]
    torch.testing.assert_close(h[:, :3], l2n(queue)[hardest][:, None, :].expand(N, 3, D))
    again = hard_negative_mixing(q, queue, n_hard=1, s_mix=3, s_prime=2, generator=_gen(1))
    assert torch.equal(h, again)


def _ref_moco(q, k, queue, synthetic, t):
    """MoCo logits [q.k_i, q.queue, q.h_i], positive first, written as loops."""
    losses = []
    for i in range(q.shape[0]):
        logits = [(q[i] * k[i]).sum() / t]
        logits += [(q[i] * queue[j]).sum() / t for j in range(queue.shape[0])]
        logits += [(q[i] * synthetic[i, s]).sum() / t for s in range(synthetic.shape[1])]
        stacked = torch.stack(logits)
        losses.append(torch.logsumexp(stacked, 0) - stacked[0])
    return torch.stack(losses).mean()


@pytest.mark.parametrize("chunk_size", [None, 3])
@pytest.mark.parametrize("in_batch", [True, False])
def test_loss_matches_reference(chunk_size, in_batch):
    q, k, queue = random_embeddings(N, D, 0), random_embeddings(N, D, 1), random_embeddings(K, D, 2)
    synthetic = hard_negative_mixing(q, queue, 4, 3, 2, generator=_gen(7))

    def fast(q, k, queue):
        return mochi_loss(q, k, queue, n_hard=4, s_mix=3, s_prime=2, temperature=0.2, generator=_gen(7),
                          in_batch_negatives=in_batch, chunk_size=chunk_size)

    def ref(q, k, queue):
        if in_batch:
            return ref_info_nce(l2n(q), torch.cat([l2n(k), l2n(queue)])[:N], 0.2,
                                extra_negatives=_extras(l2n(queue), synthetic))
        return _ref_moco(l2n(q), l2n(k), l2n(queue), synthetic, 0.2)

    assert assert_matches(fast, ref, [q, k, queue]) > 0


def _extras(queue: torch.Tensor, synthetic: torch.Tensor) -> torch.Tensor:
    """Per-anchor negatives of the in-batch form: the queue followed by the anchor's synthetic points."""
    n = synthetic.shape[0]
    return torch.cat([queue[None].expand(n, -1, -1), synthetic], dim=1)


def test_gradcheck_with_the_synthetic_negatives_fixed():
    """The synthetic points are constants (detached, as in the paper), so gradcheck holds them fixed."""
    q, k, queue = random_embeddings(N, D, 0), random_embeddings(N, D, 1), random_embeddings(K, D, 2)
    synthetic = hard_negative_mixing(q, queue, 3, 2, 2, generator=_gen())
    for in_batch in (True, False):
        assert_gradcheck(
            lambda q, k, m, h, in_batch=in_batch: mochi_loss(q, k, m, synthetic=h, chunk_size=3,
                                                              in_batch_negatives=in_batch),
            [q, k, queue, synthetic],
        )


def test_all_equal_embeddings_give_log_of_all_negatives():
    x, queue = torch.ones(N, D, dtype=torch.float64), torch.ones(K, D, dtype=torch.float64)
    value = mochi_loss(x, x, queue, n_hard=3, s_mix=2, s_prime=1, generator=_gen())
    torch.testing.assert_close(value, torch.tensor(math.log(N + K + 3), dtype=torch.float64))
    exact = mochi_loss(x, x, queue, n_hard=3, s_mix=2, s_prime=1, generator=_gen(), in_batch_negatives=False)
    torch.testing.assert_close(exact, torch.tensor(math.log(1 + K + 3), dtype=torch.float64))


def test_temperature_to_zero_limit():
    q, k, queue = l2n(random_embeddings(N, D, 0)), l2n(random_embeddings(N, D, 1)), l2n(random_embeddings(K, D, 2))
    synthetic = hard_negative_mixing(q, queue, 4, 3, 2, generator=_gen(2))
    neg = torch.cat([q @ queue.T, torch.einsum("nd,nkd->nk", q, synthetic)], 1).amax(1)
    expected = (neg - (q * k).sum(1)).clamp_min(0).mean()
    t = 1e-4
    value = mochi_loss(q, k, queue, n_hard=4, s_mix=3, s_prime=2, generator=_gen(2), temperature=t,
                       in_batch_negatives=False)
    torch.testing.assert_close(value * t, expected, rtol=0, atol=1e-3)


def test_zero_and_duplicated_vectors_are_finite():
    zeros = torch.zeros(N, D, dtype=torch.float64)
    assert_finite_grads(lambda q, k, m: mochi_loss(q, k, m, n_hard=3, s_mix=2, s_prime=2, generator=_gen()),
                        [zeros, zeros, torch.zeros(K, D, dtype=torch.float64)])
    dup = random_embeddings(1, D, 0).expand(N, D)
    assert_finite_grads(lambda q, k, m: mochi_loss(q, k, m, n_hard=3, s_mix=2, s_prime=2, generator=_gen()),
                        [dup, dup, dup.repeat(3, 1)])


@pytest.mark.parametrize("in_batch", [True, False])
def test_low_precision_and_autocast(in_batch):
    inputs = [random_embeddings(16, 8, 0), random_embeddings(16, 8, 1), random_embeddings(32, 8, 2)]
    assert_low_precision_close(
        lambda q, k, m: mochi_loss(q, k, m, n_hard=8, s_mix=4, s_prime=2, generator=_gen(), chunk_size=5,
                                   in_batch_negatives=in_batch),
        inputs, rtol=0.08, atol=0.08,
    )


def test_bad_input():
    q, queue = torch.randn(N, D), torch.randn(K, D)
    with pytest.raises(ValueError, match="n_hard"):
        hard_negative_mixing(q, queue, K + 1, 2, 2)
    with pytest.raises(ValueError, match="s_mix and s_prime"):
        hard_negative_mixing(q, queue, 3, 0, 0)
    with pytest.raises(ValueError, match="share D"):
        hard_negative_mixing(q, torch.randn(K, D + 1), 3, 1, 1)
    with pytest.raises(ValueError, match="queue contains NaN"):
        hard_negative_mixing(q, torch.full((K, D), math.nan), 3, 1, 1)
