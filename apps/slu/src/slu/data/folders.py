"""A plain folder-per-class layout: ``root/<split>/<class>/*.{wav,flac}`` (split: train, valid, test).

The transcript is the class name with ``_`` read as a space; each file is its own speaker.
"""

from __future__ import annotations

from pathlib import Path

from slu.data.corpus import SPLITS, Corpus, Utterance

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")


def read_folders(root: str | Path) -> Corpus:
    """Every audio file under ``root/<split>/<class>/``.

    Raises:
        FileNotFoundError: ``root`` has no ``train`` folder or no audio file at all.
    """
    root = Path(root)
    if not (root / "train").is_dir():
        raise FileNotFoundError(f"{root}: no train/ folder (expected <split>/<class>/*.wav, split in {SPLITS})")
    utts = []
    for split in SPLITS:
        for class_dir in sorted(p for p in (root / split).glob("*") if p.is_dir()):
            for f in sorted(class_dir.iterdir()):
                if f.suffix.lower() in AUDIO_SUFFIXES:
                    utts.append(Utterance(str(f), class_dir.name, class_dir.name.replace("_", " "), f.stem, split))
    if not utts:
        raise FileNotFoundError(f"{root}: no audio files ({', '.join(AUDIO_SUFFIXES)}) under <split>/<class>/")
    return Corpus("folders", utts, {"files": len(utts)})
