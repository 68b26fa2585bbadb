"""mixup_contrastive_loss (i-Mix / M3CoL soft targets) against the float64 loop reference."""

from __future__ import annotations

import math

import pytest
import torch
from contrastkit.functional import info_nce_loss, mix_inputs, mixup_contrastive_loss, mixup_weights
from contrastkit.testing import l2n, ref_weighted_ce
from contrastkit.testing.checks import (
    assert_finite_grads,
    assert_gradcheck,
    assert_low_precision_close,
    assert_matches,
    assert_permutation_invariant,
    random_embeddings,
)

N, D = 6, 5
PERM = torch.tensor([3, 0, 2, 5, 1, 4])  # 2 is its own partner
LAM = torch.tensor([0.7, 0.2, 0.5, 0.9, 0.4, 0.6], dtype=torch.float64)


def _targets(perm: torch.Tensor, lam: torch.Tensor) -> torch.Tensor:
    """i-Mix virtual labels written out: lam_i on i, 1 - lam_i on perm(i)."""
    n = perm.shape[0]
    w = torch.zeros(n, n, dtype=torch.float64)
    for i in range(n):
        w[i, i] += float(lam[i])
        w[i, int(perm[i])] += 1.0 - float(lam[i])
    return w


def test_weights():
    torch.testing.assert_close(mixup_weights(PERM, LAM), _targets(PERM, LAM))
    torch.testing.assert_close(mixup_weights(PERM, 0.3, n_candidates=12, offset=6)[:, 6:], _targets(PERM, torch.full((N,), 0.3)))


@pytest.mark.parametrize("chunk_size", [None, 4])
@pytest.mark.parametrize("queue", [False, True])
def test_matches_reference(chunk_size, queue):
    a, c = random_embeddings(N, D, 0), random_embeddings(N, D, 1)
    inputs = [a, c] + ([random_embeddings(3, D, 2)] if queue else [])
    w = _targets(PERM, LAM)

    def fast(a, c, *q):
        return mixup_contrastive_loss(a, c, PERM, LAM, 0.2, extra_negatives=q[0] if q else None, chunk_size=chunk_size)

    def ref(a, c, *q):
        return ref_weighted_ce(l2n(a), l2n(c), weights=w, temperature=0.2,
                               extra_negatives=l2n(q[0]) if q else None).loss

    assert assert_matches(fast, ref, inputs) > 0


def test_lam_one_is_info_nce():
    a, c = random_embeddings(N, D, 0), random_embeddings(N, D, 1)
    torch.testing.assert_close(mixup_contrastive_loss(a, c, PERM, 1.0, 0.2), info_nce_loss(a, c, 0.2))


def test_mix_inputs_is_reproducible_and_convex():
    x = random_embeddings(8, 3, 0)
    m1 = mix_inputs(x, 1.0, generator=torch.Generator().manual_seed(5))
    m2 = mix_inputs(x, 1.0, generator=torch.Generator().manual_seed(5))
    assert torch.equal(m1.inputs, m2.inputs) and torch.equal(m1.perm, m2.perm)
    assert sorted(m1.perm.tolist()) == list(range(8))
    assert torch.all(m1.lam == m1.lam[0]) and 0 <= float(m1.lam[0]) <= 1
    lam = m1.lam.to(x.dtype)[:, None]
    torch.testing.assert_close(m1.inputs, lam * x + (1 - lam) * x[m1.perm])
    per = mix_inputs(x, 0.5, per_sample=True, generator=torch.Generator().manual_seed(1))
    assert per.lam.unique().numel() > 1


def test_gradcheck():
    assert_gradcheck(lambda a, c: mixup_contrastive_loss(a, c, PERM, LAM, 0.3, chunk_size=4),
                     [random_embeddings(N, D, 0), random_embeddings(N, D, 1)])


def test_permutation_invariance():
    """Relabelling the batch (and the partner indices accordingly) leaves the loss unchanged."""
    a, c = random_embeddings(N, D, 0), random_embeddings(N, D, 1)
    sigma = torch.tensor([2, 4, 0, 1, 5, 3])
    inv = torch.argsort(sigma)
    perm_new = inv[PERM[sigma]]
    torch.testing.assert_close(mixup_contrastive_loss(a[sigma], c[sigma], perm_new, LAM[sigma]),
                               mixup_contrastive_loss(a, c, PERM, LAM))
    assert_permutation_invariant(lambda a, c: mixup_contrastive_loss(a, c, torch.arange(N), 0.5), [a, c], batch_args=[0, 1])


def test_temperature_to_zero_limit():
    a, c = l2n(random_embeddings(N, D, 0)), l2n(random_embeddings(N, D, 1))
    s = a @ c.T
    q = _targets(PERM, LAM)
    expected = (q * (s.amax(1, keepdim=True) - s)).sum(1).mean()
    t = 1e-4
    torch.testing.assert_close(mixup_contrastive_loss(a, c, PERM, LAM, t) * t, expected, rtol=0, atol=1e-3)


def test_all_equal_embeddings_give_log_n():
    x = torch.ones(N, D, dtype=torch.float64)
    torch.testing.assert_close(mixup_contrastive_loss(x, x, PERM, LAM), torch.tensor(math.log(N), dtype=torch.float64))


def test_zero_and_duplicated_vectors_are_finite():
    zeros = torch.zeros(N, D, dtype=torch.float64)
    assert_finite_grads(lambda a, c: mixup_contrastive_loss(a, c, PERM, LAM), [zeros, zeros])
    dup = random_embeddings(1, D, 0).expand(N, D)
    assert_finite_grads(lambda a, c: mixup_contrastive_loss(a, c, PERM, LAM, chunk_size=2), [dup, dup])


def test_low_precision_and_autocast():
    perm = torch.randperm(16, generator=torch.Generator().manual_seed(0))
    assert_low_precision_close(lambda a, c: mixup_contrastive_loss(a, c, perm, 0.6, 0.2, chunk_size=5),
                               [random_embeddings(16, 8, 0), random_embeddings(16, 8, 1)])


def test_bad_input():
    a, c = torch.randn(N, D), torch.randn(N, D)
    with pytest.raises(ValueError, match="perm must be"):
        mixup_contrastive_loss(a, c, PERM[:3], LAM)
    with pytest.raises(ValueError, match=r"lam must lie in \[0, 1\]"):
        mixup_contrastive_loss(a, c, PERM, 1.5)
    with pytest.raises(ValueError, match="alpha must be > 0"):
        mix_inputs(a, alpha=0.0)
    with pytest.raises(ValueError, match="mixed_anchors contains NaN"):
        mixup_contrastive_loss(torch.full((N, D), math.nan), c, PERM, LAM)
