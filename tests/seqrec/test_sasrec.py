"""The SASRec encoder: causality, padding, and the last-position shortcut equal to the full pass."""

from __future__ import annotations

import pytest
import torch
from seqrec.models import SASRecEncoder


def _encoder():
    torch.manual_seed(0)
    return SASRecEncoder(30, max_len=7, hidden=8, n_layers=2, heads=2, inner=16, dropout=0.5,
                         attn_dropout=0.5).double().eval()


SEQS = torch.tensor([[3, 4, 5, 6, 7, 8, 9], [1, 2, 0, 0, 0, 0, 0], [0, 11, 12, 0, 0, 0, 0], [5, 0, 6, 7, 0, 0, 0]])
LENGTHS = torch.tensor([7, 2, 3, 4])  # row 3: a masked (0) item inside, row 2: the first item masked


def test_forward_split_equals_the_full_pass():
    enc = _encoder()
    full = enc(SEQS)
    last = full[torch.arange(4), LENGTHS - 1]
    for n_full in (0, 2, 4):
        head, reps = enc.forward_split(SEQS, LENGTHS, n_full)
        torch.testing.assert_close(head, full[:n_full])
        torch.testing.assert_close(reps, last[n_full:])
    torch.testing.assert_close(enc.represent(SEQS, LENGTHS), last)


def test_causal_and_padding_invariant():
    enc = _encoder()
    full = enc(SEQS)
    changed = SEQS.clone()
    changed[0, 5:] = torch.tensor([20, 21])  # the future of position 4
    torch.testing.assert_close(enc(changed)[0, :5], full[0, :5])
    trimmed = enc(SEQS[1:2, :2])  # cutting trailing padding changes nothing
    torch.testing.assert_close(trimmed[0], full[1, :2])
    assert torch.isfinite(full).all()  # a row whose first key is padding attends uniformly, no NaN


def test_too_long_input():
    with pytest.raises(ValueError, match="exceeds max_len=7"):
        _encoder()(torch.ones(1, 8, dtype=torch.long))
