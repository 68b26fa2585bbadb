"""Reader for the UCI "EEG Database" text format (Begleiter's alcoholism study, Zhang et al. 1995).

One gzipped file per trial, e.g. ``co2a0000364/co2a0000364.rd.000.gz``: header lines starting
with ``#`` (subject, "120 trials, 64 chans", "3.906000 msecs uV", the stimulus and the channel
list), then lines ``trial channel sample value`` with the value in µV. The fourth letter of the
subject code is the group: ``a`` alcoholic, ``c`` control.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np

from medts.data.errors import DataError, check_signal
from medts.data.hierarchy import Recording

GROUPS = {"a": "alcoholic", "c": "control"}


def _numbers(column: np.ndarray, dtype, what: str, path: Path, line_no: np.ndarray) -> np.ndarray:
    """``column`` as ``dtype``; a :class:`DataError` naming the first line that does not parse."""
    try:
        return column.astype(dtype)
    except (ValueError, OverflowError):
        for k, token in enumerate(column):
            try:
                np.array(token).astype(dtype)
            except (ValueError, OverflowError):
                raise DataError(path, f"line {line_no[k]}: {what} {token!r} is not a number") from None
        raise


def read_uci_trial(path: str | Path) -> Recording:
    """One trial file -> :class:`Recording` with signal ``(256, 64)`` in µV at 256 Hz.

    Every data line must have 4 fields; every channel the same number of samples ``L``; each
    ``(channel, sample)`` given once with ``0 <= sample < L``. Otherwise a :class:`DataError`
    names the file and the line.
    """
    path = Path(path)
    try:
        with gzip.open(path, "rt") as fh:
            text = fh.read()
    except (OSError, EOFError) as err:
        raise DataError(path, f"cannot read gzip text ({err})") from err
    header = [ln for ln in text.splitlines()[:5] if ln.startswith("#")]
    period = re.search(r"([\d.]+)\s*msecs", "\n".join(header))
    if not header or period is None:
        raise DataError(path, "missing UCI EEG header ('# <subject>' and '# <period> msecs uV' lines)")
    subject = header[0].lstrip("# ").split(".")[0].strip()
    group = subject[3:4]
    if group not in GROUPS:
        raise DataError(path, f"subject code {subject!r} does not give a group (4th letter a/c)")
    lines = text.splitlines()
    line_no = np.array([i + 1 for i, ln in enumerate(lines) if ln.strip() and not ln.startswith("#")])
    if not len(line_no):
        raise DataError(path, "no data lines")
    fields = [lines[i - 1].split() for i in line_no]
    n_fields = np.fromiter(map(len, fields), dtype=np.int64, count=len(fields))
    if (n_fields != 4).any():
        k = int(np.flatnonzero(n_fields != 4)[0])
        raise DataError(path, f"line {line_no[k]}: {n_fields[k]} fields; expected 4 (trial channel sample value)")
    tokens = np.array(fields, dtype=object)
    sample = _numbers(tokens[:, 2], np.int64, "sample index", path, line_no)
    values = _numbers(tokens[:, 3], np.float32, "value", path, line_no)
    order = [str(c) for c in dict.fromkeys(tokens[:, 1].astype(str))]  # channel order of the file
    position = {c: i for i, c in enumerate(order)}
    col = np.array([position[c] for c in tokens[:, 1].astype(str)])
    counts = np.bincount(col)
    if (counts != counts[0]).any():
        short = order[int(counts.argmin())]
        raise DataError(path, f"channels have different lengths (channel {short} has {counts.min()} "
                              f"samples, others up to {counts.max()}): truncated file?")
    length = int(counts[0])
    out_of_range = (sample < 0) | (sample >= length)
    if out_of_range.any():
        k = int(np.flatnonzero(out_of_range)[0])
        raise DataError(path, f"line {line_no[k]}: sample index {sample[k]} of channel {order[col[k]]} is outside "
                              f"0..{length - 1} (the trial has {length} samples per channel)")
    key = col * length + sample
    _, first, seen = np.unique(key, return_index=True, return_counts=True)
    if (seen > 1).any():
        k = int(first[np.flatnonzero(seen > 1)[0]])
        again = int(np.flatnonzero(key == key[k])[1])
        raise DataError(path, f"line {line_no[again]}: sample {sample[k]} of channel {order[col[k]]} "
                              f"is given twice (first on line {line_no[k]})")
    signal = np.zeros((length, len(order)), dtype=np.float32)
    signal[sample, col] = values
    check_signal(signal, path, order)
    fs = float(round(1000.0 / float(period.group(1))))  # "3.906000 msecs" is 256 Hz
    return Recording(signal, fs, subject, GROUPS[group], order, str(path))


def read_uci_folder(root: str | Path, max_trials_per_subject: int | None = None) -> list[Recording]:
    """Every ``<subject>/*.gz`` trial under ``root`` (sorted), one :class:`Recording` per trial."""
    root = Path(root)
    files = sorted(root.glob("*/*.gz"))
    if not files:
        raise DataError(root, "no '<subject>/*.gz' trial files found")
    out: list[Recording] = []
    per_subject: dict[str, int] = {}
    for f in files:
        subj = f.parent.name
        if max_trials_per_subject is not None and per_subject.get(subj, 0) >= max_trials_per_subject:
            continue
        per_subject[subj] = per_subject.get(subj, 0) + 1
        out.append(read_uci_trial(f))
    return out
