"""Interaction sequences in memory, their statistics, and the ``user item item ...`` text reader.

The text format (SASRec, CoSeRec, ICLRec, MCLRec): one user per line, space separated,
``user_id item_id item_id ...`` in chronological order; item ids are 1-based integers, 0 is
reserved for padding. Ids are never remapped by this reader: what the file says is what the
model sees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class ReadReport:
    """What a reader skipped or dropped, counted (documented filters, never silent)."""

    blank_lines: int = 0
    short_users: int = 0  # users with fewer than ``min_length`` items, dropped


@dataclass(frozen=True)
class SequenceData:
    """Chronological item sequences, one per user.

    sequences: list of ``(n_u,)`` int64 arrays of item ids in ``1..num_items``.
    user_ids:  ``(U,)`` the users' ids as given by the file.
    num_items: the largest valid item id (the model scores items ``1..num_items``).
    """

    sequences: list[np.ndarray]
    user_ids: np.ndarray
    num_items: int
    source: str = "<memory>"
    report: ReadReport = field(default_factory=ReadReport)

    def __post_init__(self) -> None:
        if len(self.sequences) != len(self.user_ids):
            raise ValueError(f"{self.source}: {len(self.sequences)} sequences but {len(self.user_ids)} user ids")
        if not self.sequences:
            raise ValueError(f"{self.source}: no user sequences")
        for u, s in zip(self.user_ids, self.sequences):
            if s.size == 0:
                raise ValueError(f"{self.source}: user {u} has an empty sequence")
            if s.min() < 1 or s.max() > self.num_items:
                raise ValueError(
                    f"{self.source}: user {u} has an item id outside 1..{self.num_items} "
                    f"(min {s.min()}, max {s.max()}); 0 is the padding id"
                )

    @property
    def lengths(self) -> np.ndarray:
        """``(U,)`` sequence lengths."""
        return np.fromiter((len(s) for s in self.sequences), dtype=np.int64, count=len(self.sequences))

    def stats(self) -> DatasetStats:
        """Users, distinct items, actions, average and maximum length."""
        lengths = self.lengths
        distinct = np.unique(np.concatenate(self.sequences)).size
        return DatasetStats(
            users=len(self.sequences), items=int(distinct), actions=int(lengths.sum()),
            avg_len=float(lengths.mean()), max_len=int(lengths.max()), max_item_id=self.num_items,
        )


@dataclass(frozen=True)
class DatasetStats:
    """The figures of the ``seqrec_5core`` README table (``avg_len`` = actions / users)."""

    users: int
    items: int
    actions: int
    avg_len: float
    max_len: int
    max_item_id: int

    def row(self) -> str:
        return (f"users {self.users:,}  items {self.items:,}  actions {self.actions:,}  "
                f"avg len {self.avg_len:.2f}  max len {self.max_len}")


def _parse_int(token: str, path: Path, line_no: int, what: str) -> int:
    try:
        return int(token)
    except ValueError:
        raise ValueError(f"{path}:{line_no}: {what} {token!r} is not an integer") from None


def read_sequence_file(path: str | Path, *, min_length: int = 3, num_items: int | None = None) -> SequenceData:
    """Read a ``user item item ...`` file.

    Args:
        path: the text file.
        min_length: users with fewer items are dropped and counted in ``report.short_users``
            (leave-one-out needs 3: one to train on, one to validate, one to test).
        num_items: the item vocabulary size when known; an id above it is an error. By default
            the largest id in the file.

    Blank lines are skipped and counted. A non-integer id, an item id < 1, a user given twice or
    an id above ``num_items`` raises ``ValueError`` naming the file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"sequence file not found: {path}")
    users: list[int] = []
    seqs: list[np.ndarray] = []
    seen: set[int] = set()
    blank = short = 0
    with path.open() as f:
        for line_no, line in enumerate(f, 1):
            tokens = line.split()
            if not tokens:
                blank += 1
                continue
            user = _parse_int(tokens[0], path, line_no, "user id")
            if user in seen:
                raise ValueError(f"{path}:{line_no}: user {user} appears on more than one line")
            seen.add(user)
            items = np.array([_parse_int(t, path, line_no, "item id") for t in tokens[1:]], dtype=np.int64)
            if items.size and items.min() < 1:
                raise ValueError(f"{path}:{line_no}: item id {items.min()} < 1 (0 is reserved for padding)")
            if num_items is not None and items.size and items.max() > num_items:
                raise ValueError(f"{path}:{line_no}: item id {items.max()} > num_items={num_items}")
            if items.size < min_length:
                short += 1
                continue
            users.append(user)
            seqs.append(items)
    if not seqs:
        raise ValueError(f"{path}: no user with at least {min_length} items")
    top = int(max(s.max() for s in seqs)) if num_items is None else num_items
    return SequenceData(seqs, np.asarray(users, dtype=np.int64), top, str(path), ReadReport(blank, short))
