"""Invariants of the crop / mask / reorder augmentations and of the two-view draw."""

from __future__ import annotations

import math

import torch
from seqrec.augment import CROP, MASK, REORDER, augment, crop, mask, reorder, two_views


def _batch(lengths, width=12):
    """Rows of distinct items 1..n (row-specific offsets), right-padded with 0."""
    x = torch.zeros(len(lengths), width, dtype=torch.long)
    for r, n in enumerate(lengths):
        x[r, :n] = torch.arange(1, n + 1) + 100 * r
    return x, torch.tensor(lengths)


LENGTHS = [1, 2, 3, 5, 8, 12, 7, 4]


def test_crop_keeps_a_window_of_half():
    x, n = _batch(LENGTHS)
    for _ in range(20):
        out, m = crop(x, n, keep=0.5)
        for r, length in enumerate(LENGTHS):
            k = 1 if length == 1 else max(1, math.floor(length * 0.5))
            assert m[r] == k
            kept = out[r, :k].tolist()
            orig = x[r, :length].tolist()
            start = orig.index(kept[0])
            assert orig[start:start + k] == kept  # contiguous window of the original
            assert (out[r, k:] == 0).all()  # padding after the new length


def test_mask_blanks_exactly_half_and_keeps_the_rest():
    x, n = _batch(LENGTHS)
    for _ in range(20):
        out, m = mask(x, n, ratio=0.5)
        assert torch.equal(m, n)
        for r, length in enumerate(LENGTHS):
            row, orig = out[r, :length], x[r, :length]
            blanked = (row == 0).sum().item()
            assert blanked == (0 if length == 1 else math.floor(length * 0.5))
            assert torch.equal(row[row > 0], orig[row > 0])
            assert (out[r, length:] == 0).all()


def test_reorder_permutes_one_span():
    x, n = _batch(LENGTHS)
    for _ in range(20):
        out, m = reorder(x, n, ratio=0.8)
        assert torch.equal(m, n)
        for r, length in enumerate(LENGTHS):
            row, orig = out[r, :length], x[r, :length]
            assert sorted(row.tolist()) == sorted(orig.tolist())
            moved = torch.nonzero(row != orig).squeeze(1)
            span = 0 if length == 1 else math.floor(length * 0.8)
            if moved.numel():
                assert moved.max() - moved.min() + 1 <= span
            assert (out[r, length:] == 0).all()


def test_length_one_rows_are_untouched():
    x, n = _batch([1, 1])
    for which in (CROP, MASK, REORDER):
        out, m = augment(x, n, torch.full((2,), which))
        assert torch.equal(out, x) and torch.equal(m, n)


def _kind(view, length, n_orig):
    if length < n_orig:
        return CROP
    return MASK if (view[:length] == 0).any() else REORDER


def test_two_views_distinct_draws_every_ordered_pair_and_never_a_repeat():
    x, n = _batch([10] * 3000, width=10)
    torch.manual_seed(1)
    v1, n1, v2, n2 = two_views(x, n, distinct=True)
    pairs = [(_kind(v1[r], n1[r], 10), _kind(v2[r], n2[r], 10)) for r in range(3000)]
    assert all(a != b for a, b in pairs)
    counts = torch.tensor([pairs.count((a, b)) for a in range(3) for b in range(3) if a != b], dtype=torch.float)
    assert (counts / 3000 - 1 / 6).abs().max() < 0.03


def test_two_views_independent_can_repeat():
    x, n = _batch([10] * 3000, width=10)
    v1, n1, v2, n2 = two_views(x, n, distinct=False)
    same = sum(_kind(v1[r], n1[r], 10) == _kind(v2[r], n2[r], 10) for r in range(3000)) / 3000
    assert abs(same - 1 / 3) < 0.04
