"""The contrastive kernel against the float64 loop reference, for every option."""

from __future__ import annotations

import math

import pytest
import torch
from contrastkit.functional import contrastive_cross_entropy
from contrastkit.testing import l2n, ref_weighted_ce
from contrastkit.testing.checks import assert_finite_grads, assert_matches, value_and_grads

N, M, D = 7, 9, 5


def _rand(*shape, seed=0, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _cases():
    """name -> (kernel kwargs without tensors that need grad, tensors that get gradients)."""
    g = torch.Generator().manual_seed(1)
    a, c = l2n(_rand(N, D, seed=2)), l2n(_rand(M, D, seed=3))
    idx = torch.tensor([0, 3, -1, 8, 2, 2, 5])
    labels_a = torch.tensor([0, 1, 2, 1, 0, 7, 2])  # label 7 has no candidate: dropped
    labels_c = torch.tensor([1, 0, 2, 2, 1, 0, 3, 1, 0])
    w = torch.rand(N, M, generator=g, dtype=torch.float64)
    w[2] = 0.0  # a row without positives
    w[w < 0.3] = 0.0
    self_idx = torch.tensor([0, 1, 2, -1, 4, 5, 6])
    queue = l2n(_rand(4, D, seed=4))
    per_anchor_neg = l2n(_rand(N, 3, D, seed=5))
    temp = 0.05 + torch.rand(N, generator=g, dtype=torch.float64)
    return {
        "index": ({"positive_index": idx, "temperature": 0.2}, [a, c]),
        "index_self": ({"positive_index": idx, "self_index": self_idx, "temperature": 0.3}, [a, c]),
        "labels_self": (
            {"anchor_labels": labels_a, "candidate_labels": labels_c, "self_index": self_idx, "temperature": 0.1}, [a, c],
        ),
        "weights": ({"weights": w, "temperature": 0.15}, [a, c]),
        "weights_self": ({"weights": w, "self_index": self_idx, "temperature": 0.15}, [a, c]),
        "queue": ({"positive_index": idx, "temperature": 0.2}, [a, c, queue]),
        "per_anchor_negatives": ({"weights": w, "temperature": 0.2}, [a, c, per_anchor_neg]),
        "decoupled_index": ({"positive_index": idx, "self_index": self_idx, "positive_in_denominator": False,
                                 "temperature": 0.25}, [a, c]),
        "decoupled_labels": ({"anchor_labels": labels_a, "candidate_labels": labels_c, "positive_in_denominator": False,
                                  "temperature": 0.25}, [a, c]),
        "per_anchor_temperature": ({"anchor_labels": labels_a, "candidate_labels": labels_c}, [a, c, temp]),
        "sum": ({"weights": w, "reduction": "sum", "temperature": 0.3}, [a, c]),
        "symmetric_index": ({"positive_index": idx, "symmetric": True, "temperature": 0.2}, [a, c]),
        "symmetric_weights": ({"weights": w, "symmetric": True, "temperature": 0.2}, [a, c]),
        "symmetric_labels_self": ({"anchor_labels": labels_a, "candidate_labels": labels_c, "self_index": self_idx,
                                       "symmetric": True, "temperature": 0.2}, [a, c]),
    }


CASES = _cases()


def _fns(name, chunk_size=None):
    kw, tensors = CASES[name]

    def split(*ts):
        a, c, *rest = ts
        kwargs = dict(kw)
        if name == "per_anchor_temperature":
            kwargs["temperature"] = rest[0]
        elif rest:
            kwargs["extra_negatives"] = rest[0]
        return a, c, kwargs

    def fast(*ts):
        a, c, kwargs = split(*ts)
        return contrastive_cross_entropy(a, c, chunk_size=chunk_size, **kwargs).loss

    def ref(*ts):
        a, c, kwargs = split(*ts)
        return ref_weighted_ce(a, c, **kwargs).loss

    return fast, ref, tensors


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("chunk_size", [None, 3])
def test_value_and_gradients_match_loop_reference(name, chunk_size):
    fast, ref, tensors = _fns(name, chunk_size)
    value = assert_matches(fast, ref, tensors)
    assert value > 0


@pytest.mark.parametrize("name", sorted(CASES))
def test_per_anchor_and_num_dropped_match_reference(name):
    kw, tensors = CASES[name]
    a, c, *rest = tensors
    if name == "per_anchor_temperature":
        kw = dict(kw, temperature=rest[0])
    elif rest:
        kw = dict(kw, extra_negatives=rest[0])
    out = contrastive_cross_entropy(a, c, chunk_size=2, **kw)
    ref = ref_weighted_ce(a, c, **kw)
    assert out.num_dropped == ref.num_dropped
    torch.testing.assert_close(out.per_anchor, ref.per_anchor)


def test_dropped_anchors_are_counted():
    kw, (a, c) = CASES["labels_self"]
    out = contrastive_cross_entropy(a, c, **kw)
    labels_a, labels_c, self_idx = kw["anchor_labels"], kw["candidate_labels"], kw["self_index"]
    expected = sum(
        1 for i in range(N)
        if not any(int(labels_a[i]) == int(labels_c[j]) and j != int(self_idx[i]) for j in range(M))
    )
    assert expected >= 1
    assert out.num_dropped == expected
    assert out.per_anchor[5] == 0  # label 7 has no candidate


def test_all_anchors_dropped_gives_zero_loss_and_zero_grad():
    a = _rand(4, D).requires_grad_()
    c = _rand(4, D, seed=1)
    out = contrastive_cross_entropy(a, c, positive_index=torch.full((4,), -1))
    out.loss.backward()
    assert out.num_dropped == 4 and out.loss.item() == 0.0
    assert torch.count_nonzero(a.grad) == 0


def test_temperature_gradient_matches_reference():
    fast, ref, tensors = _fns("per_anchor_temperature", chunk_size=2)
    _, g_fast = value_and_grads(fast, tensors)
    _, g_ref = value_and_grads(ref, tensors)
    assert g_fast[2].abs().sum() > 0
    torch.testing.assert_close(g_fast[2], g_ref[2])


def test_scalar_temperature_tensor_gets_gradient():
    a, c = l2n(_rand(N, D)), l2n(_rand(M, D, seed=1))
    idx = torch.arange(N)
    fast = lambda a, c, t: contrastive_cross_entropy(a, c, positive_index=idx, temperature=t, chunk_size=3).loss
    ref = lambda a, c, t: ref_weighted_ce(a, c, positive_index=idx, temperature=t).loss
    assert_matches(fast, ref, [a, c, torch.tensor(0.2, dtype=torch.float64)])


@pytest.mark.parametrize("name", ["index_self", "weights", "queue", "per_anchor_negatives", "symmetric_weights",
                                  "per_anchor_temperature"])
def test_gradcheck(name):
    fast, _, tensors = _fns(name, chunk_size=4)
    leaves = [t.detach().clone().requires_grad_() for t in tensors]
    assert torch.autograd.gradcheck(fast, leaves, eps=1e-6, atol=1e-6)


def test_temperature_to_zero_limit():
    """As t -> 0, t * l_i -> max(0, max_{k != pos} s_ik - s_i,pos) (hinge on the hardest negative)."""
    a, c = l2n(_rand(N, D)), l2n(_rand(M, D, seed=1))
    idx = torch.arange(N)
    s = a @ c.T
    neg = s.clone()
    neg[idx, idx] = -math.inf
    expected = (neg.amax(1) - s[idx, idx]).clamp_min(0).mean()
    t = 1e-4
    out = contrastive_cross_entropy(a, c, positive_index=idx, temperature=t)
    torch.testing.assert_close(out.loss * t, expected, rtol=0, atol=1e-3)


def test_all_equal_embeddings_give_log_of_candidates():
    x = torch.ones(N, D, dtype=torch.float64) / math.sqrt(D)
    out = contrastive_cross_entropy(x, x, positive_index=torch.arange(N), self_index=torch.arange(N).roll(1))
    torch.testing.assert_close(out.loss, torch.tensor(math.log(N - 1), dtype=torch.float64))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision_inputs_are_finite_and_close(dtype):
    a, c = l2n(_rand(32, 16)), l2n(_rand(32, 16, seed=1))
    labels = torch.arange(32) % 5
    kw = {"anchor_labels": labels, "candidate_labels": labels, "self_index": torch.arange(32), "temperature": 0.05}
    low = assert_finite_grads(lambda a, c: contrastive_cross_entropy(a, c, chunk_size=8, **kw).loss,
                              [a.to(dtype), c.to(dtype)])
    exact = contrastive_cross_entropy(a, c, **kw).loss
    assert low.dtype == torch.float32
    torch.testing.assert_close(low.double(), exact, rtol=0.03, atol=0.03)


def test_autocast_bfloat16_accumulates_in_float32():
    a = l2n(_rand(32, 16)).float().requires_grad_()
    c = l2n(_rand(32, 16, seed=1)).float().requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = contrastive_cross_entropy(a, c, positive_index=torch.arange(32), temperature=0.1, chunk_size=5)
    out.loss.backward()
    assert out.loss.dtype == torch.float32 and a.grad.dtype == torch.float32
    assert torch.isfinite(a.grad).all() and torch.isfinite(c.grad).all()
    exact = contrastive_cross_entropy(a.double(), c.double(), positive_index=torch.arange(32), temperature=0.1)
    torch.testing.assert_close(out.loss.double(), exact.loss, rtol=0.02, atol=0.02)


def test_zero_and_duplicated_vectors_stay_finite():
    a = torch.zeros(6, D, dtype=torch.float64)
    a[3:] = 1.0
    c = torch.cat([a[:3], a[:3]])
    value = assert_finite_grads(
        lambda a, c: contrastive_cross_entropy(a, c, positive_index=torch.arange(6), chunk_size=4).loss, [a, c]
    )
    assert value > 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one form"),
        ({"positive_index": torch.arange(3)}, "positive_index must have shape"),
        ({"positive_index": torch.full((4,), 9)}, r"positive_index entries must lie in \[-1, M="),
        ({"anchor_labels": torch.arange(4)}, "candidate_labels"),
        ({"weights": -torch.ones(4, 5)}, "weights must be non-negative"),
        ({"weights": torch.ones(4, 4)}, "weights must have shape"),
        ({"positive_index": torch.arange(4), "temperature": 0.0}, "temperature must be finite and > 0"),
        ({"positive_index": torch.arange(4), "temperature": torch.ones(3)}, "temperature must be a scalar"),
        ({"positive_index": torch.arange(4), "reduction": "max"}, "reduction"),
        ({"positive_index": torch.arange(4), "chunk_size": 0}, "chunk_size"),
        ({"positive_index": torch.arange(4), "self_index": torch.arange(2)}, "self_index"),
        ({"positive_index": torch.arange(4), "extra_negatives": torch.ones(2, 3)}, "extra_negatives"),
        ({"positive_index": torch.arange(4), "symmetric": True, "extra_negatives": torch.ones(2, 3)},
         "not supported with symmetric"),
        ({"positive_index": torch.arange(4), "symmetric": True, "positive_in_denominator": False}, "symmetric=True"),
        ({"positive_index": torch.arange(4), "symmetric": True, "temperature": torch.tensor([0.1, 0.2, 0.3, 0.4])},
         "one scalar temperature"),
    ],
)
def test_bad_input_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        contrastive_cross_entropy(torch.randn(4, D), torch.randn(5, D), **kwargs)


def test_shape_errors():
    with pytest.raises(ValueError, match="must be 2-D"):
        contrastive_cross_entropy(torch.randn(4), torch.randn(5, D), positive_index=torch.arange(4))
    with pytest.raises(ValueError, match="feature dimension"):
        contrastive_cross_entropy(torch.randn(4, D), torch.randn(5, D + 1), positive_index=torch.arange(4))
    with pytest.raises(ValueError, match="must not be empty"):
        contrastive_cross_entropy(torch.randn(0, D), torch.randn(5, D), positive_index=torch.arange(0))


@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize("chunk_size", [None, 3])
def test_weights_and_inputs_are_not_modified(symmetric, chunk_size):
    kw, (a, c) = CASES["weights_self"]
    w = kw["weights"]
    saved = [t.clone() for t in (w, a, c)]
    contrastive_cross_entropy(a, c, weights=w, self_index=None if symmetric else kw["self_index"],
                              symmetric=symmetric, chunk_size=chunk_size)
    for before, after in zip(saved, (w, a, c), strict=True):
        assert torch.equal(before, after)
