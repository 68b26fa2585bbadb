"""Compositions of clips ("A, then B"; "A and B at the same time"; gains), their captions and audio.

A :class:`Scene` is parts (a clip and a gain in dB) joined by one operator: ``"then"`` places them
one after another with ``gap`` seconds of silence, ``"and"`` overlays them. Each part is first
scaled to the same RMS (``REFERENCE_RMS``), then by its gain, so "a loud X and a quiet Y" holds
whatever the recordings' own levels.

A scene is a caption's *meaning*; :meth:`Scene.caption` renders it in a wording
(:mod:`audiolang.data.wording`). The composition-aware hard negatives of a scene (:func:`hard_negatives`) are other scenes: order
swaps, attribute (gain) swaps, operator swaps and operand swaps; its sub-compositions
(:func:`sub_compositions`) are captions of its parts, the modular loss's positives.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from audiolang.data.audio import rms
from audiolang.data.sources import Clip
from audiolang.data.wording import Wording
from audiolang.data.wording import render as render_caption

REFERENCE_RMS = 0.05
LOUD_DB, QUIET_DB = 0.0, -20.0


@dataclass(frozen=True)
class Part:
    clip: Clip
    gain_db: float = 0.0


@dataclass(frozen=True)
class Scene:
    """``parts`` joined by ``operator`` (``"then"`` or ``"and"``); ``loudness`` puts "loud"/"quiet" in the caption."""

    parts: tuple[Part, ...]
    operator: str = "then"
    loudness: bool = False

    def caption(self, wording: Wording | None = None) -> str:
        """The caption in ``wording`` (:mod:`audiolang.data.wording`); by default the canonical one:
        "a dog barks, then a clock ticks"; "a loud dog bark, then a quiet clock tick"."""
        return render_caption(self, wording)


def render(scene: Scene, waves: dict[str, np.ndarray], sample_rate: int, gap: float = 0.15) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The scene's audio ``(T,)`` and each part's ``(start, end)`` sample span in it."""
    segments = []
    for p in scene.parts:
        w = waves[p.clip.key]
        segments.append(w * (REFERENCE_RMS / max(rms(w), 1e-8)) * 10 ** (p.gain_db / 20))
    spans = []
    if scene.operator == "then":
        silence = np.zeros(int(gap * sample_rate), dtype=np.float32)
        pieces, t = [], 0
        for i, s in enumerate(segments):
            if i:
                pieces.append(silence)
                t += len(silence)
            pieces.append(s)
            spans.append((t, t + len(s)))
            t += len(s)
        out = np.concatenate(pieces)
    elif scene.operator == "and":
        out = np.zeros(max(len(s) for s in segments), dtype=np.float64)
        for s in segments:
            out[: len(s)] += s
            spans.append((0, len(s)))
    else:
        raise ValueError(f"operator must be 'then' or 'and'; got {scene.operator!r}")
    return out.astype(np.float32), spans


def swap_order(scene: Scene) -> Scene:
    """B, then A (gains travel with their clips)."""
    return replace(scene, parts=scene.parts[::-1])


def swap_gains(scene: Scene) -> Scene:
    """The same clips in the same order with their gains exchanged."""
    return replace(scene, parts=tuple(Part(p.clip, q.gain_db) for p, q in zip(scene.parts, scene.parts[::-1], strict=True)))


def swap_operator(scene: Scene) -> Scene:
    """"then" <-> "and"."""
    return replace(scene, operator="and" if scene.operator == "then" else "then")


def hard_negatives(scene: Scene, other: Clip) -> list[Scene]:
    """Composition-aware negatives, most specific first (the first is rendered as the scene's
    negative audio): an attribute swap when gains differ, an order swap for "then", an operator swap,
    and an operand swap (the last part replaced by ``other``, a clip of another class)."""
    out = []
    if scene.loudness and len(scene.parts) == 1:
        p = scene.parts[0]
        out.append(replace(scene, parts=(Part(p.clip, QUIET_DB if p.gain_db > (LOUD_DB + QUIET_DB) / 2 else LOUD_DB),)))
    if scene.loudness and len({p.gain_db for p in scene.parts}) > 1:
        out.append(swap_gains(scene))
    if len(scene.parts) > 1 and scene.operator == "then":
        out.append(swap_order(scene))
    if len(scene.parts) > 1:
        out.append(swap_operator(scene))
    if len(scene.parts) > 1 and scene.operator == "and":
        out.append(swap_order(swap_operator(scene)))
    out.append(replace(scene, parts=(*scene.parts[:-1], Part(other, scene.parts[-1].gain_db))))
    if len(scene.parts) == 1:  # a single event: the event followed by another, and the reverse
        out += [Scene((scene.parts[0], Part(other)), "then", scene.loudness),
                Scene((Part(other), scene.parts[0]), "then", scene.loudness)]
    return out


def sub_compositions(scene: Scene, wording: Wording | None = None) -> list[str]:
    """Captions true of the scene but less specific, in ``wording``: each part alone (for a single
    event: its clause without its loudness, and "the sound of" its noun phrase)."""
    from audiolang.data.wording import part_phrase

    if len(scene.parts) == 1:
        clause, noun = part_phrase(wording or Wording(), scene.parts[0], loudness=False)
        return [clause, f"the sound of {noun}"]
    return [Scene((p,), loudness=scene.loudness).caption(wording) for p in scene.parts]
