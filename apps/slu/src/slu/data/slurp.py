"""SLURP: ``slurp/{train,devel,test}.jsonl`` (one sentence per line, with its recordings) + audio.

The class is the ``intent`` (scenario_action) or the ``scenario`` (18, for SLURP-3/-6). Each
recording of a sentence is one utterance; recordings not found in ``audio_dirs`` are skipped and
counted, with a warning (SLURP ships its audio as separate archives); none found is an error.
``devel`` is the valid split.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

from slu.data.corpus import Corpus, Utterance, require_file

JSONL_SPLITS = {"train": "train", "devel": "valid", "test": "test"}


def read_slurp_jsonl(path: str | Path) -> list[dict]:
    """The records of one SLURP ``.jsonl`` file (``sentence``, ``scenario``, ``intent``, and
    ``recordings``: a list of ``{"file": ...}``, absent in text-only files).

    Raises:
        ValueError: naming the file and line: not UTF-8, not JSON, not a JSON object, a missing
            field, ``recordings`` not a list of objects with a ``file`` name.
    """
    path = Path(path)
    records = []
    with path.open("rb") as f:
        for line_no, raw in enumerate(f, start=1):
            where = f"{path}, line {line_no}"
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise ValueError(f"{where}: not UTF-8 text (byte {error.start}: "
                                 f"{raw[error.start:error.start + 1]!r})") from None
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{where}: not JSON ({error.msg})") from None
            if not isinstance(rec, dict):
                raise ValueError(  # noqa: TRY004  (bad file content)
                    f"{where}: expected a JSON object per line, got {type(rec).__name__} {line.strip()[:40]!r}")
            missing = [k for k in ("sentence", "scenario", "intent") if k not in rec]
            if missing:
                raise ValueError(f"{where}: missing field(s) {missing}")
            _check_recordings(rec.get("recordings", []), where)
            records.append(rec)
    return records


def _check_recordings(recordings, where: str) -> None:
    if not isinstance(recordings, list):
        raise ValueError(  # noqa: TRY004  (bad file content)
            f"{where}: 'recordings' must be a list of {{\"file\": ...}} objects, got "
            f"{type(recordings).__name__} {str(recordings)[:40]!r}")
    for k, r in enumerate(recordings):
        if not isinstance(r, dict) or not isinstance(r.get("file"), str) or not r["file"]:
            raise ValueError(f"{where}: recording {k} has no 'file' name ({str(r)[:60]})")


def read_slurp(root: str | Path, label: str = "intent", splits: tuple[str, ...] = ("train", "devel", "test"),
               audio_dirs: tuple[str, ...] = ("slurp_real", "slurp_synth")) -> Corpus:
    """SLURP utterances whose audio exists under one of ``root/<audio_dirs>``; the others are
    counted (a warning says how many), and none found at all is an error saying how many were listed."""
    if label not in ("intent", "scenario"):
        raise ValueError(f"label must be 'intent' or 'scenario'; got {label!r}")
    root = Path(root)
    utts, missing = [], 0
    for split in splits:
        if split not in JSONL_SPLITS:
            raise ValueError(f"unknown SLURP split {split!r}; expected {tuple(JSONL_SPLITS)}")
        path = require_file(root / "slurp" / f"{split}.jsonl", f"the SLURP {split} annotations")
        for rec in read_slurp_jsonl(path):
            for r in rec.get("recordings", []):
                audio = next((root / d / r["file"] for d in audio_dirs if (root / d / r["file"]).is_file()), None)
                if audio is None:
                    missing += 1
                    continue
                utts.append(Utterance(str(audio), rec[label], rec["sentence"].lower(), str(rec.get("user_id", "unknown")),
                                      JSONL_SPLITS[split]))
    folders = " or ".join(str(root / d) for d in audio_dirs)
    if not utts:
        raise FileNotFoundError(f"{root}: none of the {missing} recordings listed in slurp/{{{','.join(splits)}}}.jsonl "
                                f"is under {folders} (SLURP's audio comes as separate archives: unpack them there)")
    if missing:
        warnings.warn(f"{root}: {missing} of the {missing + len(utts)} recordings listed are not under {folders}; "
                      "they are skipped", stacklevel=2)
    return Corpus("slurp", utts, {"missing_audio": missing, "utterances": len(utts)})
