"""Free Spoken Digit Dataset: ``recordings/{digit}_{speaker}_{take}.wav`` (8 kHz mono, 16-bit).

Intent and transcript are the digit's word; the split is by speaker (no speaker in two splits).
"""

from __future__ import annotations

import re
from pathlib import Path

from slu.data.corpus import Corpus, Utterance, speaker_split

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_NAME = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)\.wav$")


def read_fsdd(root: str | Path, test_speakers: tuple[str, ...] = ("theo", "yweweler"),
              valid_speakers: tuple[str, ...] = ()) -> Corpus:
    """All clips of ``root/recordings`` (or ``root`` itself when it holds the WAVs).

    Raises:
        FileNotFoundError: no ``*.wav`` file is found.
        ValueError: a WAV whose name is not ``{digit}_{speaker}_{take}.wav`` (named), or an unknown speaker.
    """
    root = Path(root)
    folder = root / "recordings" if (root / "recordings").is_dir() else root
    files = sorted(folder.glob("*.wav"))
    if not files:
        raise FileNotFoundError(f"{folder}: no .wav files (expected FSDD's recordings/{{digit}}_{{speaker}}_{{take}}.wav)")
    parsed = []
    for f in files:
        m = _NAME.match(f.name)
        if m is None:
            raise ValueError(f"{f}: not an FSDD file name (expected {{digit}}_{{speaker}}_{{take}}.wav)")
        parsed.append((f, DIGITS[int(m.group(1))], m.group(2)))
    splits = speaker_split(sorted({s for _, _, s in parsed}), test_speakers, valid_speakers)
    utts = [Utterance(str(f), word, word, spk, splits[spk]) for f, word, spk in parsed]
    return Corpus("fsdd", utts, {"files": len(files), "speakers": len(splits)})
