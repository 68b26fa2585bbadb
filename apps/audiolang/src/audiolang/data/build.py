"""Benchmarks and training sets built reproducibly from real (or synthetic) clips, cached atomically.

``build_benchmark`` writes a CompA-style benchmark: ``benchmark.csv`` in the official format (plus
the optional third pair), ``audio/*.wav`` and ``metadata.jsonl`` (each file's clips, gains and
sample spans). Kinds:

- ``order``: "A, then B" vs "B, then A" (any order wording), the same two trimmed clips in both
  orders with a short gap; optional third "A and B at the same time" (the two overlaid);
- ``attribute``: the same two events with their attributes swapped: gains (a loud A and a quiet B
  vs a quiet A and a loud B) for ESC-10 and synthetic clips, speakers (digit d1 by X then d2 by Y vs
  d1 by Y then d2 by X, captions naming the speakers' accents) for FSDD.

Captions are rendered from the pairs' meanings (:mod:`audiolang.data.wording`): each pair is a row
twice, captioned in a seen wording and in an unseen one (``wording`` column ``seen`` / ``unseen``,
``families`` the families used; the same audio files), and the swapped caption is the swapped
meaning in the same wording. Benchmark clips come only from ``test_groups`` (ESC-10 folds, FSDD speakers); ``build_training_set``
only from the others. A build is keyed by its settings and by the data it reads (each real source's
files: relative paths and sizes, :func:`data_fingerprint`): the same settings on the same data reuse
the folder; other settings, another data root, or files added, removed or resized get another. A
folder appears complete or not at all (built under a temporary name, then ``os.replace``), and its
``DONE`` lists the files and sizes written: a cached build whose files were cut short or removed
since is named in a warning and built again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from audiolang.data.benchmark_csv import write_benchmark_csv
from audiolang.data.compose import (
    LOUD_DB,
    QUIET_DB,
    Part,
    Scene,
    hard_negatives,
    render,
    sub_compositions,
    swap_gains,
    swap_operator,
    swap_order,
)
from audiolang.data.manifest import write_manifest
from audiolang.data.sources import (
    SOURCES,
    Clip,
    ClipSet,
    esc10_clips,
    fsdd_clips,
    merge,
    source_files,
    synthetic_clips,
)
from audiolang.data.wording import Wording, draw_wording, held_out_families, relations, training_families

KINDS = ("order", "attribute")
BUILD_VERSION = 4  # part of every cache key: bump when what a build writes changes
log = logging.getLogger("audiolang")


@dataclass(frozen=True)
class ClipConfig:
    """Where clips come from and how they are cut.

    Args:
        sources: any of ``synthetic``, ``esc10``, ``fsdd``.
        data_root: the real-data root (default: ``contrastkit.paths.data_root()``); unused for synthetic.
        test_groups: groups kept for benchmarks, never used in training (ESC-10 ``foldN``, FSDD speakers).
        sample_rate: Hz of everything built.
        max_seconds: longest segment kept of a clip (around its loudest frame) after trimming silence.
        gap: seconds of silence between "then" parts.
        fsdd_takes: takes per digit and speaker read from FSDD (all 50 when None).
        wording_seed: draws the test-only wording families (:func:`audiolang.data.wording.held_out_families`):
            training sets never use them, benchmarks caption every pair in one of them and in a seen one.
    """

    sources: tuple[str, ...] = ("synthetic",)
    data_root: str | None = None
    test_groups: tuple[str, ...] = ("fold5", "theo", "lucas")
    sample_rate: int = 16000
    max_seconds: float = 1.0
    gap: float = 0.15
    fsdd_takes: int | None = 10
    wording_seed: int = 0


def data_fingerprint(config: ClipConfig) -> dict[str, str]:
    """``{source: sha1 of "relative path, size" of each of its files}`` for the real sources of
    ``config`` (the synthetic clips are made by code: ``BUILD_VERSION`` covers them)."""
    from contrastkit.paths import data_root

    out = {}
    for source in config.sources:
        if source == "synthetic":
            continue
        if source not in SOURCES:
            raise ValueError(f"unknown clip source {source!r}; known: {', '.join(SOURCES)}")
        root = data_root(config.data_root) / source
        listing = "\n".join(f"{p.relative_to(root).as_posix()}\t{p.stat().st_size}" for p in source_files(source, root))
        out[source] = hashlib.sha1(listing.encode()).hexdigest()
    return out


def load_clips(config: ClipConfig, test: bool) -> ClipSet:
    """The test-group clips (``test``) or all the others, from every source of ``config``."""
    from contrastkit.paths import data_root

    test_groups = set(config.test_groups)

    def keep(group: str) -> bool:
        return (group in test_groups) == test

    sets = []
    for source in config.sources:
        if source == "synthetic":
            s = synthetic_clips(config.sample_rate)
            sets.append(ClipSet([c for c in s.clips if keep(c.group)], s.sample_rate, s.waves))
        elif source == "esc10":
            sets.append(esc10_clips(data_root(config.data_root) / "esc10", config.sample_rate, config.max_seconds, keep))
        elif source == "fsdd":
            sets.append(fsdd_clips(data_root(config.data_root) / "fsdd", config.sample_rate, config.max_seconds,
                                   config.fsdd_takes, keep))
        else:
            raise ValueError(f"unknown clip source {source!r}; known: synthetic, esc10, fsdd")
    clips = merge(*sets)
    if len({c.label for c in clips.clips}) < 2:
        raise ValueError(f"{'test' if test else 'training'} clips of {config.sources} with test groups "
                         f"{config.test_groups}: fewer than two classes ({len(clips.clips)} clips)")
    return clips


def _pick_two(clips: list[Clip], rng: np.random.Generator) -> tuple[Clip, Clip]:
    """Two clips of different labels from the same source."""
    while True:
        a = clips[rng.integers(len(clips))]
        same = [c for c in clips if c.source == a.source and c.label != a.label]
        if same:
            return a, same[rng.integers(len(same))]


def _speaker_pair(clips: list[Clip], rng: np.random.Generator) -> tuple[Scene, Scene] | None:
    """FSDD: (d1 by X, then d2 by Y) and (d1 by Y, then d2 by X), X and Y of different accents."""
    fsdd = [c for c in clips if c.source == "fsdd"]
    by = {(c.label, c.group): [d for d in fsdd if d.label == c.label and d.group == c.group] for c in fsdd}
    for _ in range(50):
        a, b = _pick_two(fsdd, rng)
        if a.group == b.group or a.sentence.split(" says ")[0] == b.sentence.split(" says ")[0]:
            continue
        a2, b2 = by.get((a.label, b.group)), by.get((b.label, a.group))
        if a2 and b2:
            return (Scene((Part(a), Part(b))), Scene((Part(a2[rng.integers(len(a2))]), Part(b2[rng.integers(len(b2))]))))
    return None


def benchmark_scenes(clips: list[Clip], kind: str, n: int, seed: int) -> list[tuple[Scene, Scene, Scene | None]]:
    """``n`` (scene, swapped scene, third scene or None) triples of one kind, drawn with ``seed``."""
    if kind not in KINDS:
        raise ValueError(f"benchmark kind must be one of {KINDS}; got {kind!r}")
    rng = np.random.default_rng(seed)
    has_fsdd = any(c.source == "fsdd" for c in clips)
    gain_clips = [c for c in clips if c.source != "fsdd"]
    out = []
    for i in range(n):
        if kind == "order":
            a, b = _pick_two(clips, rng)
            scene = Scene((Part(a), Part(b)), "then")
            out.append((scene, swap_order(scene), swap_operator(scene)))
        elif has_fsdd and (not gain_clips or i % 2):
            pair = _speaker_pair(clips, rng)
            if pair is None:
                raise ValueError("attribute benchmark: the FSDD test speakers need two accents and shared digits")
            out.append((*pair, None))
        else:
            a, b = _pick_two(gain_clips, rng)
            scene = Scene((Part(a, LOUD_DB), Part(b, QUIET_DB)), "then", loudness=True)
            out.append((scene, swap_gains(scene), None))
    return out


def benchmark_wordings(kind: str, scene: Scene, wording_seed: int, rng: np.random.Generator) -> tuple[Wording, Wording]:
    """A seen and an unseen wording of a benchmark pair, with the same template and phrasing seed:
    the seen one draws every family from the training families; the unseen one replaces the family
    of the relation the benchmark tests (order for "then" pairs, loudness or accent for attribute
    pairs) by a test-only one (and, for the third "together" caption, the together family too)."""
    seen = draw_wording(rng, training_families(wording_seed))
    test = held_out_families(wording_seed)
    tested = ("order", "together") if kind == "order" else ("loudness",) if scene.loudness else ("accent",)
    families = dict(seen.families)
    for relation in tested:
        families[relation] = test[relation][rng.integers(len(test[relation]))]
    return seen, Wording(families, seen.seed)


def _key(**settings) -> str:
    return hashlib.sha1(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:12]


def _sizes(folder: Path) -> dict[str, int]:
    """``{relative path: bytes}`` of every file below ``folder`` but ``DONE``."""
    return {p.relative_to(folder).as_posix(): p.stat().st_size for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "DONE"}


def _damage(final: Path) -> list[str]:
    """The files of ``final`` that are missing or of another size than its ``DONE`` lists, described;
    empty when the build is whole."""
    try:
        listed = json.loads((final / "DONE").read_text())
    except (OSError, ValueError):
        return [f"{final / 'DONE'}: unreadable"]
    out = []
    for name, size in listed.items():
        path = final / name
        if not path.is_file():
            out.append(f"{path}: missing")
        elif path.stat().st_size != size:
            out.append(f"{path}: {path.stat().st_size:,} bytes where the build wrote {size:,}")
    return out


def _atomic_dir(final: Path, write) -> Path:
    """Run ``write(tmp_dir)`` then move ``tmp_dir`` to ``final``. An existing ``final`` is reused
    when its ``DONE`` (the files and sizes the build wrote) still holds; a damaged one is named
    in a warning and built again."""
    if (final / "DONE").is_file():
        damage = _damage(final)
        if not damage:
            return final
        log.warning("%d file(s) of a cached build damaged since it was made: %s; %s is rebuilt", len(damage),
                    "; ".join(damage[:5]) + (" ..." if len(damage) > 5 else ""), final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".tmp-{final.name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        write(tmp)
        (tmp / "DONE").write_text(json.dumps(_sizes(tmp), indent=0))
        if final.exists():  # an incomplete or damaged leftover, or a concurrent build
            if (final / "DONE").is_file() and not _damage(final):
                shutil.rmtree(tmp)
                return final
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _describe(scene: Scene) -> list[dict]:
    return [{"clip": p.clip.key, "label": p.clip.label, "group": p.clip.group, "gain_db": p.gain_db} for p in scene.parts]


def build_benchmark(out_root: str | Path, kind: str = "order", n: int = 200, seed: int = 0,
                    clips: ClipConfig = ClipConfig(), third: bool = True,
                    clip_set: ClipSet | None = None) -> Path:
    """Build (or reuse) a benchmark; returns its ``benchmark.csv``.

    Args:
        out_root: cache folder; the benchmark goes to ``<out_root>/<kind>-<key>/``.
        kind: ``order`` or ``attribute``.
        n: pairs.
        seed: draws the pairs.
        clips: clip sources and cutting (test groups only are used).
        third: add the "A and B at the same time" third pair (order only).
        clip_set: clips already loaded (must be ``load_clips(clips, test=True)``).
    """
    if n < 1:
        raise ValueError(f"a benchmark of n = {n} pairs: at least 1 is needed")
    data = data_fingerprint(clips)
    key = _key(version=BUILD_VERSION, kind=kind, n=n, seed=seed, clips=asdict(clips), third=third, data=data)
    final = Path(out_root) / f"{kind}-{key}"

    def write(tmp: Path) -> None:
        cs = clip_set or load_clips(clips, test=True)
        (tmp / "audio").mkdir()
        rows, meta = [], []
        rng = np.random.default_rng([seed, 1])  # the wordings: drawn apart from the scenes
        for i, (scene, swapped, third_scene) in enumerate(benchmark_scenes(cs.clips, kind, n, seed)):
            files = {}
            for tag, s in (("a", scene), ("b", swapped), ("c", third_scene if third else None)):
                if s is None:
                    continue
                wave, spans = render(s, cs.waves, cs.sample_rate, clips.gap)
                files[tag] = name = f"audio/{kind}_{i:05d}_{tag}.wav"
                _write(tmp / name, wave, cs.sample_rate)
                meta.append({"file": name, "operator": s.operator, "loudness": s.loudness, "parts": _describe(s),
                             "spans": spans})
            for tag, wording in zip(("seen", "unseen"), benchmark_wordings(kind, scene, clips.wording_seed, rng), strict=True):
                row = {"pair_caption": scene.caption(wording), "pair_file": files["a"],
                       "reversed_pair_caption": swapped.caption(wording), "reversed_pair_file": files["b"],
                       "wording": tag, "families": " ".join(wording.names(relations(scene)))}
                if "c" in files:
                    row["third_caption"], row["third_file"] = third_scene.caption(wording), files["c"]
                rows.append(row)
        write_benchmark_csv(tmp / "benchmark.csv", rows, third=third and kind == "order", wording=True)
        write_manifest(tmp / "metadata.jsonl", meta)
        (tmp / "settings.json").write_text(json.dumps({"kind": kind, "n": n, "seed": seed, "clips": asdict(clips),
                                                       "data": data}, indent=1))

    return _atomic_dir(final, write) / "benchmark.csv"


def _write(path: Path, wave: np.ndarray, sample_rate: int) -> None:
    import soundfile as sf

    sf.write(str(path), np.clip(wave, -1.0, 1.0), sample_rate, subtype="PCM_16")


def training_scenes(clips: list[Clip], n: int, seed: int) -> list[tuple[Scene, list[Scene]]]:
    """``n`` training scenes with their hard-negative scenes: single events (with or without a
    loudness word), "then" and "and" pairs, gain-attribute pairs, and FSDD speaker pairs."""
    rng = np.random.default_rng(seed)
    gain_clips = [c for c in clips if c.source != "fsdd"] or clips
    out = []
    for _ in range(n):
        r = rng.random()
        a, b = _pick_two(clips, rng)
        other = _pick_two([c for c in clips if c.source == b.source], rng)[0]
        while other.label in (a.label, b.label) and len({c.label for c in clips if c.source == b.source}) > 2:
            other = _pick_two([c for c in clips if c.source == b.source], rng)[0]
        swap_first: list[Scene] = []
        if r < 0.2:
            scene = Scene((Part(a, LOUD_DB if rng.random() < 0.5 else QUIET_DB),), loudness=rng.random() < 0.5)
        elif r < 0.5:
            scene = Scene((Part(a), Part(b)), "then")
        elif r < 0.65:
            scene = Scene((Part(a), Part(b)), "and")
        elif r < 0.85 or not any(c.source == "fsdd" for c in clips):
            a, b = _pick_two(gain_clips, rng)
            gains = (LOUD_DB, QUIET_DB) if rng.random() < 0.5 else (QUIET_DB, LOUD_DB)
            scene = Scene((Part(a, gains[0]), Part(b, gains[1])), "then", loudness=True)
        else:
            pair = _speaker_pair(clips, rng)
            if pair is None:
                scene = Scene((Part(a), Part(b)), "then")
            else:
                scene, swapped = pair
                swap_first = [swapped]
        out.append((scene, swap_first + hard_negatives(scene, other)))
    return out


def build_training_set(out_root: str | Path, n: int = 2000, seed: int = 0,
                       clips: ClipConfig = ClipConfig(), clip_set: ClipSet | None = None, test: bool = False) -> Path:
    """Build (or reuse) a training set; returns its ``manifest.jsonl`` (see :mod:`audiolang.data.manifest`).

    Each item: the scene's audio and its caption in a wording drawn from the training families
    (:mod:`audiolang.data.wording`), its hard-negative captions (other meanings in the same wording;
    the first rendered as ``negative_audio``), its sub-compositions as ``positives``, ``wording``
    (the families used), ``split = "train"``. With ``test``, the same kind of compositions built
    from the test groups' clips, worded in the test-only families (``split = "test"``, cached as
    ``test-<key>``): the set ``audiolang test`` scores, of clips and wordings training never saw.
    """
    if n < 2:
        raise ValueError(f"a training set of n = {n} compositions: at least 2 are needed")
    kind = "test" if test else "train"
    data = data_fingerprint(clips)
    key = _key(version=BUILD_VERSION, kind=kind, n=n, seed=seed, clips=asdict(clips), data=data)
    final = Path(out_root) / f"{kind}-{key}"

    def write(tmp: Path) -> None:
        cs = clip_set or load_clips(clips, test=test)
        (tmp / "audio").mkdir()
        items = []
        allowed = (held_out_families if test else training_families)(clips.wording_seed)
        rng = np.random.default_rng([seed, 1])  # the wordings: drawn apart from the scenes
        for i, (scene, negatives) in enumerate(training_scenes(cs.clips, n, seed)):
            wording = draw_wording(rng, allowed)
            name, neg_name = f"audio/train_{i:05d}.wav", f"audio/train_{i:05d}_neg.wav"
            _write(tmp / name, render(scene, cs.waves, cs.sample_rate, clips.gap)[0], cs.sample_rate)
            _write(tmp / neg_name, render(negatives[0], cs.waves, cs.sample_rate, clips.gap)[0], cs.sample_rate)
            caption = scene.caption(wording)
            negs = list(dict.fromkeys(c for c in (s.caption(wording) for s in negatives) if c != caption))
            items.append({"audio": name, "caption": caption, "negatives": negs,
                          "positives": sub_compositions(scene, wording), "negative_audio": neg_name,
                          "fold": scene.parts[0].clip.group, "split": kind, "labels": [p.clip.label for p in scene.parts],
                          "wording": list(wording.names(relations(scene)))})
        write_manifest(tmp / "manifest.jsonl", items)
        (tmp / "settings.json").write_text(json.dumps({"n": n, "seed": seed, "clips": asdict(clips), "data": data},
                                                      indent=1))

    return _atomic_dir(final, write) / "manifest.jsonl"
