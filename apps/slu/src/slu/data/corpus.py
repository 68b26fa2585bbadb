"""What every reader returns: utterances with an intent, a transcript, a speaker and a split.

A :class:`Corpus` fixes one sorted class->id map (``classes``), so train and test ids can never
disagree (continuum once shipped an unsorted FSC map that did exactly that).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class Utterance:
    """One clip: ``audio`` is a file path (``""`` for synthesized audio, which comes with features);
    ``family`` is the wording family of a synthetic clip's sentence (``""`` for real data)."""

    audio: str
    intent: str
    transcript: str
    speaker: str
    split: str
    family: str = ""


@dataclass
class Corpus:
    """Utterances of one dataset, plus the reader's report (what it read and what it skipped)."""

    name: str
    utterances: list[Utterance]
    report: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.utterances:
            raise ValueError(f"{self.name}: no utterances were read")
        bad = {u.split for u in self.utterances} - set(SPLITS)
        if bad:
            raise ValueError(f"{self.name}: unknown split(s) {sorted(bad)}; expected {SPLITS}")

    @property
    def classes(self) -> list[str]:
        """The sorted class names: class id = position in this list."""
        return sorted({u.intent for u in self.utterances})

    @property
    def class_map(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.classes)}

    def indices(self, split: str, classes: list[str] | None = None) -> list[int]:
        """Positions of the utterances of ``split`` (restricted to ``classes`` when given)."""
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
        keep = None if classes is None else set(classes)
        return [i for i, u in enumerate(self.utterances) if u.split == split and (keep is None or u.intent in keep)]

    def summary(self) -> str:
        counts = {s: len(self.indices(s)) for s in SPLITS}
        speakers = {s: len({u.speaker for u in self.utterances if u.split == s}) for s in SPLITS}
        return (f"{self.name}: {len(self.utterances)} utterances, {len(self.classes)} classes; "
                + ", ".join(f"{s} {counts[s]} ({speakers[s]} speakers)" for s in SPLITS if counts[s]))


def normalize_text(text: str) -> str:
    """``text`` as the wording split compares sentences: lower case, punctuation dropped (an
    apostrophe too: ``what's`` is ``whats``), words separated by single spaces."""
    return " ".join(re.sub(r"[^\w\s]", "", text.lower()).split())


def require_file(path: Path, what: str) -> Path:
    """``path`` when it is a file, else a FileNotFoundError saying which file of which layout."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing ({what})")
    return path


def speaker_split(speakers: list[str], test: tuple[str, ...], valid: tuple[str, ...] = ()) -> dict[str, str]:
    """``{speaker: split}`` for a speaker-disjoint split; unknown names in ``test``/``valid`` raise."""
    known = set(speakers)
    for name in (*test, *valid):
        if name not in known:
            raise ValueError(f"speaker {name!r} is not in the data (speakers: {sorted(known)})")
    if set(test) & set(valid):
        raise ValueError(f"speakers {sorted(set(test) & set(valid))} are in both test and valid")
    return {s: "test" if s in test else "valid" if s in valid else "train" for s in speakers}
