"""Clip sources: ESC-10 (folds), FSDD (speakers) and the synthetic sounds of the embedded default.

A :class:`Clip` carries the words its captions use: ``sentence`` ("a dog barks") and ``noun``
("dog bark"), and its ``group`` (ESC-10 fold, FSDD speaker, synthetic fold) so that benchmark and
training clips can come from disjoint groups. ``ClipSet.waves`` holds each clip at the builder's
sampling rate, silence trimmed.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from audiolang.data.audio import load_audio, trim_silence

ESC10_WORDS = {  # folder name -> (sentence, noun)
    "dog bark": ("a dog barks", "dog bark"), "rain": ("rain falls", "rain"),
    "sea waves": ("sea waves crash", "sea waves"), "baby cry": ("a baby cries", "baby cry"),
    "clock tick": ("a clock ticks", "clock tick"), "person sneeze": ("a person sneezes", "sneeze"),
    "helicopter": ("a helicopter flies", "helicopter"), "chainsaw": ("a chainsaw runs", "chainsaw"),
    "rooster": ("a rooster crows", "rooster crow"), "fire crackling": ("a fire crackles", "fire crackle"),
}
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ACCENTS = {"USA": "an American", "BEL": "a Belgian", "DEU": "a German", "GRC": "a Greek"}
SOURCES = ("synthetic", "esc10", "fsdd")


@dataclass(frozen=True)
class Clip:
    """One recording: ``key`` (unique id, a path for real files), ``label`` (class), ``group``."""

    key: str
    source: str
    label: str
    group: str
    sentence: str
    noun: str
    accent: str = ""  # FSDD: the speaker's accent as captions name it ("an American")


@dataclass
class ClipSet:
    """Clips and their waveforms ``waves[key]`` (float32, ``sample_rate``, trimmed)."""

    clips: list[Clip]
    sample_rate: int
    waves: dict[str, np.ndarray] = field(default_factory=dict)

    def where(self, groups: set[str] | None = None, exclude: set[str] | None = None) -> list[Clip]:
        """Clips whose group is in ``groups`` (all when None) and not in ``exclude``."""
        return [c for c in self.clips if (groups is None or c.group in groups) and c.group not in (exclude or set())]


def source_files(source: str, root: Path) -> list[Path]:
    """The files a real source reads under its folder ``root`` (``<data root>/esc10``, ``.../fsdd``),
    sorted: ESC-10's ``NNN - Class/*.ogg``; FSDD's ``recordings/*_*_*.wav`` and ``speakers.csv``."""
    if source == "esc10":
        return sorted(root.glob("* - */*.ogg"))
    if source == "fsdd":
        return sorted((root / "recordings").glob("*_*_*.wav")) + [p for p in [root / "speakers.csv"] if p.is_file()]
    raise ValueError(f"{source!r} is not a real clip source; known: esc10, fsdd")


def esc10_clips(root: Path, sample_rate: int, max_seconds: float, keep: Callable[[str], bool] | None = None) -> ClipSet:
    """ESC-10 ``<root>/NNN - Class name/F-ID-T.ogg``: label = class, group = fold (the name's first digit);
    ``keep(group)`` False skips a clip before it is read."""
    files = source_files("esc10", root)
    if not files:
        raise FileNotFoundError(f"{root}: no ESC-10 clips ('NNN - Class/*.ogg')")
    out = ClipSet([], sample_rate)
    for path in files:
        if keep is not None and not keep(f"fold{path.name[0]}"):
            continue
        label = path.parent.name.split(" - ", 1)[1].lower()
        if label not in ESC10_WORDS:
            raise ValueError(f"{path}: unknown ESC-10 class {label!r}; known: {sorted(ESC10_WORDS)}")
        sentence, noun = ESC10_WORDS[label]
        clip = Clip(str(path), "esc10", label, f"fold{path.name[0]}", sentence, noun)
        out.clips.append(clip)
        out.waves[clip.key] = trim_silence(load_audio(path, sample_rate), sample_rate, max_seconds=max_seconds)
    return out


