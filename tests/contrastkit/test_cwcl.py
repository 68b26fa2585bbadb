"""cwcl_loss (Srinivasa et al. 2023) against the float64 loop reference, its limits and robustness."""

from __future__ import annotations

import math

import pytest
import torch
from contrastkit.functional import clip_loss, cwcl_loss, cwcl_weights
from contrastkit.testing import l2n, ref_cwcl
from contrastkit.testing.checks import (
    assert_finite_grads,
    assert_gradcheck,
    assert_low_precision_close,
    assert_matches,
    assert_permutation_invariant,
    random_embeddings,
)

N, D = 6, 5


def _weights(seed: int = 7) -> torch.Tensor:
    w = torch.rand(N, N, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    w[w < 0.4] = 0.0
    return w


@pytest.mark.parametrize("chunk_size", [None, 4])
@pytest.mark.parametrize("symmetric", [True, False])
def test_matches_reference(chunk_size, symmetric):
    a, b, w = random_embeddings(N, D, 0), random_embeddings(N, D, 1), _weights()
    value = assert_matches(lambda a, b: cwcl_loss(a, b, w, 0.1, symmetric=symmetric, chunk_size=chunk_size),
                           lambda a, b: ref_cwcl(l2n(a), l2n(b), w, 0.1, symmetric=symmetric), [a, b])
    assert value > 0


def test_explicit_reverse_weights_equal_the_transpose_default():
    a, b, w = random_embeddings(N, D, 0), random_embeddings(N, D, 1), _weights()
    torch.testing.assert_close(cwcl_loss(a, b, w, weights_ba=w.T.contiguous(), chunk_size=4), cwcl_loss(a, b, w))


def test_paper_weights_are_intra_modal_similarity_in_unit_interval():
    x = random_embeddings(N, D, 3)
    w = cwcl_weights(x)
    xn = l2n(x)
    torch.testing.assert_close(w, (xn @ xn.T) / 2 + 0.5)
    torch.testing.assert_close(w.diag(), torch.ones(N, dtype=torch.float64))


def test_one_hot_weights_give_clip():
    a, b = random_embeddings(N, D, 0), random_embeddings(N, D, 1)
    eye = torch.eye(N, dtype=torch.float64)
    torch.testing.assert_close(cwcl_loss(a, b, eye, 0.1), clip_loss(a, b, 10.0))


def test_rows_without_weight_are_dropped_and_counted():
    a, b, w = random_embeddings(N, D, 0), random_embeddings(N, D, 1), _weights()
    w[2] = 0.0
    out = cwcl_loss(a, b, w, symmetric=False, return_output=True)
    assert out.num_dropped == 1 and out.per_anchor[2] == 0 and torch.isfinite(out.loss)


def test_gradcheck():
    w = _weights()
    assert_gradcheck(lambda a, b: cwcl_loss(a, b, w, 0.2, chunk_size=4),
                     [random_embeddings(N, D, 0), random_embeddings(N, D, 1)])


def test_permutation_invariance():
    assert_permutation_invariant(lambda a, b, w: cwcl_loss(a, b, w),
                                 [random_embeddings(N, D, 0), random_embeddings(N, D, 1), _weights()],
                                 batch_args=[0, 1], square_args=[2])


def test_temperature_to_zero_limit():
    a, b, w = l2n(random_embeddings(N, D, 0)), l2n(random_embeddings(N, D, 1)), _weights()
    s = a @ b.T
    q = w / w.sum(1, keepdim=True)
    expected = (q * (s.amax(1, keepdim=True) - s)).sum(1).mean()
    t = 1e-4
    torch.testing.assert_close(cwcl_loss(a, b, w, t, symmetric=False) * t, expected, rtol=0, atol=1e-3)


def test_all_equal_embeddings_give_log_n():
    x = torch.ones(N, D, dtype=torch.float64)
    torch.testing.assert_close(cwcl_loss(x, x, _weights()), torch.tensor(math.log(N), dtype=torch.float64))


def test_zero_and_duplicated_vectors_are_finite():
    zeros = torch.zeros(N, D, dtype=torch.float64)
    assert_finite_grads(lambda a, b: cwcl_loss(a, b, _weights()), [zeros, zeros])
    dup = random_embeddings(1, D, 0).expand(N, D)
    assert_finite_grads(lambda a, b: cwcl_loss(a, b, _weights(), chunk_size=2), [dup, dup])


def test_low_precision_and_autocast():
    a, b = random_embeddings(16, 8, 0), random_embeddings(16, 8, 1)
    w = cwcl_weights(b)
    assert_low_precision_close(lambda a, b: cwcl_loss(a, b, w, 0.1, chunk_size=5), [a, b])


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (torch.full((4, 4), 1.5), r"weights must lie in \[0, 1\]"),
        (torch.full((4, 4), -0.1), r"weights must lie in \[0, 1\]"),
        (torch.full((4, 4), math.nan), "weights contains NaN"),
        (torch.ones(4, 3), "weights must have shape"),
    ],
)
def test_bad_weights(weights, message):
    with pytest.raises(ValueError, match=message):
        cwcl_loss(torch.randn(4, 3), torch.randn(4, 3), weights)
