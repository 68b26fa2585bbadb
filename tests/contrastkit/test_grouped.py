"""The grouped kernel against the float64 loop reference, one group at a time."""

from __future__ import annotations

import pytest
import torch
from contrastkit.functional import contrastive_cross_entropy, grouped_contrastive_cross_entropy
from contrastkit.testing import ref_weighted_ce
from contrastkit.testing.checks import assert_gradcheck, assert_matches

G, N, M, D = 4, 6, 7, 5


def _rand(*shape, seed=0, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _reference(a, c, pos, self_idx, temperature, reduction="mean"):
    """Sum of the per-group loop references, divided by the kept anchors of all groups."""
    total, kept = a.new_zeros(()), 0
    for g in range(a.shape[0]):
        p = pos if pos.dim() == 1 else pos[g]
        s = None if self_idx is None else (self_idx if self_idx.dim() == 1 else self_idx[g])
        out = ref_weighted_ce(a[g], c[g], positive_index=p, self_index=s, temperature=temperature, reduction="sum")
        total = total + out.loss
        kept += a.shape[1] - out.num_dropped
    return total / (max(kept, 1) if reduction == "mean" else 1)


CASES = {
    "shared_index": (torch.tensor([0, 3, -1, 6, 2, 2]), None),
    "per_group_index_and_self": (
        torch.stack([torch.tensor([1, 2, 3, 4, 5, 6]), torch.tensor([6, 5, 4, 3, 2, 1]),
                     torch.tensor([0, -1, 0, 1, 1, 0]), torch.tensor([2, 2, 2, 2, 2, 2])]),
        torch.tensor([0, 1, 2, -1, 4, 5]),
    ),
    "positive_is_self_is_dropped": (torch.tensor([0, 1, 3, 3, 4, 6]), torch.tensor([0, 1, 2, 3, 4, 5])),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("chunk_size", [None, 1, 3])
def test_matches_loop_reference(case, reduction, chunk_size):
    pos, self_idx = CASES[case]
    a, c = _rand(G, N, D, seed=1), _rand(G, M, D, seed=2)
    value = assert_matches(
        lambda a, c: grouped_contrastive_cross_entropy(a, c, positive_index=pos, self_index=self_idx, temperature=0.7,
                                                       chunk_size=chunk_size, reduction=reduction).loss,
        lambda a, c: _reference(a, c, pos, self_idx, 0.7, reduction),
        [a, c],
    )
    assert float(value) > 0.1


def test_equals_one_kernel_call_per_group_and_counts_dropped():
    pos, self_idx = CASES["per_group_index_and_self"]
    a, c = _rand(G, N, D, seed=3, dtype=torch.float32), _rand(G, M, D, seed=4, dtype=torch.float32)
    out = grouped_contrastive_cross_entropy(a, c, positive_index=pos, self_index=self_idx, temperature=0.3)
    per_group = [contrastive_cross_entropy(a[g], c[g], positive_index=pos[g], self_index=self_idx, temperature=0.3)
                 for g in range(G)]
    torch.testing.assert_close(out.per_anchor, torch.stack([o.per_anchor for o in per_group]))
    assert out.num_dropped == sum(o.num_dropped for o in per_group) == 3  # one -1, two positives that are the anchor itself


def test_same_tensor_as_anchors_and_candidates_two_view_ntxent():
    """The TS2Vec/COMET use: groups of [view1; view2], positive = the other view, self excluded."""
    z = _rand(3, 8, D, seed=5)
    idx = torch.arange(8)
    pos, self_idx = (idx + 4) % 8, idx
    assert_matches(
        lambda z: grouped_contrastive_cross_entropy(z, z, positive_index=pos, self_index=self_idx, temperature=1.0).loss,
        lambda z: _reference(z, z, pos, self_idx, 1.0),
        [z],
    )
    assert_gradcheck(
        lambda z: grouped_contrastive_cross_entropy(z, z, positive_index=pos, self_index=self_idx, temperature=1.0).loss,
        [z],
    )


def test_float32_close_to_float64():
    pos, self_idx = CASES["shared_index"]
    a, c = _rand(G, N, D, seed=6), _rand(G, M, D, seed=7)
    l64 = grouped_contrastive_cross_entropy(a, c, positive_index=pos, self_index=self_idx).loss
    l32 = grouped_contrastive_cross_entropy(a.float(), c.float(), positive_index=pos, self_index=self_idx).loss
    assert l32.dtype == torch.float32
    torch.testing.assert_close(l32.double(), l64, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"anchors": torch.zeros(N, D)}, "3-D"),
        ({"candidates": torch.zeros(G + 1, M, D)}, "group count"),
        ({"positive_index": torch.zeros(N + 1, dtype=torch.long)}, "positive_index must have shape"),
        ({"positive_index": torch.full((N,), M)}, r"positive_index entries must lie in \[-1, M="),
        ({"self_index": torch.zeros(G, N + 1, dtype=torch.long)}, "self_index must have shape"),
        ({"temperature": 0.0}, "temperature"),
        ({"temperature": torch.tensor(0.1)}, "temperature"),
        ({"reduction": "max"}, "reduction"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"anchors": torch.zeros(G, 0, D)}, "empty"),
    ],
)
def test_bad_input_is_named(kwargs, message):
    args = {"anchors": torch.zeros(G, N, D), "candidates": torch.zeros(G, M, D),
            "positive_index": torch.zeros(N, dtype=torch.long)} | kwargs
    a, c = args.pop("anchors"), args.pop("candidates")
    with pytest.raises(ValueError, match=message):
        grouped_contrastive_cross_entropy(a, c, **args)


def test_autocast_runs_in_float32():
    """Under bf16 autocast the logits, softmax and gradients stay in float32 (as documented)."""
    pos, self_idx = CASES["shared_index"]
    a = _rand(G, N, D, seed=8, dtype=torch.float32).requires_grad_()
    c = _rand(G, M, D, seed=9, dtype=torch.float32).requires_grad_()
    plain = grouped_contrastive_cross_entropy(a, c, positive_index=pos, self_index=self_idx)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        auto = grouped_contrastive_cross_entropy(a, c, positive_index=pos, self_index=self_idx)
    auto.loss.backward()
    assert auto.loss.dtype == torch.float32 and a.grad.dtype == torch.float32
    torch.testing.assert_close(auto.loss, plain.loss)
