"""contrastkit.atomic: a write that fails midway leaves the previous file whole and no debris."""

from __future__ import annotations

import errno

import pytest
import torch
from contrastkit.atomic import torch_save_atomic, write_atomic, write_text_atomic


def test_a_full_disk_midway_keeps_the_previous_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "state.txt"
    write_text_atomic(path, "old")

    def half_then_full(f):
        f.write(b"ne")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        write_atomic(path, half_then_full)
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.txt"]


def test_torch_objects_round_trip(tmp_path):
    path = torch_save_atomic({"w": torch.arange(5)}, tmp_path / "sub" / "x.ckpt")
    assert torch.equal(torch.load(path, weights_only=True)["w"], torch.arange(5))
