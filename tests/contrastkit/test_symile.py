"""symile_loss (Saporta et al. 2024) against the float64 loop reference, its limits and robustness."""

from __future__ import annotations

import math

import pytest
import torch
from contrastkit.functional import symile_loss
from contrastkit.testing import l2n, ref_symile
from contrastkit.testing.checks import (
    assert_finite_grads,
    assert_gradcheck,
    assert_low_precision_close,
    assert_matches,
    random_embeddings,
)

N, D = 5, 4


def _shuffles(n: int = N, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.stack([torch.stack([torch.randperm(n, generator=g) for _ in range(2)]) for _ in range(3)])


def _inputs(n: int = N, d: int = D):
    return [random_embeddings(n, d, 0), random_embeddings(n, d, 1), random_embeddings(n, d, 2),
            torch.tensor(4.0, dtype=torch.float64)]


@pytest.mark.parametrize("chunk_size", [None, 2])
@pytest.mark.parametrize("negatives", ["n", "n_squared"])
def test_matches_reference(chunk_size, negatives):
    sh = _shuffles()

    def fast(a, b, c, s):
        return symile_loss(a, b, c, s, negatives=negatives, shuffles=sh, chunk_size=chunk_size)

    def ref(a, b, c, s):
        return ref_symile(l2n(a), l2n(b), l2n(c), s, negatives, sh)

    assert assert_matches(fast, ref, _inputs()) > 0


def test_generator_draws_are_reproducible():
    a, b, c, s = _inputs()
    v1 = symile_loss(a, b, c, s, generator=torch.Generator().manual_seed(3))
    v2 = symile_loss(a, b, c, s, generator=torch.Generator().manual_seed(3))
    assert torch.equal(v1, v2)


def test_gradcheck():
    sh = _shuffles()
    assert_gradcheck(lambda a, b, c, s: symile_loss(a, b, c, s, shuffles=sh, chunk_size=2), _inputs())
    assert_gradcheck(lambda a, b, c, s: symile_loss(a, b, c, s, negatives="n_squared", chunk_size=3), _inputs())


def test_modality_order_and_batch_permutation_invariance_of_n_squared():
    a, b, c, s = _inputs()
    value = symile_loss(a, b, c, s, negatives="n_squared")
    torch.testing.assert_close(symile_loss(c, a, b, s, negatives="n_squared"), value)
    perm = torch.tensor([3, 1, 4, 0, 2])
    torch.testing.assert_close(symile_loss(a[perm], b[perm], c[perm], s, negatives="n_squared"), value)


def test_batch_permutation_with_matching_shuffles_for_n():
    a, b, c, s = _inputs()
    sh = _shuffles()
    perm = torch.tensor([3, 1, 4, 0, 2])
    inv = torch.argsort(perm)
    # row j of the permuted batch is old row perm[j]; its negatives must be the same old rows
    sh_new = inv[sh[:, :, perm]]
    torch.testing.assert_close(symile_loss(a[perm], b[perm], c[perm], s, shuffles=sh_new), symile_loss(a, b, c, s, shuffles=sh))


def test_large_scale_limit():
    a, b, c = (l2n(x) for x in _inputs()[:3])
    scale = 1e4
    terms = []
    for x, y, z in ((a, b, c), (b, a, c), (c, a, b)):
        t = torch.einsum("id,jd,kd->ijk", x, y, z).reshape(N, N * N)
        pos = t[torch.arange(N), torch.arange(N) * (N + 1)]
        neg = t.clone()
        neg[torch.arange(N), torch.arange(N) * (N + 1)] = -math.inf
        terms.append((neg.amax(1) - pos).clamp_min(0).mean())
    value = symile_loss(a, b, c, scale, negatives="n_squared")
    torch.testing.assert_close(value / scale, sum(terms) / 3, rtol=0, atol=1e-3)


@pytest.mark.parametrize(("negatives", "count"), [("n", N), ("n_squared", N * N)])
def test_all_equal_embeddings_give_log_of_candidates(negatives, count):
    x = torch.ones(N, D, dtype=torch.float64)
    torch.testing.assert_close(symile_loss(x, x, x, 10.0, negatives=negatives), torch.tensor(math.log(count), dtype=torch.float64))


@pytest.mark.parametrize("negatives", ["n", "n_squared"])
def test_zero_and_duplicated_vectors_are_finite(negatives):
    zeros = torch.zeros(N, D, dtype=torch.float64)
    assert_finite_grads(lambda a, b, c: symile_loss(a, b, c, 10.0, negatives=negatives), [zeros, zeros, zeros])
    dup = random_embeddings(1, D, 0).expand(N, D)
    assert_finite_grads(lambda a, b, c: symile_loss(a, b, c, 100.0, negatives=negatives, chunk_size=2), [dup, dup, dup])


@pytest.mark.parametrize("negatives", ["n", "n_squared"])
def test_low_precision_and_autocast(negatives):
    sh = _shuffles(12)
    x = [random_embeddings(12, 8, k) for k in range(3)]
    assert_low_precision_close(lambda a, b, c: symile_loss(a, b, c, 20.0, negatives=negatives, shuffles=sh, chunk_size=5), x)


def test_bad_input():
    a = torch.randn(N, D)
    with pytest.raises(ValueError, match="negatives must be"):
        symile_loss(a, a, a, 1.0, negatives="n3")
    with pytest.raises(ValueError, match="share the shape"):
        symile_loss(a, a, torch.randn(N + 1, D), 1.0)
    with pytest.raises(ValueError, match="shuffles must have shape"):
        symile_loss(a, a, a, 1.0, shuffles=torch.zeros(3, 2, N + 1, dtype=torch.long))
    with pytest.raises(ValueError, match="c contains NaN"):
        symile_loss(a, a, torch.full((N, D), math.nan), 1.0)
    with pytest.raises(ValueError, match="logit_scale"):
        symile_loss(a, a, a, 0.0)
