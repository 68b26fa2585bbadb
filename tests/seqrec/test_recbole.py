"""The RecBole ``.inter`` reader: round trip of a real file, timestamp order, bad headers."""

from __future__ import annotations

import numpy as np
import pytest
from seqrec.data import read_inter_file, read_sequence_file, write_inter_file


@pytest.mark.realdata
def test_round_trip_of_real_file_keeps_every_sequence(real_dir, tmp_path):
    text = read_sequence_file(real_dir / "Beauty.txt")
    inter = read_inter_file(write_inter_file(text, tmp_path / "Beauty.inter"))
    assert inter.stats() == text.stats()
    assert np.array_equal(inter.user_ids, text.user_ids)
    assert all(np.array_equal(a, b) for a, b in zip(inter.sequences, text.sequences))


def test_timestamp_orders_each_user_stably(tmp_path):
    p = tmp_path / "t.inter"
    p.write_text(
        "user_id:token\titem_id:token\ttimestamp:float\n"
        "7\t3\t30\n8\t1\t5\n7\t1\t10\n7\t2\t10\n8\t2\t1\n8\t3\t9\n7\t4\t5\n"
    )
    data = read_inter_file(p)
    assert list(data.user_ids) == [7, 8]
    assert list(data.sequences[0]) == [4, 1, 2, 3]  # 5, 10, 10 (file order kept), 30
    assert list(data.sequences[1]) == [2, 1, 3]
    unordered = read_inter_file(p, order_by=None)
    assert list(unordered.sequences[0]) == [3, 1, 2, 4]


def test_string_tokens_need_remap(tmp_path):
    p = tmp_path / "s.inter"
    p.write_text("user_id:token\titem_id:token\nu\tb\nu\ta\nu\tb\nv\ta\nv\tc\nv\td\n")
    with pytest.raises(ValueError, match="item token 'b' is not an integer; pass remap=True"):
        read_inter_file(p)
    data = read_inter_file(p, remap=True)
    assert [list(s) for s in data.sequences] == [[1, 2, 1], [2, 3, 4]]
    assert data.num_items == 4


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty file"),
        ("user_id\titem_id\n1\t2\n", "not 'name:type'"),
        ("user_id:token\tthing:token\n1\t2\n", "no 'item_id' field"),
        ("user_id:token\titem_id:token\n1\t2\t3\n", "t.inter:2: 3 columns, header has 2"),
        ("user_id:token\titem_id:token\ttimestamp:float\n1\t2\tnoon\n", "timestamp 'noon' is not a number"),
    ],
)
def test_bad_files(tmp_path, text, message):
    p = tmp_path / "t.inter"
    p.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_inter_file(p)
