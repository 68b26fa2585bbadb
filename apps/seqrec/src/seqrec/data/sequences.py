"""Interaction sequences in memory, their statistics, and the ``user item item ...`` text reader.

The text format (SASRec, CoSeRec, ICLRec, MCLRec): one user per line, space separated,
``user_id item_id item_id ...`` in chronological order; item ids are 1-based integers, 0 is
reserved for padding.

Item ids are renumbered to the dense range ``1..N`` in increasing order of the file's ids
(:func:`dense_item_ids`; the identity when the file's ids already are ``1..N``, as in every
``seqrec_5core`` file), so that a sparse id space (one id of 10^9) never sizes the item table.
The original id of item ``k`` is ``SequenceData.item_ids[k - 1]``; the data module exposes it and
a run stores it as ``item_ids.json``. An id outside int64 is an error naming the file and line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

INT64_MAX = np.iinfo(np.int64).max


@dataclass(frozen=True)
class ReadReport:
    """What a reader skipped or dropped, counted (documented filters, never silent)."""

    blank_lines: int = 0
    short_users: int = 0  # users with fewer than ``min_length`` items, dropped

    def summary(self) -> str:
        """One line: what was skipped and dropped."""
        return f"{self.blank_lines} blank lines skipped, {self.short_users} users too short dropped"


@dataclass(frozen=True)
class SequenceData:
    """Chronological item sequences, one per user.

    sequences: list of ``(n_u,)`` int64 arrays of item ids in ``1..num_items``.
    user_ids:  ``(U,)`` the users' ids as given by the file.
    num_items: the largest valid item id (the model scores items ``1..num_items``).
    item_ids:  ``(num_items,)`` the source's id of item ``k`` at index ``k - 1`` (module
               docstring); None when the ids are the source's own.
    """

    sequences: list[np.ndarray]
    user_ids: np.ndarray
    num_items: int
    source: str = "<memory>"
    report: ReadReport = field(default_factory=ReadReport)
    item_ids: np.ndarray | None = None

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


def parse_id(token: str, path: Path | str, line_no: int, what: str) -> int:
    """``int(token)``, or a ``ValueError`` naming ``path:line_no`` when it is not an integer or
    does not fit in int64."""
    try:
        value = int(token)
    except ValueError:
        raise ValueError(f"{path}:{line_no}: {what} {token!r} is not an integer") from None
    if abs(value) > INT64_MAX:
        raise ValueError(f"{path}:{line_no}: {what} {token} does not fit in a 64-bit integer")
    return value


def dense_item_ids(sequences: list[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    """Renumber item ids (all >= 1) to ``1..N`` in increasing order of the original ids.

    Returns the renumbered sequences and ``item_ids`` ``(N,)``, the original id of item ``k`` at
    ``k - 1``. The sequences come back unchanged when their ids already are exactly ``1..N``.
    """
    ids = np.unique(np.concatenate(sequences))
    if ids[0] == 1 and ids[-1] == len(ids):
        return sequences, ids
    return [np.searchsorted(ids, s) + 1 for s in sequences], ids


def read_sequence_file(path: str | Path, *, min_length: int = 3, num_items: int | None = None) -> SequenceData:
    """Read a ``user item item ...`` file.

    Args:
        path: the text file.
        min_length: users with fewer items are dropped and counted in ``report.short_users``
            (leave-one-out needs 3: one to train on, one to validate, one to test).
        num_items: the item vocabulary size when known: ids are then kept as written and an id
            above it is an error. By default ids are renumbered densely (module docstring).

    Blank lines are skipped and counted. A non-integer id, an id outside int64, an item id < 1,
    a user given twice or an id above ``num_items`` raises ``ValueError`` naming the file and line.
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
            user = parse_id(tokens[0], path, line_no, "user id")
            if user in seen:
                raise ValueError(f"{path}:{line_no}: user {user} appears on more than one line")
            seen.add(user)
            items = np.array([parse_id(t, path, line_no, "item id") for t in tokens[1:]], dtype=np.int64)
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
    item_ids = None
    if num_items is None:
        seqs, item_ids = dense_item_ids(seqs)
        num_items = len(item_ids)
    return SequenceData(seqs, np.asarray(users, dtype=np.int64), num_items, str(path), ReadReport(blank, short),
                        item_ids)
