"""Leave-one-out split and the padded tensors the models read.

Per user ``s = (i_1, ..., i_n)``: the test target is ``i_n`` (input ``i_1..i_{n-1}``), the
validation target ``i_{n-1}`` (input ``i_1..i_{n-2}``), and training sees ``i_1..i_{n-2}`` only.
Inputs keep their last ``max_len`` items and are right-padded with 0 (RecBole's layout: position
ids count from the first kept item, the representation is read at ``length - 1``).

Training uses every prefix of ``i_1..i_{n-2}`` as an example (``i_1..i_t -> i_{t+1}``). Two
equivalent forms are offered:

* ``"shifted"`` (default, cheaper): one row per user, inputs ``i_1..i_{n-3}``, targets
  ``i_2..i_{n-2}``; with a causal encoder, position ``t`` sees exactly the prefix ``i_1..i_t``,
  so the loss over all positions is the loss over all prefixes, in one encoder pass.
* ``"prefix"``: one row per prefix with its single next-item target (RecBole / official MCLRec
  layout; the contrastive views are then built per prefix).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from seqrec.data.sequences import SequenceData

TRAIN_FORMS = ("shifted", "prefix")


def pad_right(seqs: list[np.ndarray], max_len: int) -> tuple[Tensor, Tensor]:
    """Keep each sequence's last ``max_len`` items; return ``(N, max_len)`` ids padded with 0 on
    the right and ``(N,)`` lengths (>= 1)."""
    if max_len < 1:
        raise ValueError(f"max_len must be >= 1; got {max_len}")
    out = np.zeros((len(seqs), max_len), dtype=np.int64)
    lengths = np.zeros(len(seqs), dtype=np.int64)
    for r, s in enumerate(seqs):
        s = s[-max_len:]
        out[r, : len(s)] = s
        lengths[r] = len(s)
    return torch.from_numpy(out), torch.from_numpy(lengths)


@dataclass
class EvalSet:
    """Validation or test examples: ``inputs`` (U, L), ``lengths`` (U,), ``targets`` (U,), and
    ``history`` (U, H) the full input history (all of it, not only the last L) padded with 0,
    used when history items are excluded from the ranking."""

    inputs: Tensor
    lengths: Tensor
    targets: Tensor
    history: Tensor


@dataclass
class TrainSet:
    """Training rows: ``inputs`` (R, L), ``lengths`` (R,), ``targets`` (R, L) for the shifted form
    (0 where padded) or (R,) for the prefix form."""

    inputs: Tensor
    lengths: Tensor
    targets: Tensor
    form: str


@dataclass
class LeaveOneOut:
    """The three parts of the split and the item vocabulary size."""

    train: TrainSet
    valid: EvalSet
    test: EvalSet
    num_items: int
    train_sequences: list[np.ndarray]  # i_1..i_{n-2} per user (for popularity, statistics)
    users_without_train_pair: int  # users with n == 3: nothing to train on, still evaluated


def _eval_set(inputs: list[np.ndarray], targets: np.ndarray, max_len: int) -> EvalSet:
    x, lengths = pad_right(inputs, max_len)
    hist_len = max(len(s) for s in inputs)
    history, _ = pad_right(inputs, hist_len)
    return EvalSet(x, lengths, torch.from_numpy(targets.astype(np.int64)), history)


def _train_set(train_seqs: list[np.ndarray], max_len: int, form: str) -> TrainSet:
    usable = [s for s in train_seqs if len(s) >= 2]
    if not usable:
        raise ValueError("no user has at least 2 training items (every sequence is shorter than 4)")
    if form == "shifted":
        x, lengths = pad_right([s[:-1] for s in usable], max_len)
        y, _ = pad_right([s[1:] for s in usable], max_len)
        return TrainSet(x, lengths, y, form)
    prefixes = [s[:t] for s in usable for t in range(1, len(s))]
    targets = np.fromiter((s[t] for s in usable for t in range(1, len(s))), dtype=np.int64)
    x, lengths = pad_right(prefixes, max_len)
    return TrainSet(x, lengths, torch.from_numpy(targets), form)


def leave_one_out(data: SequenceData, max_len: int = 50, train_form: str = "shifted") -> LeaveOneOut:
    """Split every user's sequence (length >= 3) into train / validation / test (module docstring)."""
    if train_form not in TRAIN_FORMS:
        raise ValueError(f"train_form must be one of {TRAIN_FORMS}; got {train_form!r}")
    short = [u for u, s in zip(data.user_ids, data.sequences) if len(s) < 3]
    if short:
        raise ValueError(f"{data.source}: user {short[0]} has fewer than 3 items; leave-one-out needs 3")
    seqs = data.sequences
    train_seqs = [s[:-2] for s in seqs]
    valid = _eval_set(train_seqs, np.array([s[-2] for s in seqs]), max_len)
    test = _eval_set([s[:-1] for s in seqs], np.array([s[-1] for s in seqs]), max_len)
    return LeaveOneOut(
        train=_train_set(train_seqs, max_len, train_form), valid=valid, test=test,
        num_items=data.num_items, train_sequences=train_seqs,
        users_without_train_pair=sum(len(s) < 2 for s in train_seqs),
    )
