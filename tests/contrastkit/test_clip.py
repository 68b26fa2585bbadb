"""clip_loss against the float64 loop reference, its limits and its robustness."""

from __future__ import annotations

import math

import pytest
import torch
from contrastkit.functional import clip_loss
from contrastkit.testing import l2n, ref_clip
from contrastkit.testing.checks import (
    assert_finite_grads,
    assert_gradcheck,
    assert_low_precision_close,
    assert_matches,
    assert_permutation_invariant,
    random_embeddings,
)

N, D = 6, 5


@pytest.mark.parametrize("chunk_size", [None, 4])
def test_matches_reference_including_scale_gradient(chunk_size):
    a, b = random_embeddings(N, D, 0), random_embeddings(N, D, 1)
    scale = torch.tensor(7.0, dtype=torch.float64)
    value = assert_matches(lambda a, b, s: clip_loss(a, b, s, chunk_size=chunk_size),
                           lambda a, b, s: ref_clip(l2n(a), l2n(b), s), [a, b, scale])
    assert value > 0


def test_gradcheck():
    assert_gradcheck(lambda a, b, s: clip_loss(a, b, s, chunk_size=4),
                     [random_embeddings(N, D, 0), random_embeddings(N, D, 1), torch.tensor(3.0)])


def test_permutation_and_modality_swap_invariance():
    a, b = random_embeddings(N, D, 0), random_embeddings(N, D, 1)
    assert_permutation_invariant(lambda a, b: clip_loss(a, b, 10.0), [a, b], batch_args=[0, 1])
    torch.testing.assert_close(clip_loss(a, b, 10.0), clip_loss(b, a, 10.0))


def test_large_scale_limit():
    a, b = l2n(random_embeddings(N, D, 0)), l2n(random_embeddings(N, D, 1))
    s = a @ b.T
    eye = torch.eye(N, dtype=torch.bool)
    row = (s.masked_fill(eye, -math.inf).amax(1) - s.diag()).clamp_min(0).mean()
    col = (s.masked_fill(eye, -math.inf).amax(0) - s.diag()).clamp_min(0).mean()
    scale = 1e4
    torch.testing.assert_close(clip_loss(a, b, scale) / scale, 0.5 * (row + col), rtol=0, atol=1e-3)


def test_all_equal_embeddings_give_log_n():
    x = torch.ones(N, D, dtype=torch.float64)
    torch.testing.assert_close(clip_loss(x, x, 14.3), torch.tensor(math.log(N), dtype=torch.float64))


def test_zero_and_duplicated_vectors_are_finite():
    zeros = torch.zeros(N, D, dtype=torch.float64)
    assert_finite_grads(lambda a, b: clip_loss(a, b, 100.0), [zeros, zeros])
    dup = random_embeddings(1, D, 0).expand(N, D)
    assert_finite_grads(lambda a, b: clip_loss(a, b, 100.0, chunk_size=2), [dup, dup])


def test_low_precision_and_autocast():
    assert_low_precision_close(lambda a, b: clip_loss(a, b, 1 / 0.07, chunk_size=5),
                               [random_embeddings(16, 8, 0), random_embeddings(16, 8, 1)])


def test_bad_input():
    with pytest.raises(ValueError, match="logit_scale"):
        clip_loss(torch.randn(4, 3), torch.randn(4, 3), -1.0)
    with pytest.raises(ValueError, match="b contains NaN"):
        clip_loss(torch.randn(4, 3), torch.full((4, 3), math.nan), 10.0)
