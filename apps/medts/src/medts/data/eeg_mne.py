"""EEG files through MNE: EDF/BDF, EEGLAB ``.set`` and FIF, plus a subject table for labels."""

from __future__ import annotations

import csv
import re
import warnings
from pathlib import Path

import numpy as np

from medts.data.errors import DataError, check_signal
from medts.data.hierarchy import Recording

_READERS = {".edf": "read_raw_edf", ".bdf": "read_raw_bdf", ".set": "read_raw_eeglab", ".fif": "read_raw_fif"}
# MNE warnings that mean the data read is wrong: a truncated file (MNE infers a shorter record
# count from the file size) and a channel whose scaling is undefined (digital min = max).
_FATAL_WARNINGS = {
    "does not match the file size": "truncated file: the header's record count does not match the file size",
    "Scaling factor will not be defined": "undefined scaling (digital min = max) in channel(s)",
}


def check_edf_header(path: str | Path) -> None:
    """Check an EDF/BDF header against the file: size, and each channel's physical/digital range.

    EDF header (EDF spec, Kemp et al. 1992): 256 bytes, then per channel (``ns`` of them) label 16,
    transducer 80, unit 8, physical min 8, physical max 8, digital min 8, digital max 8,
    prefilter 80, samples per record 8, reserved 32. The data are ``n_records`` records of
    ``sum(samples per record)`` values of 2 bytes (EDF) or 3 bytes (BDF). Raises
    :class:`DataError` naming the file (and channel) for a truncated file, a digital min >= max
    or a physical min = max (a channel whose values would be scaled by 0, inf or NaN).
    """
    path = Path(path)
    raw = path.read_bytes()
    try:
        header_bytes, n_records, ns = int(raw[184:192]), int(raw[236:244]), int(raw[252:256])
        fields = raw[256:header_bytes]

        def column(start: int, width: int) -> list[str]:
            return [fields[start + i * width:start + (i + 1) * width].decode("latin-1").strip() for i in range(ns)]

        labels = column(0, 16)
        offs = ns * (16 + 80 + 8)
        pmin, pmax, dmin, dmax = (list(map(float, column(offs + k * ns * 8, 8))) for k in range(4))
        nsamp = list(map(int, column(offs + 4 * ns * 8 + ns * 80, 8)))
    except ValueError as err:
        raise DataError(path, f"malformed EDF/BDF header ({err})") from err
    for name, lo, hi, dlo, dhi in zip(labels, pmin, pmax, dmin, dmax):
        if dlo >= dhi:
            raise DataError(path, f"channel {name!r}: digital min {dlo:g} >= digital max {dhi:g} (undefined scaling)")
        if lo == hi:
            raise DataError(path, f"channel {name!r}: physical min = physical max = {lo:g} (undefined scaling)")
    if n_records > 0:
        width = 3 if path.suffix.lower() == ".bdf" else 2
        expected = header_bytes + n_records * sum(nsamp) * width
        if len(raw) < expected:
            complete = (len(raw) - header_bytes) // (sum(nsamp) * width)
            raise DataError(path, f"truncated file: the header declares {n_records} records ({expected} bytes), "
                                  f"the file has {len(raw)} bytes ({complete} complete records)")


def read_mne(
    path: str | Path,
    patient: str,
    label: str,
    channels: list[str] | None = None,
    exclude_channels: list[str] | None = None,
) -> Recording:
    """Read one EEG file with MNE into a :class:`Recording` ``(L, C)`` in µV.

    EDF/BDF headers are checked first (:func:`check_edf_header`); MNE's warnings are caught: a
    truncated file or an undefined channel scaling is a :class:`DataError` naming the file (and
    channel), any other MNE warning is re-issued with the file name.

    Args:
        channels: keep exactly these, in this order (a missing one is an error naming the file).
        exclude_channels: drop these (when ``channels`` is not given).
    """
    import mne

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _READERS:
        raise DataError(path, f"unsupported EEG format {suffix!r}; expected one of {sorted(_READERS)}")
    if suffix in (".edf", ".bdf"):
        check_edf_header(path)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            raw = getattr(mne.io, _READERS[suffix])(str(path), preload=True, verbose="warning")
    except Exception as err:
        raise DataError(path, f"MNE cannot read it ({type(err).__name__}: {err})") from err
    for w in caught:
        text = str(w.message)
        for key, problem in _FATAL_WARNINGS.items():
            if key in text:
                raise DataError(path, f"{problem} ({text.splitlines()[-1].strip()})")
        warnings.warn(f"{path}: {text}", RuntimeWarning, stacklevel=2)
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
