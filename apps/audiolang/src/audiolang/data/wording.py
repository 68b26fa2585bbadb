"""Meaning first, wording second: a paraphrase grammar that renders a :class:`~audiolang.data.compose.Scene`.

A scene is the *meaning* (its events in order, each event's class and gain, the operator). A
caption is one *wording* of it, rendered by :func:`render` from a :class:`Wording`: one *family*
per relation the scene uses, and a ``seed`` that picks, inside each family, one template (its
synonyms and verb voices) and, per event class, one of the event's phrasings (word-level
variety). Relations and their families (``FAMILIES``):

- ``order`` ("then"): ``then`` "A, then B"; ``after`` "B after A"; ``followed`` "A, followed by
  B" / "B follows A"; ``first`` "first A, afterwards B"; ``before`` "A before B"; ``preceded``
  "B, preceded by A" / "A precedes B"; ``later`` "A, and later B"; ``span`` "it starts with A
  and ends with B";
- ``together`` ("and"): ``same_time``, ``while``, ``simultaneously``, ``background``;
- ``loudness`` (gains): ``adjective`` "a loud A", ``adverb`` "A loudly", ``volume`` "A at full
  volume", ``intensity`` "a booming A" / "a faint A";
- ``accent`` (FSDD speakers): ``voice`` "a voice with an X accent says seven", ``speaker`` "an X
  speaker says seven", ``someone`` "someone with an X accent says seven".

A family's ``markers`` are words no other family and no event phrase uses: they are the evidence
by which a built set's text shows which families it holds (the leak test reads them).

Hard negatives are other meanings (order or attribute swapped, :mod:`audiolang.data.compose`)
rendered with the *same* wording: the same family, template and event phrasings, so a negative
differs from its positive in meaning only (an order or attribute swap keeps the caption's words,
reordered).

Held-out wording (:func:`held_out_families`): in each relation about a third of the families
(at least one) are test-only, drawn deterministically from ``wording_seed``; training sets
render with the other families only, benchmarks caption each pair twice, once in a seen and once
in a test-only family (``wording`` column ``seen`` / ``unseen``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

import numpy as np

LOUD_WORDS = ("loud", "quiet")  # what a gain means, in the canonical wording


@dataclass(frozen=True)
class Family:
    """One way of saying a relation: ``templates`` (variants: synonyms, voices) and its ``markers``.

    Order / together templates have slots ``{A}``, ``{B}`` (clauses, "a dog barks") or ``{An}``,
    ``{Bn}`` (noun phrases, "a dog bark"), both slots of a template in the same form (so that a
    swap keeps the words); loudness / accent templates are per part, see :func:`part_phrase`.
    """

    relation: str
    name: str
    templates: tuple[str, ...]
    markers: tuple[str, ...]


def _families(relation: str, table: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]) -> dict[str, Family]:
    return {name: Family(relation, name, t, m) for name, (t, m) in table.items()}


FAMILIES: dict[str, dict[str, Family]] = {
    "order": _families("order", {
        "then": (("{A}, then {B}", "{A}, and then {B}", "{A} and then {B}"), ("then",)),
        "after": (("{Bn} after {An}", "after {A}, {B}", "{B}, right after {A}"), ("after", "right")),
        "followed": (("{An}, followed by {Bn}", "{An} is followed by {Bn}", "{Bn} follows {An}"),
                     ("followed", "follows")),
        "first": (("first {A}, afterwards {B}", "first {A}, and afterwards {B}", "{A} first, {B} afterwards"),
                  ("first", "afterwards")),
        "before": (("{A} before {B}", "before {B}, {A}", "{An}, just before {Bn}"), ("before", "just")),
        "preceded": (("{Bn}, preceded by {An}", "{Bn} is preceded by {An}", "{An} precedes {Bn}"),
                     ("preceded", "precedes")),
        "later": (("{A}, and later {B}", "{A}; later, {B}", "{A}, and a moment later {B}"), ("later", "moment")),
        "span": (("it starts with {An} and ends with {Bn}", "starting with {An}, ending with {Bn}",
                  "it begins with {An}, and {Bn} comes at the end"),
                 ("starts", "ends", "starting", "ending", "begins", "comes", "end", "it")),
    }),
    "together": _families("together", {
        "same_time": (("{A} and {B} at the same time", "{An} and {Bn} at the same time"), ("same", "time")),
        "while": (("{A} while {B}", "while {A}, {B}"), ("while",)),
        "simultaneously": (("{A} and {B} simultaneously", "{A}, simultaneously {B}"), ("simultaneously",)),
        "background": (("{An}, with {Bn} in the background", "{An} with {Bn} in the background"),
                       ("background",)),
    }),
    # per part: (loud phrase, quiet phrase) templates over {S} (clause) / {N} (noun, with {det})
    "loudness": _families("loudness", {
        "adjective": (("{det} loud {N}|{det} quiet {N}", "{det} loud {N}|{det} soft {N}"), ("loud", "quiet", "soft")),
        "adverb": (("{S} loudly|{S} quietly", "{S} loudly|{S} softly"), ("loudly", "quietly", "softly")),
        "volume": (("{det} {N} at full volume|{det} {N} at low volume",), ("volume", "full")),
        "intensity": (("{det} booming {N}|{det} faint {N}",), ("booming", "faint")),
    }),
    # per part, over {acc} ("an American") and {d} (a digit word): clause|noun
    "accent": _families("accent", {
        "voice": (("a voice with {acc} accent says {d}|{d} said with {acc} accent",), ("voice", "said")),
        "speaker": (("{acc} speaker says {d}|{d} from {acc} speaker",), ("speaker", "from")),
        "someone": (("someone with {acc} accent says {d}|{d} spoken by someone with {acc} accent",),
                    ("someone", "spoken")),
    }),
}
CANONICAL = {"order": "then", "together": "same_time", "loudness": "adjective", "accent": "voice"}

# event phrasings per class: clauses, then noun phrases as (determiner, head); the first of each is
# the canonical one (the clip's sentence and noun)
EVENTS: dict[str, tuple[tuple[str, ...], tuple[tuple[str, str], ...]]] = {
    # ESC-10
    "dog bark": (("a dog barks", "a dog is barking", "a hound barks"), (("a", "dog bark"), ("a", "barking dog"))),
    "rain": (("rain falls", "rain is falling", "rain pours"), (("", "rain"), ("", "rainfall"))),
    "sea waves": (("sea waves crash", "waves are crashing", "the sea surges"),
                  (("", "sea waves"), ("", "ocean waves"))),
    "baby cry": (("a baby cries", "a baby is crying", "an infant wails"), (("a", "baby cry"), ("a", "crying baby"))),
    "clock tick": (("a clock ticks", "a clock is ticking", "a watch ticks"),
                   (("a", "clock tick"), ("a", "ticking clock"))),
    "person sneeze": (("a person sneezes", "a person is sneezing", "a man sneezes"), (("a", "sneeze"), ("a", "sneezing person"))),
    "helicopter": (("a helicopter flies", "a helicopter is flying", "a chopper flies"),
                   (("a", "helicopter"), ("a", "flying helicopter"))),
    "chainsaw": (("a chainsaw runs", "a chainsaw is running", "a power saw cuts"),
                 (("a", "chainsaw"), ("a", "running chainsaw"))),
    "rooster": (("a rooster crows", "a rooster is crowing", "a cock crows"), (("a", "rooster crow"), ("a", "crowing rooster"))),
    "fire crackling": (("a fire crackles", "a fire is crackling", "flames crackle"),
                       (("a", "fire crackle"), ("a", "crackling fire"))),
    # synthetic
    "beep": (("a high beep sounds", "a high tone beeps"), (("a", "high beep"), ("a", "beeping tone"))),
    "hum": (("a low hum drones", "a low hum is droning"), (("a", "low hum"), ("a", "droning hum"))),
    "noise": (("a burst of noise hisses", "a noise burst hisses"), (("a", "noise burst"), ("a", "hissing noise burst"))),
    "chirp": (("a rising chirp sweeps", "a chirp sweeps upward"), (("a", "rising chirp"), ("a", "sweeping chirp"))),
    "clicks": (("a train of clicks rattles", "clicks rattle"), (("a", "click train"), ("a", "rattling click train"))),
    "bell": (("a bell rings", "a bell is ringing"), (("a", "bell"), ("a", "ringing bell"))),
}


@dataclass(frozen=True)
class Wording:
    """A family per relation and a ``seed`` choosing templates and event phrasings (module docstring)."""

    families: dict[str, str] = field(default_factory=lambda: dict(CANONICAL))
    seed: int | None = None  # None: the first template and the canonical phrasings

    def pick(self, key: str, n: int) -> int:
        """A deterministic index in ``[0, n)`` for the slot ``key`` (0 when ``seed`` is None)."""
        if self.seed is None or n <= 1:
            return 0
        return int(hashlib.sha1(f"{self.seed}:{key}".encode()).hexdigest()[:8], 16) % n

    def family(self, relation: str) -> Family:
        name = self.families.get(relation, CANONICAL[relation])
        return FAMILIES[relation][name]

    def names(self, relations) -> tuple[str, ...]:
        """``relation/family`` of the relations given (what a caption of this wording holds)."""
        return tuple(f"{r}/{self.family(r).name}" for r in relations)


def held_out_families(wording_seed: int, fraction: float = 1 / 3) -> dict[str, tuple[str, ...]]:
    """``{relation: test-only family names}``: ``round(fraction * n)`` (at least 1) of each relation's
    ``n`` families, drawn with ``wording_seed``."""
    out = {}
    for i, (relation, families) in enumerate(FAMILIES.items()):
        names = sorted(families)
        order = np.random.default_rng([wording_seed, i]).permutation(len(names))
        k = max(1, round(fraction * len(names)))
        out[relation] = tuple(sorted(names[j] for j in order[:k]))
    return out


def training_families(wording_seed: int) -> dict[str, tuple[str, ...]]:
    """``{relation: families training may use}``: the complement of :func:`held_out_families`."""
    test = held_out_families(wording_seed)
    return {r: tuple(n for n in sorted(fams) if n not in test[r]) for r, fams in FAMILIES.items()}


def draw_wording(rng: np.random.Generator, allowed: dict[str, tuple[str, ...]]) -> Wording:
    """A random wording: one allowed family per relation and a template/phrasing seed."""
    return Wording({r: names[rng.integers(len(names))] for r, names in allowed.items()}, int(rng.integers(2 ** 31)))


def _event(wording: Wording, clip, form: str) -> tuple[str, str] | str:
    """The clip's clause (``form="clause"``) or ``(determiner, head)`` noun phrase, chosen per class."""
    clauses, nouns = EVENTS.get(clip.label, ((clip.sentence,), (("", clip.noun),)))
    if form == "clause":
        return clauses[wording.pick(f"clause:{clip.label}", len(clauses))]
    return nouns[wording.pick(f"noun:{clip.label}", len(nouns))]


