"""The embedded default: spoken commands synthesized offline with espeak-ng.

Pseudo-speakers are (accent, voice variant, rate, pitch) draws; every speaker says every prompt
once, with a little seeded noise; the split is by speaker (train / valid / test speakers never
overlap). The set is a pure function of its :class:`SyntheticConfig`: it is cached once under
``cache_dir`` in a folder named by the config's hash, written atomically (a uniquely named
temporary folder, then ``os.replace``), and read back on the next call (regenerated, with a
warning naming the file, when the cache is damaged).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from slu.data.corpus import Corpus, Utterance

DEFAULT_CACHE = Path("runs") / "slu" / "cache"  # the cache under the default runs folder


@dataclass(frozen=True)
class SyntheticConfig:
    """Settings of a synthetic set.

    Args:
        kind: ``fsc`` (the 31 FSC intents) or ``slurp`` (SLURP sentences by scenario from ``slurp_text``).
        train_speakers, valid_speakers, test_speakers: pseudo-speakers per split.
        phrasings: sentences per FSC intent (1..5).
        max_classes: keep only the first ``max_classes`` classes in sorted order (0: all).
        slurp_per_class: sentences per SLURP scenario.
        slurp_text: folder of SLURP ``*.jsonl`` (default: the real-data root's ``slurp_text``).
        noise: standard deviation of the added white noise.
        seed: the speakers' draws and the noise.
    """

    kind: str = "fsc"
    train_speakers: int = 8
    valid_speakers: int = 0
    test_speakers: int = 4
    phrasings: int = 5
    max_classes: int = 0
    slurp_per_class: int = 20
    slurp_text: str | None = None
    noise: float = 0.003
    seed: int = 0

    def key(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


def pseudo_speakers(n: int, seed: int) -> list[tuple[str, int, int]]:
    """``n`` distinct ``(voice, rate, pitch)`` triples drawn from accents x variants x rates x pitches."""
    from slu.data.espeak import ACCENTS, VARIANTS

    rng = np.random.default_rng(seed)
    out: list[tuple[str, int, int]] = []
    while len(out) < n:
        voice = f"{ACCENTS[rng.integers(len(ACCENTS))]}+{VARIANTS[rng.integers(len(VARIANTS))]}"
        draw = (voice, int(rng.integers(13, 21)) * 10, int(rng.integers(5, 16)) * 5)
        if draw not in out:
            out.append(draw)
    return out


def prompts_of(config: SyntheticConfig) -> list[tuple[str, str]]:
    from slu.data.prompts import fsc_prompts, slurp_prompts

    if config.kind == "fsc":
        return _first_classes(fsc_prompts(config.phrasings), config.max_classes)
    if config.kind == "slurp":
        from contrastkit.paths import data_root

        folder = Path(config.slurp_text) if config.slurp_text else data_root() / "slurp_text"
        files = sorted(folder.glob("*.jsonl"))
        if not files:
            raise FileNotFoundError(f"{folder}: no SLURP *.jsonl files for the SLURP-like set")
        return _first_classes(slurp_prompts(files, "scenario", config.slurp_per_class), config.max_classes)
    raise ValueError(f"unknown synthetic kind {config.kind!r}; expected 'fsc' or 'slurp'")


def _first_classes(prompts: list[tuple[str, str]], k: int) -> list[tuple[str, str]]:
    keep = set(sorted({c for c, _ in prompts})[:k]) if k else None
    return [p for p in prompts if keep is None or p[0] in keep]


def generate(config: SyntheticConfig) -> tuple[Corpus, list[torch.Tensor]]:
    """Synthesize the set: the corpus and one 16 kHz wave per utterance (no caching)."""
    from slu.data.audio import resample_wave
    from slu.data.espeak import synthesize_batch

    n = config.train_speakers + config.valid_speakers + config.test_speakers
    speakers = pseudo_speakers(n, config.seed)
    splits = ["train"] * config.train_speakers + ["valid"] * config.valid_speakers + ["test"] * config.test_speakers
    prompts = prompts_of(config)
    jobs, utts = [], []
    for (voice, rate, pitch), split in zip(speakers, splits):
        name = f"{voice}@{rate}wpm/p{pitch}"
        for intent, text in prompts:
            jobs.append((text, voice, rate, pitch))
            utts.append(Utterance("", intent, text, name, split))
    raw, sr = synthesize_batch(jobs)
    rng = np.random.default_rng(config.seed + 1)
    waves = [resample_wave(torch.from_numpy(w + config.noise * rng.standard_normal(w.shape).astype(np.float32)), sr)
             for w in raw]
    return Corpus(f"synthetic_{config.kind}", utts, {"config": asdict(config), "speakers": n}), waves


def load_or_generate(config: SyntheticConfig, cache_dir: str | Path | None = None) -> tuple[Corpus, list[torch.Tensor]]:
    """:func:`generate`, cached under ``cache_dir/synthetic/<kind>-<hash>/`` (``runs/slu/cache`` by
    default). A damaged cache (truncated or unreadable files) is
    regenerated, with a warning naming the file."""
    folder = Path(cache_dir or DEFAULT_CACHE) / "synthetic" / f"{config.kind}-{config.key()}"
    cached = read_cached(folder, config)
    if cached is not None:
        return cached
    corpus, waves = generate(config)
    write_cache(folder, config, corpus, waves)
    return corpus, waves


def read_cached(folder: Path, config: SyntheticConfig) -> tuple[Corpus, list[torch.Tensor]] | None:
    """The set cached in ``folder``; None when there is none, or (with a warning naming the file)
    when it is unreadable or was made from another config."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    meta_path, waves_path = folder / "utterances.json", folder / "waves.safetensors"
    if not (meta_path.is_file() and waves_path.is_file()):
        return None
    where = meta_path
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta["config"] != asdict(config):
            return None
        utts = [Utterance(**u) for u in meta["utterances"]]
        where = waves_path
        flat = load_file(str(waves_path))
        waves = list(torch.split(flat["samples"], flat["lengths"].tolist()))
        if len(waves) != len(utts):
            raise ValueError(f"{len(waves)} waves for {len(utts)} utterances")
        return Corpus(f"synthetic_{config.kind}", utts, meta["report"]), waves
    except (ValueError, TypeError, KeyError, OSError, RuntimeError, SafetensorError) as error:  # JSONDecodeError is a ValueError
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        warnings.warn(f"{where}: unreadable synthetic-set cache ({reason}); synthesizing the set again", stacklevel=3)
        return None


def write_cache(folder: Path, config: SyntheticConfig, corpus: Corpus, waves: list[torch.Tensor]) -> None:
    """The set into ``folder``, whole or not at all: its files go to a uniquely named folder beside
    it (each written with :mod:`contrastkit.atomic`, fsync-ed), which is then renamed to ``folder``."""
    from contrastkit.atomic import write_bytes_atomic, write_text_atomic
    from safetensors.torch import save

    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}-"))
    try:
        write_bytes_atomic(tmp / "waves.safetensors",
                           save({"samples": torch.cat(waves), "lengths": torch.tensor([len(w) for w in waves])}))
        write_text_atomic(tmp / "utterances.json", json.dumps(
            {"config": asdict(config), "report": corpus.report, "utterances": [asdict(u) for u in corpus.utterances]}))
        if folder.exists():  # an older, damaged or concurrent copy: replace it whole
            shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
    except OSError:
        if not folder.exists():  # a concurrent writer's copy is as good as ours; anything else is an error
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
