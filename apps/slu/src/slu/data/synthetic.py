"""The embedded default: spoken commands synthesized offline with espeak-ng.

Pseudo-speakers are (accent, voice variant, rate, pitch) draws, with a little seeded noise; the
split is by speaker (train / valid / test speakers never overlap) *and* by wording: each class's
wording families (:mod:`slu.data.prompts`) are assigned whole to training or to test only,
deterministically from the seed (:func:`split_families`). A training speaker says ``phrasings``
sentences per class from the training families; a valid or test speaker says, per class,
alternately a sentence that training speakers said ("seen wording", a new voice) and one of a
test-only family ("unseen wording"; no test-only sentence is ever said in training).

The set is a pure function of its :class:`SyntheticConfig`: it is cached once under
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
from slu.data.prompts import Families

DEFAULT_CACHE = Path("runs") / "slu" / "cache"  # the cache under the default runs folder


@dataclass(frozen=True)
class SyntheticConfig:
    """Settings of a synthetic set.

    Args:
        kind: ``fsc`` (the 31 FSC intents) or ``slurp`` (SLURP sentences by scenario from ``slurp_text``).
        train_speakers, valid_speakers, test_speakers: pseudo-speakers per split.
        phrasings: sentences each speaker says per class (training speakers: from the training
            families; valid and test speakers: seen and unseen wordings in turn).
        test_only_families: the fraction of each class's wording families held out for testing
            (rounded, at least one when the class has two or more families; 0: none).
        max_classes: keep only the first ``max_classes`` classes in sorted order (0: all).
        slurp_per_class: wording families per SLURP scenario.
        slurp_text: folder of SLURP ``*.jsonl`` (default: the real-data root's ``slurp_text``).
        noise: standard deviation of the added white noise.
        seed: the speakers' draws and the noise.
    """

    kind: str = "fsc"
    train_speakers: int = 8
    valid_speakers: int = 0
    test_speakers: int = 4
    phrasings: int = 5
    test_only_families: float = 0.2
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


def families_of(config: SyntheticConfig) -> Families:
    """``{class: {family: sentences}}`` of the set's kind (the first ``max_classes`` classes)."""
    from slu.data.prompts import fsc_families, slurp_families

    if config.kind == "fsc":
        families = fsc_families()
    elif config.kind == "slurp":
        from contrastkit.paths import data_root

        folder = Path(config.slurp_text) if config.slurp_text else data_root() / "slurp_text"
        files = sorted(folder.glob("*.jsonl"))
        if not files:
            raise FileNotFoundError(f"{folder}: no SLURP *.jsonl files for the SLURP-like set")
        families = slurp_families(files, "scenario", config.slurp_per_class)
    else:
        raise ValueError(f"unknown synthetic kind {config.kind!r}; expected 'fsc' or 'slurp'")
    keep = sorted(families)[:config.max_classes] if config.max_classes else sorted(families)
    return {c: families[c] for c in keep}


def split_families(families: Families, fraction: float, seed: int) -> dict[str, list[str]]:
    """``{class: test-only family names}``: ``round(fraction * F)`` of a class's ``F`` families
    (at least one when ``fraction > 0`` and ``F >= 2``, and at least one family left for
    training), drawn from ``seed`` and the class name (another class list draws the same for a class)."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"test_only_families must be in [0, 1); got {fraction}")
    out = {}
    for cls, fams in families.items():
        names = sorted(fams)
        k = min(len(names) - 1, max(1 if fraction > 0 else 0, round(fraction * len(names))))
        rng = np.random.default_rng([seed, int(hashlib.sha256(cls.encode()).hexdigest()[:8], 16)])
        out[cls] = sorted(names[i] for i in rng.permutation(len(names))[:max(k, 0)])
    return out


def _pools(families: Families, test_only: dict[str, list[str]], seed: int):
    """Per class: the training sentences and the test-only ones, each ``(family, sentence)`` in a
    seeded order; a test-only sentence equal (normalized) to any training sentence is dropped."""
    from slu.data.corpus import normalize_text

    train, unseen = {}, {}
    for cls, fams in families.items():
        train[cls] = [(f, s) for f in sorted(fams) if f not in test_only[cls] for s in fams[f]]
        unseen[cls] = [(f, s) for f in test_only[cls] for s in fams[f]]
    trained = {normalize_text(s) for pool in train.values() for _, s in pool}
    rng = np.random.default_rng(seed + 2)
    for pools in (train, unseen):
        for cls in pools:
            pool = [p for p in pools[cls] if pools is train or normalize_text(p[1]) not in trained]
            pools[cls] = [pool[i] for i in rng.permutation(len(pool))]
    return train, unseen


def scripts(config: SyntheticConfig) -> tuple[list[tuple[str, str, str]], dict[str, list[str]]]:
    """What each speaker says: ``[(class, family, sentence)]`` per speaker (train, valid, test
    speakers in turn), and the test-only families per class.

    Training speaker ``k`` takes the ``phrasings`` sentences from position ``k * phrasings`` of the
    class's shuffled training pool (cycling), so the speakers cover the pool evenly. Valid/test
    speaker ``k``'s ``j``-th sentence of a class is unseen wording when ``j + k`` is odd (from the
    test-only pool, cycling) and otherwise a sentence some training speaker said.
    """
    if config.phrasings < 1:
        raise ValueError(f"phrasings must be >= 1; got {config.phrasings}")
    families = families_of(config)
    test_only = split_families(families, config.test_only_families, config.seed)
    train, unseen = _pools(families, test_only, config.seed)
    p = config.phrasings
    said: dict[str, list[tuple[str, str]]] = {c: [] for c in families}
    out = []
    for k in range(config.train_speakers):
        lines = []
        for cls, pool in train.items():
            for j in range(p):
                line = pool[(k * p + j) % len(pool)]
                lines.append((cls, *line))
                if line not in said[cls]:
                    said[cls].append(line)
        out.append(lines)
    held = config.valid_speakers + config.test_speakers
    for k in range(held):
        lines = []
        for cls in families:
            for j in range(p):
                pool = unseen[cls] if (j + k) % 2 and unseen[cls] else said[cls]
                if not pool:
                    raise ValueError(f"class {cls!r}: no training speaker said any of its sentences "
                                     f"(train_speakers={config.train_speakers})")
                lines.append((cls, *pool[(k * p + j) // 2 % len(pool)]))
        out.append(lines)
    return out, test_only


def generate(config: SyntheticConfig) -> tuple[Corpus, list[torch.Tensor]]:
    """Synthesize the set: the corpus (each utterance with its wording family; the report names
    the test-only families per class) and one 16 kHz wave per utterance (no caching)."""
    from slu.data.audio import resample_wave
    from slu.data.espeak import synthesize_batch

    n = config.train_speakers + config.valid_speakers + config.test_speakers
    speakers = pseudo_speakers(n, config.seed)
    splits = ["train"] * config.train_speakers + ["valid"] * config.valid_speakers + ["test"] * config.test_speakers
    said, test_only = scripts(config)
    jobs, utts = [], []
    for (voice, rate, pitch), split, lines in zip(speakers, splits, said):
        name = f"{voice}@{rate}wpm/p{pitch}"
        for intent, family, text in lines:
            jobs.append((text, voice, rate, pitch))
            utts.append(Utterance("", intent, text, name, split, family))
    raw, sr = synthesize_batch(jobs)
    rng = np.random.default_rng(config.seed + 1)
    waves = [resample_wave(torch.from_numpy(w + config.noise * rng.standard_normal(w.shape).astype(np.float32)), sr)
             for w in raw]
    report = {"config": asdict(config), "speakers": n, "test_only_families": test_only}
    return Corpus(f"synthetic_{config.kind}", utts, report), waves


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