def _np(det: str, head: str) -> str:
    return f"{det} {head}".strip()


def part_phrase(wording: Wording, part, loudness: bool) -> tuple[str, str]:
    """``(clause, noun phrase)`` of one part: the event (FSDD: the digit in its speaker's accent
    family), with its loudness when ``loudness`` (loud above -10 dB, quiet below)."""
    from audiolang.data.compose import LOUD_DB, QUIET_DB

    clip = part.clip
    if clip.source == "fsdd" and clip.accent:
        fam = wording.family("accent")
        clause, noun = fam.templates[wording.pick("accent", len(fam.templates))].split("|")
        return clause.format(acc=clip.accent, d=clip.label), noun.format(acc=clip.accent, d=clip.label)
    clause = _event(wording, clip, "clause")
    det, head = _event(wording, clip, "noun")
    if not loudness:
        return clause, _np(det, head)
    fam = wording.family("loudness")
    loud, quiet = fam.templates[wording.pick("loudness", len(fam.templates))].split("|")
    template = loud if part.gain_db > (LOUD_DB + QUIET_DB) / 2 else quiet
    text = " ".join(template.format(S=clause, det=det, N=head).split())
    return text, text


def relations(scene) -> tuple[str, ...]:
    """The relations a scene's caption expresses (the families it draws on)."""
    out = []
    if len(scene.parts) > 1:
        out.append("order" if scene.operator == "then" else "together")
    if scene.loudness:
        out.append("loudness")
    if any(p.clip.source == "fsdd" and p.clip.accent for p in scene.parts):
        out.append("accent")
    return tuple(out)


