"""CL4SRec's sequence augmentations (crop, mask, reorder), batched on tensors.

Xie et al., "Contrastive Learning for Sequential Recommendation", ICDE 2022; the rules follow
the official MCLRec data loader (``mclrec_aug``), applied to a whole right-padded batch at once:

* crop:    keep ``floor(n * crop_keep)`` consecutive items from a uniform start, moved to the front;
* mask:    set ``floor(n * mask_ratio)`` distinct positions to 0 (MCLRec's code masks with the
           padding id; CL4SRec's paper uses a [mask] token), length unchanged;
* reorder: shuffle a span of ``floor(n * reorder_ratio)`` consecutive items, length unchanged.

Sequences of length 1 are left as they are (as in the official code). Inputs ``seqs`` are
``(B, L)`` right-padded with 0 and ``lengths`` ``(B,)``; every function returns new
``(B, L)`` ids and ``(B,)`` lengths and draws from the global torch RNG (or ``generator``).
"""

from __future__ import annotations

import torch
from torch import Tensor

CROP, MASK, REORDER = 0, 1, 2
# The augmentation strengths of CL4SRec and MCLRec (official MCLRec code), one default for both.
CROP_KEEP, MASK_RATIO, REORDER_RATIO = 0.5, 0.5, 0.8


def _uniform_int(high_inclusive: Tensor, generator: torch.Generator | None) -> Tensor:
    """One uniform integer in ``0..high_inclusive[b]`` per row."""
    u = torch.rand(high_inclusive.shape, generator=generator, device=high_inclusive.device)
    return torch.minimum((u * (high_inclusive + 1)).long(), high_inclusive)


def _positions(seqs: Tensor) -> Tensor:
    return torch.arange(seqs.shape[1], device=seqs.device).expand_as(seqs)


def crop(seqs: Tensor, lengths: Tensor, keep: float = CROP_KEEP, generator: torch.Generator | None = None):
    """Keep a random window of ``floor(n * keep)`` items (at least 1 when n >= 2)."""
    n_keep = torch.floor(lengths.double() * keep).long().clamp(min=1, max=None)
    n_keep = torch.where(lengths <= 1, lengths, torch.minimum(n_keep, lengths))
    start = _uniform_int(lengths - n_keep, generator)
    pos = _positions(seqs)
    src = (start[:, None] + pos).clamp(max=seqs.shape[1] - 1)
    out = seqs.gather(1, src).masked_fill(pos >= n_keep[:, None], 0)
    return out, n_keep


def mask(seqs: Tensor, lengths: Tensor, ratio: float = MASK_RATIO, generator: torch.Generator | None = None):
    """Set ``floor(n * ratio)`` distinct random positions of each sequence to 0 (the padding id)."""
    n_mask = torch.floor(lengths.double() * ratio).long()
    n_mask = torch.where(lengths <= 1, torch.zeros_like(n_mask), n_mask)
    pos = _positions(seqs)
    keys = torch.rand(seqs.shape, generator=generator, device=seqs.device).masked_fill(pos >= lengths[:, None], 2.0)
    rank = keys.argsort(1).argsort(1)  # rank of each position among the real items
    return seqs.masked_fill(rank < n_mask[:, None], 0), lengths.clone()


def reorder(seqs: Tensor, lengths: Tensor, ratio: float = REORDER_RATIO, generator: torch.Generator | None = None):
    """Shuffle the items of a random span of ``floor(n * ratio)`` consecutive positions."""
    n_span = torch.floor(lengths.double() * ratio).long()
    n_span = torch.where(lengths <= 1, torch.zeros_like(n_span), n_span)
    start = _uniform_int(lengths - n_span, generator)
    pos = _positions(seqs)
    inside = (pos >= start[:, None]) & (pos < (start + n_span)[:, None])
    # Sort keys: outside the span a position keeps its index; inside, start + U[0, 1), so the span
    # stays in place and its items come out in a uniformly random order.
    noise = torch.rand(seqs.shape, generator=generator, device=seqs.device)
    keys = torch.where(inside, start[:, None].double() + noise.double(), pos.double())
    return seqs.gather(1, keys.argsort(1)), lengths.clone()


def augment(seqs: Tensor, lengths: Tensor, which: Tensor, *, crop_keep: float = CROP_KEEP,
            mask_ratio: float = MASK_RATIO, reorder_ratio: float = REORDER_RATIO, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """Apply augmentation ``which[b]`` (CROP, MASK or REORDER) to row ``b``."""
    c = crop(seqs, lengths, crop_keep, generator)
    m = mask(seqs, lengths, mask_ratio, generator)
    r = reorder(seqs, lengths, reorder_ratio, generator)
    w = which[:, None]
    out = torch.where(w == CROP, c[0], torch.where(w == MASK, m[0], r[0]))
    n = torch.where(which == CROP, c[1], torch.where(which == MASK, m[1], r[1]))
    return out, n


def two_views(seqs: Tensor, lengths: Tensor, *, distinct: bool, generator: torch.Generator | None = None,
              **ratios: float) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Two augmented views per sequence: ``(view1, len1, view2, len2)``.

    ``distinct=True`` draws two different augmentations per row, uniformly over the 6 ordered
    pairs (MCLRec: ``random.sample(range(3), k=2)``); ``distinct=False`` draws each view's
    augmentation independently (CL4SRec).
    """
    b = seqs.shape[0]
    a1 = torch.randint(0, 3, (b,), generator=generator, device=seqs.device)
    if distinct:
        a2 = (a1 + torch.randint(1, 3, (b,), generator=generator, device=seqs.device)) % 3
    else:
        a2 = torch.randint(0, 3, (b,), generator=generator, device=seqs.device)
    v1, n1 = augment(seqs, lengths, a1, generator=generator, **ratios)
    v2, n2 = augment(seqs, lengths, a2, generator=generator, **ratios)
    return v1, n1, v2, n2
