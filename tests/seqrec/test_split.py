"""Leave-one-out: targets, padding, both training forms, and no test item in training rows."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from seqrec.data import SequenceData, leave_one_out, pad_right, read_sequence_file


def _data(seqs):
    return SequenceData([np.asarray(s) for s in seqs], np.arange(1, len(seqs) + 1), 9)


def test_pad_right_keeps_the_last_items():
    x, n = pad_right([np.array([1, 2, 3, 4]), np.array([5])], 3)
    assert x.tolist() == [[2, 3, 4], [5, 0, 0]] and n.tolist() == [3, 1]


def test_targets_and_shifted_rows():
    split = leave_one_out(_data([[1, 2, 3, 4, 5, 6], [7, 8, 9]]), max_len=3)
    assert split.test.targets.tolist() == [6, 9] and split.valid.targets.tolist() == [5, 8]
    assert split.test.inputs.tolist() == [[3, 4, 5], [7, 8, 0]]
    assert split.valid.inputs.tolist() == [[2, 3, 4], [7, 0, 0]]
    assert split.test.history.tolist() == [[1, 2, 3, 4, 5], [7, 8, 0, 0, 0]]
    # user 2 (n = 3) has a single training item: no training pair, still evaluated
    assert split.users_without_train_pair == 1
    assert split.train.inputs.tolist() == [[1, 2, 3]] and split.train.targets.tolist() == [[2, 3, 4]]


def test_prefix_rows_are_every_prefix():
    split = leave_one_out(_data([[1, 2, 3, 4, 5, 6]]), max_len=2, train_form="prefix")
    assert split.train.inputs.tolist() == [[1, 0], [1, 2], [2, 3]]
    assert split.train.lengths.tolist() == [1, 2, 2]
    assert split.train.targets.tolist() == [2, 3, 4]


def test_bad_arguments():
    with pytest.raises(ValueError, match="train_form"):
        leave_one_out(_data([[1, 2, 3]]), train_form="all")
    with pytest.raises(ValueError, match="user 1 has fewer than 3 items"):
        leave_one_out(SequenceData([np.array([1, 2])], np.array([1]), 9))


@pytest.mark.realdata
@pytest.mark.parametrize("form", ["shifted", "prefix"])
def test_no_held_out_item_in_training_rows(real_dir, form):
    data = read_sequence_file(real_dir / "Beauty.txt")
    split = leave_one_out(data, 50, form)
    rows = split.train
    if form == "shifted":
        # one row per user, in user order; every user of Beauty has >= 2 training items
        assert rows.inputs.shape[0] == len(data.sequences)
        held_out = torch.stack([split.valid.targets, split.test.targets], 1)  # (U, 2)
        seen = torch.cat([rows.inputs, rows.targets], 1)
        assert not (seen[:, :, None] == held_out[:, None, :]).any()  # Beauty has no repeats
        n = torch.as_tensor([len(s) for s in data.sequences])
        assert torch.equal(rows.lengths, (n - 3).clamp(max=50))
    else:
        assert rows.inputs.shape[0] == sum(len(s) - 3 for s in data.sequences)
        assert rows.targets.min() >= 1
    # padding: zero exactly after each row's length
    pos = torch.arange(rows.inputs.shape[1])
    assert torch.equal(rows.inputs > 0, pos[None] < rows.lengths[:, None])
