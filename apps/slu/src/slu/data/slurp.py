"""SLURP: ``slurp/{train,devel,test}.jsonl`` (one sentence per line, with its recordings) + audio.

The class is the ``intent`` (scenario_action) or the ``scenario`` (18, for SLURP-3/-6). Each
recording of a sentence is one utterance; recordings not found in ``audio_dirs`` are skipped and
counted (SLURP ships its audio as separate archives). ``devel`` is the valid split.
"""

from __future__ import annotations

import json
from pathlib import Path

from slu.data.corpus import Corpus, Utterance, require_file

JSONL_SPLITS = {"train": "train", "devel": "valid", "test": "test"}


def read_slurp_jsonl(path: str | Path) -> list[dict]:
    """The records of one SLURP ``.jsonl`` file (``sentence``, ``scenario``, ``intent``, ``recordings``).

    Raises:
        ValueError: a line that is not JSON or lacks one of those fields (file and line).
    """
    path = Path(path)
    records = []
    with path.open(encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}, line {line_no}: not JSON ({error.msg})") from None
            missing = [k for k in ("sentence", "scenario", "intent") if k not in rec]
            if missing:
                raise ValueError(f"{path}, line {line_no}: missing field(s) {missing}")
            records.append(rec)
    return records


def read_slurp(root: str | Path, label: str = "intent", splits: tuple[str, ...] = ("train", "devel", "test"),
               audio_dirs: tuple[str, ...] = ("slurp_real", "slurp_synth")) -> Corpus:
    """SLURP utterances whose audio exists under one of ``root/<audio_dirs>``."""
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
    return Corpus("slurp", utts, {"missing_audio": missing, "utterances": len(utts)})
