"""EEG files through MNE: EDF/BDF, EEGLAB ``.set`` and FIF, plus a subject table for labels."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np

from medts.data.errors import DataError, check_signal
from medts.data.hierarchy import Recording

_READERS = {".edf": "read_raw_edf", ".bdf": "read_raw_bdf", ".set": "read_raw_eeglab", ".fif": "read_raw_fif"}


def read_mne(
    path: str | Path,
    patient: str,
    label: str,
    channels: list[str] | None = None,
    exclude_channels: list[str] | None = None,
) -> Recording:
    """Read one EEG file with MNE into a :class:`Recording` ``(L, C)`` in µV.

    Args:
        channels: keep exactly these, in this order (a missing one is an error naming the file).
        exclude_channels: drop these (when ``channels`` is not given).
    """
    import mne

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _READERS:
        raise DataError(path, f"unsupported EEG format {suffix!r}; expected one of {sorted(_READERS)}")
    try:
        raw = getattr(mne.io, _READERS[suffix])(str(path), preload=True, verbose="error")
    except Exception as err:
        raise DataError(path, f"MNE cannot read it ({type(err).__name__}: {err})") from err
    names = list(raw.ch_names)
    if channels:
        missing = [c for c in channels if c not in names]
        if missing:
            raise DataError(path, f"missing channel(s) {missing}; the file has {names}")
        pick = list(channels)
    else:
        pick = [c for c in names if c not in set(exclude_channels or ())]
    signal = raw.get_data(picks=pick).T.astype(np.float32) * 1e6  # volts -> µV
    check_signal(signal, path, pick)
    return Recording(signal, float(raw.info["sfreq"]), patient, label, pick, str(path))


def read_subject_table(path: str | Path, id_column: str, label_column: str) -> dict[str, str]:
    """``{subject id: label}`` from a CSV (e.g. ``subject-info.csv``: Subject, Count quality)."""
    path = Path(path)
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or id_column not in rows[0] or label_column not in rows[0]:
        raise DataError(path, f"needs columns {id_column!r} and {label_column!r}")
    return {r[id_column].strip(): r[label_column].strip() for r in rows}


def read_mne_folder(
    root: str | Path,
    pattern: str,
    id_regex: str,
    labels: dict[str, str],
    channels: list[str] | None = None,
    exclude_channels: list[str] | None = None,
) -> list[Recording]:
    """Every file matching ``pattern`` under ``root``; the patient id is ``id_regex``'s group 1
    of the file name, its label ``labels[patient]`` (a patient with no label is an error)."""
    root = Path(root)
    files = sorted(root.glob(pattern))
    if not files:
        raise DataError(root, f"no files match {pattern!r}")
    out = []
    for f in files:
        m = re.search(id_regex, f.name)
        if m is None:
            raise DataError(f, f"file name does not match id_regex {id_regex!r}")
        pid = m.group(1)
        if pid not in labels:
            raise DataError(f, f"patient {pid!r} has no label in the subject table")
        out.append(read_mne(f, pid, labels[pid], channels, exclude_channels))
    return out