def render(scene, wording: Wording | None = None) -> str:
    """The caption of ``scene`` in ``wording`` (default: the canonical "A, then B" wording)."""
    wording = wording or Wording()
    phrases = [part_phrase(wording, p, scene.loudness) for p in scene.parts]
    if len(phrases) == 1:
        return phrases[0][0]
    if len(phrases) != 2:
        raise ValueError(f"a caption renders one or two parts; this scene has {len(phrases)}")
    fam = wording.family("order" if scene.operator == "then" else "together")
    template = fam.templates[wording.pick(fam.relation, len(fam.templates))]
    (a, an), (b, bn) = phrases
    return template.format(A=a, B=b, An=an, Bn=bn)


def normalize(caption: str) -> str:
    """Lower case, punctuation dropped, single spaces: captions compared as wordings."""
    return " ".join(re.findall(r"[a-z0-9]+", caption.lower()))


def words(caption: str) -> list[str]:
    return normalize(caption).split()


def vocabulary_words() -> set[str]:
    """Every word the grammar can write (the tokenizer's word list)."""
    out: set[str] = set()
    for fams in FAMILIES.values():
        for fam in fams.values():
            for t in fam.templates:
                out |= set(words(re.sub(r"\{[A-Za-z]+\}", " ", t)))
    for clauses, nouns in EVENTS.values():
        for text in (*clauses, *(" ".join(n) for n in nouns)):
            out |= set(words(text))
    return out
