"""Fluent Speech Commands: ``data/{train,valid,test}_data.csv`` + the WAVs they name.

Columns used: ``path, speakerId, transcription, action, object, location``; the intent is
``action_object_location`` (31 intents, e.g. ``change language_Chinese_none``).
"""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

from slu.data.corpus import Corpus, Utterance, require_file

COLUMNS = ("path", "speakerId", "transcription", "action", "object", "location")
CSV_SPLITS = {"train": "train", "valid": "valid", "test": "test"}


def read_fsc(root: str | Path, splits: tuple[str, ...] = ("train", "valid", "test"), check_audio: bool = True) -> Corpus:
    """The utterances of ``root/data/<split>_data.csv`` (UTF-8, with or without a byte-order mark).
    A row repeating an earlier row of the same file (same path and labels) is counted once, with a
    warning naming both lines.

    Raises:
        FileNotFoundError: a split's CSV, or (``check_audio``) a WAV it names, is missing.
        ValueError: a CSV without the FSC columns, a row with an empty field (file, line, column),
            or the same path twice in one file with different labels (both lines).
    """
    root = Path(root)
    utts = []
    for split in splits:
        path = require_file(root / "data" / f"{split}_data.csv", f"the FSC {split} list")
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
                    warnings.warn(f"{path}, line {line}: repeats line {first} ({row['path']}); counted once",
                                  stacklevel=2)
                    continue
                seen[row["path"]] = (line, fields)
                audio = root / row["path"]
                if check_audio and not audio.is_file():
                    raise FileNotFoundError(f"{path}, line {line}: audio file {audio} is missing")
                intent = f"{row['action']}_{row['object']}_{row['location']}"
                utts.append(Utterance(str(audio), intent, row["transcription"].strip().lower(), row["speakerId"], split))
    return Corpus("fsc", utts, {"rows": len(utts)})
