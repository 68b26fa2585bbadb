"""info_nce_loss against the float64 loop reference, its limits and its robustness."""

from __future__ import annotations

import math

import pytest
import torch
from contrastkit.functional import info_nce_loss
from contrastkit.testing import l2n, ref_info_nce
from contrastkit.testing.checks import (
    assert_finite_grads,
    assert_gradcheck,
    assert_low_precision_close,
    assert_matches,
    assert_permutation_invariant,
    random_embeddings,
)

N, D, K = 6, 5, 4


@pytest.mark.parametrize("chunk_size", [None, 4])
@pytest.mark.parametrize("negatives", [None, "queue", "per_anchor"])
def test_matches_reference(chunk_size, negatives):
    a, c = random_embeddings(N, D, 0), random_embeddings(N, D, 1)
    extra = {None: None, "queue": random_embeddings(K, D, 2),
             "per_anchor": random_embeddings(N * K, D, 3).view(N, K, D)}[negatives]
    inputs = [a, c] + ([extra] if extra is not None else [])

    def fast(a, c, *e):
        return info_nce_loss(a, c, 0.2, extra_negatives=e[0] if e else None, chunk_size=chunk_size)

    def ref(a, c, *e):
        return ref_info_nce(l2n(a), l2n(c), 0.2, l2n(e[0]) if e else None)

    assert assert_matches(fast, ref, inputs) > 0


def test_without_normalize_uses_raw_dot_products():
    a, c = random_embeddings(N, D, 0) * 0.3, random_embeddings(N, D, 1) * 0.3
    assert_matches(lambda a, c: info_nce_loss(a, c, 0.5, normalize=False), lambda a, c: ref_info_nce(a, c, 0.5), [a, c])


def test_gradcheck():
    queue = random_embeddings(K, D, 2)
    assert_gradcheck(lambda a, c, q: info_nce_loss(a, c, 0.3, extra_negatives=q, chunk_size=2),
                     [random_embeddings(N, D, 0), random_embeddings(N, D, 1), queue])


def test_permutation_invariance():
    assert_permutation_invariant(lambda a, c: info_nce_loss(a, c, 0.1), [random_embeddings(N, D, 0),
                                                                    random_embeddings(N, D, 1)], batch_args=[0, 1])


def test_temperature_to_zero_is_the_hinge_on_the_hardest_negative():
    a, c = l2n(random_embeddings(N, D, 0)), l2n(random_embeddings(N, D, 1))
    s = a @ c.T
    hardest = s.masked_fill(torch.eye(N, dtype=torch.bool), -math.inf).amax(1)
    expected = (hardest - s.diag()).clamp_min(0).mean()
    t = 1e-4
    torch.testing.assert_close(info_nce_loss(a, c, t) * t, expected, rtol=0, atol=1e-3)


def test_all_equal_embeddings_give_log_of_all_candidates():
    x = torch.ones(N, D, dtype=torch.float64)
    torch.testing.assert_close(info_nce_loss(x, x, 0.1), torch.tensor(math.log(N), dtype=torch.float64))
    queue = torch.ones(K, D, dtype=torch.float64)
    torch.testing.assert_close(info_nce_loss(x, x, 0.1, extra_negatives=queue),
                               torch.tensor(math.log(N + K), dtype=torch.float64))


def test_zero_and_duplicated_vectors_are_finite():
    a = torch.zeros(N, D, dtype=torch.float64)
    c = torch.ones(N, D, dtype=torch.float64)
    assert_finite_grads(lambda a, c: info_nce_loss(a, c, 0.1), [a, c])
    assert_finite_grads(lambda a, c: info_nce_loss(a, c, 0.1, chunk_size=2), [c, c])


def test_low_precision_and_autocast():
    a, c = random_embeddings(16, 8, 0), random_embeddings(16, 8, 1)
    assert_low_precision_close(lambda a, c: info_nce_loss(a, c, 0.1, chunk_size=5), [a, c])


@pytest.mark.parametrize(
    ("a", "c", "message"),
    [
        (torch.randn(4, 3), torch.randn(5, 3), "same shape"),
        (torch.full((4, 3), math.nan), torch.randn(4, 3), "anchors contains NaN"),
        (torch.randn(4, 3), torch.full((4, 3), math.inf), "candidates contains NaN"),
        (torch.randn(4), torch.randn(4), "same shape"),
    ],
)
def test_bad_input(a, c, message):
    with pytest.raises(ValueError, match=message):
        info_nce_loss(a, c)


def test_nan_extra_negatives_are_rejected():
    with pytest.raises(ValueError, match="extra_negatives"):
        info_nce_loss(torch.randn(4, 3), torch.randn(4, 3), extra_negatives=torch.full((2, 3), math.nan))
