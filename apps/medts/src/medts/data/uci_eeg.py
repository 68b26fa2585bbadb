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


def read_uci_trial(path: str | Path) -> Recording:
    """One trial file -> :class:`Recording` with signal ``(256, 64)`` in µV at 256 Hz."""
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
    body = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    if not body:
        raise DataError(path, "no data lines")
    tokens = np.array(" ".join(body).split(), dtype=object)
    if tokens.size % 4:
        raise DataError(path, "data lines must have 4 fields: trial channel sample value")
    tokens = tokens.reshape(-1, 4)
    names, inverse = np.unique(tokens[:, 1].astype(str), return_inverse=True)
    order = [str(c) for c in dict.fromkeys(tokens[:, 1].astype(str))]  # channel order of the file
    counts = np.bincount(inverse)
    if (counts != counts[0]).any():
        short = names[counts.argmin()]
        raise DataError(path, f"channels have different lengths (channel {short} has {counts.min()} "
                              f"samples, others up to {counts.max()}): truncated file?")
    try:
        values = tokens[:, 3].astype(np.float32)
        sample = tokens[:, 2].astype(np.int64)
    except ValueError as err:
        raise DataError(path, f"non-numeric sample or value field ({err})") from err
    col = np.array([order.index(n) for n in names])[inverse]
    signal = np.zeros((counts[0], len(order)), dtype=np.float32)
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
