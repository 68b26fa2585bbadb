"""WFDB records (PhysioNet ``.hea/.dat``, beat annotations) through the ``wfdb`` package.

Before reading, every signal file's size is checked against what the header declares
(``sig_len`` x signals x bits of the storage format), so a truncated ``.dat`` or a header that
lies about the record length is an error naming the file, never a silently short signal.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from medts.data.errors import DataError, check_signal
from medts.data.hierarchy import Recording

# bits per stored sample of the WFDB formats (signal(5) manual page)
_FORMAT_BITS = {8: 8, 16: 16, 61: 16, 80: 8, 160: 16, 212: 12, 24: 24, 32: 32, 310: 32 / 3, 311: 32 / 3}
# PhysioNet beat annotation codes (ecgpuwave/ANSI-AAMI EC57 beat labels)
BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")


def check_signal_files(record_path: str | Path) -> None:
    """Compare each signal file's size to the header's ``sig_len``; raise :class:`DataError`."""
    import wfdb

    record_path = Path(record_path)
    try:
        hdr = wfdb.rdheader(str(record_path))
    except Exception as err:
        raise DataError(record_path.with_suffix(".hea"), f"unreadable WFDB header ({err})") from err
    per_file: dict[str, list[tuple[int, int]]] = {}
    for name, fmt, off in zip(hdr.file_name or [], hdr.fmt or [], hdr.byte_offset or [None] * hdr.n_sig):
        per_file.setdefault(name, []).append((int(fmt), int(off or 0)))
    for name, sigs in per_file.items():
        f = record_path.parent / name
        if not f.exists():
            raise DataError(f, "signal file named in the header is missing")
        fmt, off = sigs[0]
        if fmt not in _FORMAT_BITS:
            continue
        expected = off + math.ceil(hdr.sig_len * len(sigs) * _FORMAT_BITS[fmt] / 8)
        size = f.stat().st_size
        if size < expected:
            raise DataError(f, f"truncated: the header declares {hdr.sig_len} samples x {len(sigs)} signals "
                               f"in format {fmt} = {expected} bytes, the file has {size}")
        if size > expected + 4:
            raise DataError(f, f"the header declares {hdr.sig_len} samples ({expected} bytes) but the file "
                               f"holds {size} bytes: the header's length is wrong")


def header_info(comments: list[str]) -> dict[str, str]:
    """Age, sex and diagnosis from header comments, as PTB (``age: 81``, ``Reason for admission:
    ...``) and MIT-BIH (``69 M 1085 1629 x1``) write them; other ``key: value`` lines kept too."""
    info: dict[str, str] = {}
    for c in comments:
        if ":" in c:
            k, v = c.split(":", 1)
            info[k.strip().lower()] = v.strip()
        else:
            m = re.match(r"^\s*(\d+)\s+([MF])\b", c)
            if m and "age" not in info:
                info["age"], info["sex"] = m.group(1), {"M": "male", "F": "female"}[m.group(2)]
    if "reason for admission" in info:
        info["diagnosis"] = info["reason for admission"]
    return info


def read_wfdb(
    record_path: str | Path,
    channels: list[str] | None = None,
    label: str | None = None,
    label_key: str = "diagnosis",
    annotation: str | None = "atr",
    patient: str | None = None,
) -> Recording:
    """Read a WFDB record into a :class:`Recording` (physical units, ``(L, C)``).

    Args:
        record_path: path without extension (``.../100``).
        channels: leads to keep, in order (a missing one is an error naming the file).
        label: the class label; default: ``header_info(comments)[label_key]``.
        annotation: annotation extension whose beat labels give the R-peaks (skipped when absent).
        patient: patient id; default the record name.
    """
    import wfdb

    record_path = Path(record_path)
    check_signal_files(record_path)
    try:
        rec = wfdb.rdrecord(str(record_path))
    except Exception as err:
        raise DataError(record_path.with_suffix(".dat"), f"wfdb cannot read it ({err})") from err
    names = list(rec.sig_name)
    if channels:
        missing = [c for c in channels if c not in names]
        if missing:
            raise DataError(record_path.with_suffix(".hea"), f"missing lead(s) {missing}; the record has {names}")
        cols = [names.index(c) for c in channels]
    else:
        cols = list(range(len(names)))
    signal = rec.p_signal[:, cols].astype(np.float32)
    check_signal(signal, record_path.with_suffix(".dat"), [names[c] for c in cols])
    info = header_info(rec.comments or [])
    if label is None:
        if label_key not in info:
            raise DataError(record_path.with_suffix(".hea"), f"no {label_key!r} in the header comments; give a label")
        label = info[label_key]
    rpeaks = None
    if annotation and record_path.with_suffix("." + annotation).exists():
        ann = wfdb.rdann(str(record_path), annotation)
        rpeaks = np.array([s for s, sym in zip(ann.sample, ann.symbol) if sym in BEAT_SYMBOLS], dtype=np.int64)
    return Recording(signal, float(rec.fs), patient or record_path.name, label,
                     [names[c] for c in cols], str(record_path), rpeaks)
