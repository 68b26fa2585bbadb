"""Reader for RecBole atomic ``.inter`` files (tab separated, typed header ``name:type``).

Example header: ``user_id:token<TAB>item_id:token<TAB>timestamp:float``. Rows are grouped by
user in order of first appearance; within a user they keep file order, or are stably sorted by
the timestamp column when there is one and ``order_by`` names it (RecBole's temporal order).
Integer item tokens (>= 1) are renumbered densely to ``1..N`` in increasing order (the identity
for the ``seqrec_5core`` conversion, whose ids are ``1..N``; see
:func:`seqrec.data.sequences.dense_item_ids`); other tokens need ``remap=True``, which numbers
them 1, 2, ... in order of first appearance (RecBole's own token remapping). Either way
``SequenceData.item_ids`` keeps the file's token of each item. A non-finite timestamp, an id
outside int64 or below 1 is an error naming the file and line.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from seqrec.data.sequences import ReadReport, SequenceData, dense_item_ids, parse_id

_TYPES = ("token", "token_seq", "float", "float_seq")


def _header(path: Path, row: list[str]) -> dict[str, tuple[int, str]]:
    fields: dict[str, tuple[int, str]] = {}
    for col, cell in enumerate(row):
        name, sep, ftype = cell.partition(":")
        if not sep or ftype not in _TYPES:
            raise ValueError(f"{path}: header field {cell!r} is not 'name:type' with type in {_TYPES}")
        fields[name] = (col, ftype)
    return fields


def read_inter_file(
    path: str | Path,
    *,
    user_field: str = "user_id",
    item_field: str = "item_id",
    order_by: str | None = "timestamp",
    min_length: int = 3,
    remap: bool = False,
) -> SequenceData:
    """Read a RecBole ``.inter`` file into per-user sequences.

    Args:
        user_field, item_field: header names of the user and item columns.
        order_by: a float column to sort each user's rows by (stable); ignored when absent.
        min_length: users with fewer rows are dropped and counted in ``report.short_users``.
        remap: number item tokens 1..N by first appearance instead of reading them as integers.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"RecBole .inter file not found: {path}")
    with path.open(newline="") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        try:
            fields = _header(path, next(reader))
        except StopIteration:
            raise ValueError(f"{path}: empty file (no header)") from None
        for name in (user_field, item_field):
            if name not in fields:
                raise ValueError(f"{path}: header has no {name!r} field (fields: {list(fields)})")
        ucol, icol = fields[user_field][0], fields[item_field][0]
        tcol = fields[order_by][0] if order_by in fields else None
        if tcol is not None and fields[order_by][1] != "float":
            raise ValueError(f"{path}: order_by field {order_by!r} must have type float")
        per_user: dict[str, list[tuple[float, int, str]]] = {}
        blank = 0
        width = len(fields)
        for line_no, row in enumerate(reader, 2):
            if not row or all(not c.strip() for c in row):
                blank += 1
                continue
            if len(row) != width:
                raise ValueError(f"{path}:{line_no}: {len(row)} columns, header has {width}")
            t = 0.0
            if tcol is not None:
                try:
                    t = float(row[tcol])
                except ValueError:
                    raise ValueError(f"{path}:{line_no}: {order_by} {row[tcol]!r} is not a number") from None
                if not math.isfinite(t):
                    raise ValueError(f"{path}:{line_no}: {order_by} {row[tcol]!r} is not finite (cannot order by it)")
            per_user.setdefault(row[ucol], []).append((t, line_no, row[icol]))
    item_ids: dict[str, int] = {}
    users, seqs, short = [], [], 0
    for user, rows in per_user.items():
        if tcol is not None:
            rows = sorted(rows, key=lambda r: r[0])  # stable: ties keep file order
        ids = []
        for _, line_no, token in rows:
            if remap:
                ids.append(item_ids.setdefault(token, len(item_ids) + 1))
            elif token.strip().lstrip("+-").isdigit():
                ids.append(parse_id(token, path, line_no, "item id"))
                if ids[-1] < 1:
                    raise ValueError(f"{path}:{line_no}: item id {token} < 1 (0 is reserved for padding)")
            else:
                raise ValueError(f"{path}:{line_no}: item token {token!r} is not an integer; pass remap=True")
        if len(ids) < min_length:
            short += 1
            continue
        users.append(user)
        seqs.append(np.asarray(ids, dtype=np.int64))
    if not seqs:
        raise ValueError(f"{path}: no user with at least {min_length} interactions")
    try:
        user_arr = np.asarray([int(u) for u in users], dtype=np.int64)
    except (ValueError, OverflowError):
        user_arr = np.arange(1, len(users) + 1, dtype=np.int64)
    if remap:
        return SequenceData(seqs, user_arr, len(item_ids), str(path), ReadReport(blank, short),
                            np.asarray(list(item_ids), dtype=object))
    seqs, dense = dense_item_ids(seqs)
    return SequenceData(seqs, user_arr, len(dense), str(path), ReadReport(blank, short), dense)


def write_inter_file(data: SequenceData, path: str | Path) -> Path:
    """Write ``data`` as ``user_id:token<TAB>item_id:token`` rows in sequence order (what
    MCLRec's ``dataset/data_process.py`` makes from the text files)."""
    path = Path(path)
    with path.open("w") as f:
        f.write("user_id:token\titem_id:token\n")
        for u, s in zip(data.user_ids, data.sequences):
            f.writelines(f"{u}\t{i}\n" for i in s)
    return path