def fsdd_clips(root: Path, sample_rate: int, max_seconds: float, takes: int | None = None,
               keep: Callable[[str], bool] | None = None) -> ClipSet:
    """FSDD ``<root>/recordings/{digit}_{speaker}_{take}.wav`` (8 kHz); group = speaker; the caption
    names the speaker's accent from ``speakers.csv`` ("a voice with a German accent says seven").

    Args:
        takes: keep takes ``0 .. takes-1`` of each digit and speaker (all when None).
        keep: ``keep(speaker)`` False skips a file before it is read.
    """
    accents = {}
    speakers_csv = root / "speakers.csv"
    if speakers_csv.is_file():
        with speakers_csv.open(newline="") as f:
            for row in csv.DictReader(f):
                accents[row["speaker"]] = ACCENTS.get(row["accent"].split("/")[0], "an unknown")
    files = [p for p in source_files("fsdd", root) if p.suffix == ".wav"]
    if not files:
        raise FileNotFoundError(f"{root}/recordings: no FSDD files ('digit_speaker_take.wav')")
    out = ClipSet([], sample_rate)
    for path in files:
        digit, speaker, take = path.stem.split("_")
        if (takes is not None and int(take) >= takes) or (keep is not None and not keep(speaker)):
            continue
        accent = accents.get(speaker, "an unknown")
        word = DIGITS[int(digit)]
        clip = Clip(str(path), "fsdd", word, speaker, f"a voice with {accent} accent says {word}",
                    f"{word} said with {accent} accent", accent)
        out.clips.append(clip)
        out.waves[clip.key] = trim_silence(load_audio(path, sample_rate), sample_rate, max_seconds=max_seconds)
    return out


SYNTHETIC_WORDS = {
    "beep": ("a high beep sounds", "high beep"), "hum": ("a low hum drones", "low hum"),
    "noise": ("a burst of noise hisses", "noise burst"), "chirp": ("a rising chirp sweeps", "rising chirp"),
    "clicks": ("a train of clicks rattles", "click train"), "bell": ("a bell rings", "bell"),
}


def synthetic_clips(sample_rate: int, per_class: int = 20, folds: int = 5, seed: int = 0,
                    seconds: float = 0.6) -> ClipSet:
    """Procedural sounds of six classes (``SYNTHETIC_WORDS``), ``per_class`` each, in ``folds`` groups.

    Each clip draws its pitch, length and noise level at random (seeded), so clips of a class differ.
    """
    rng = np.random.default_rng(seed)
    out = ClipSet([], sample_rate)
    for label, (sentence, noun) in SYNTHETIC_WORDS.items():
        for i in range(per_class):
            n = int(sample_rate * seconds * rng.uniform(0.7, 1.0))
            t = np.arange(n) / sample_rate
            f0 = rng.uniform(0.85, 1.15)
            if label == "beep":
                x = np.sin(2 * np.pi * 1800 * f0 * t)
            elif label == "hum":
                x = np.sin(2 * np.pi * 110 * f0 * t) + 0.5 * np.sin(2 * np.pi * 220 * f0 * t)
            elif label == "noise":
                x = rng.standard_normal(n)
            elif label == "chirp":
                x = np.sin(2 * np.pi * (300 * f0 * t + 1500 * t ** 2 / seconds))
            elif label == "clicks":
                x = np.zeros(n)
                x[:: int(sample_rate / (25 * f0))] = 4.0
            else:
                x = np.sin(2 * np.pi * 900 * f0 * t) * np.exp(-6 * t)
            x = x + 0.02 * rng.standard_normal(n)
            x = (0.3 * x / (np.abs(x).max() + 1e-9)).astype(np.float32)
            clip = Clip(f"synthetic/{label}/{i}", "synthetic", label, f"fold{i % folds + 1}", sentence, noun)
            out.clips.append(clip)
            out.waves[clip.key] = x
    return out


def merge(*sets: ClipSet) -> ClipSet:
    """One ClipSet from several at the same sampling rate."""
    rates = {s.sample_rate for s in sets}
    if len(rates) != 1:
        raise ValueError(f"clip sets at different rates: {sorted(rates)}")
    out = ClipSet([], rates.pop())
    for s in sets:
        out.clips += s.clips
        out.waves.update(s.waves)
    return out
