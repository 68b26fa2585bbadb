"""Fluent Speech Commands: ``data/{train,valid,test}_data.csv`` + the WAVs they name.

Columns used: ``path, speakerId, transcription, action, object, location``; the intent is
``action_object_location`` (31 intents, e.g. ``change language_Chinese_none``). A folder may hold
only some of the splits (a test-only folder: ``data/test_data.csv``); any one CSV in this format
(e.g. an unseen-utterance challenge split) is read by :func:`read_fsc_csv`.
"""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

from slu.data.corpus import Corpus, Utterance, require_file

COLUMNS = ("path", "speakerId", "transcription", "action", "object", "location")
CSV_SPLITS = {"train": "train", "valid": "valid", "test": "test"}


def read_fsc(root: str | Path, splits: tuple[str, ...] = ("train", "valid", "test"), check_audio: bool = True) -> Corpus:
    """The utterances of ``root/data/<split>_data.csv`` for the splits whose CSV exists (a test-only
    folder has only ``test_data.csv``); :func:`read_fsc_csv` reads each.

    Raises:
        FileNotFoundError: none of the splits' CSVs exists (naming them), or (``check_audio``) a WAV
            a CSV names is missing.
        ValueError: as :func:`read_fsc_csv`.
    """
    root = Path(root)
    for split in splits:
        if split not in CSV_SPLITS:
            raise ValueError(f"unknown FSC split {split!r}; expected {tuple(CSV_SPLITS)}")
    paths = {s: root / "data" / f"{s}_data.csv" for s in splits}
    present = [s for s, p in paths.items() if p.is_file()]
    if not present:
        raise FileNotFoundError(f"{root}: none of the FSC lists {', '.join(str(p) for p in paths.values())} exists")
    utts = [u for s in present for u in read_fsc_csv(paths[s], root, s, check_audio)]
    return Corpus("fsc", utts, {"rows": len(utts), "splits": present})


def read_fsc_csv(path: str | Path, root: str | Path | None = None, split: str = "test",
                 check_audio: bool = True) -> list[Utterance]:
    """The utterances of one FSC-format CSV, all in ``split``. Audio paths are relative to ``root``
    (default: the CSV's folder's parent when that folder is named ``data``, FSC's layout, else the
    CSV's folder; absolute paths stay as they are). A row repeating an earlier row (same path and
    labels) is counted once, with a warning naming both lines.

    Raises:
        FileNotFoundError: the CSV, or (``check_audio``) a WAV it names, is missing.
        ValueError: a CSV without the FSC columns, a row with an empty field (file, line, column),
            or the same path twice with different labels (both lines).
    """
    path = require_file(Path(path), "an FSC-format CSV")
    root = Path(root) if root is not None else (path.parent.parent if path.parent.name == "data" else path.parent)
    utts = []
    seen: dict[str, tuple[int, tuple[str, ...]]] = {}
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing column(s) {missing} (FSC has {', '.join(COLUMNS)})")
        for line, row in enumerate(reader, start=2):
            empty = [c for c in COLUMNS if not (row.get(c) or "").strip()]
            if empty:
                raise ValueError(f"{path}, line {line}: empty {empty}")
            fields = tuple(row[c].strip() for c in COLUMNS)
            if row["path"] in seen:
                first, before = seen[row["path"]]
                if before != fields:
                    raise ValueError(f"{path}, line {line}: {row['path']} is already on line {first} with other "
                                     f"labels ({', '.join(before[1:])} vs {', '.join(fields[1:])})")
                warnings.warn(f"{path}, line {line}: repeats line {first} ({row['path']}); counted once", stacklevel=3)
                continue
            seen[row["path"]] = (line, fields)
            audio = root / row["path"].strip()
            if check_audio and not audio.is_file():
                raise FileNotFoundError(f"{path}, line {line}: audio file {audio} is missing")
            intent = f"{row['action'].strip()}_{row['object'].strip()}_{row['location'].strip()}"
            utts.append(Utterance(str(audio), intent, row["transcription"].strip().lower(), row["speakerId"].strip(), split))
    return utts
