"""The text reader against the figures of ``seqrec_5core/README.txt`` and on bad input."""

from __future__ import annotations

import pytest
from seqrec.data import read_sequence_file

# users, items, actions, avg len (2 decimals), max len: seqrec_5core/README.txt
README = {
    "Beauty.txt": (22363, 12101, 198502, 8.88, 204),
    "Sports_and_Outdoors.txt": (35598, 18357, 296337, 8.32, 296),
    "Toys_and_Games.txt": (19412, 11924, 167597, 8.63, 550),
    "Yelp.txt": (30431, 20033, 316354, 10.40, 350),
}


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(README))
def test_statistics_match_readme(real_dir, name):
    data = read_sequence_file(real_dir / name)
    s = data.stats()
    users, items, actions, avg, longest = README[name]
    assert (s.users, s.items, s.actions, s.max_len) == (users, items, actions, longest)
    assert round(s.avg_len, 2) == avg
    assert s.max_item_id == items  # ids are contiguous 1..#items
    assert data.report.blank_lines == 0 and data.report.short_users == 0


def test_blank_lines_and_short_users_are_counted(tmp_path):
    p = tmp_path / "s.txt"
    p.write_text("1 1 2 3\n\n2 4 5\n   \n3 2 3 4 5\n")
    data = read_sequence_file(p)
    assert [u for u in data.user_ids] == [1, 3]
    assert data.report.blank_lines == 2 and data.report.short_users == 1
    assert [list(s) for s in data.sequences] == [[1, 2, 3], [2, 3, 4, 5]]
    assert data.num_items == 5  # ids kept as written, not remapped


@pytest.mark.parametrize(
    "text, message",
    [
        ("1 1 2 x\n", "s.txt:1: item id 'x' is not an integer"),
        ("a 1 2 3\n", "s.txt:1: user id 'a' is not an integer"),
        ("1 1 2 3\n2 0 1 2\n", "s.txt:2: item id 0 < 1"),
        ("1 1 2 3\n1 4 5 6\n", "s.txt:2: user 1 appears on more than one line"),
        ("1 1\n", "no user with at least 3 items"),
    ],
)
def test_bad_input_raises_naming_file_and_line(tmp_path, text, message):
    p = tmp_path / "s.txt"
    p.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_sequence_file(p)


def test_ids_above_declared_vocabulary(tmp_path):
    p = tmp_path / "s.txt"
    p.write_text("1 1 2 9\n")
    with pytest.raises(ValueError, match="item id 9 > num_items=5"):
        read_sequence_file(p, num_items=5)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        read_sequence_file(tmp_path / "nope.txt")
