"""The sentences the synthetic sets speak, grouped into *wording families*.

A wording family is one way of saying an intent (a word order, a verb voice, a carrier or
politeness phrase); it expands into several sentences (templates x synonyms x location forms).
The synthetic sets hold out whole families for testing (:mod:`slu.data.synthetic`), so their
test clips include wordings never heard in training.

- FSC-like: a paraphrase grammar for FSC's 31 intents ``action_object_location``, written here
  in FSC's style, not copied from FSC. Every family of an intent keeps the intent's content words
  (object, on/off, up/down, the language, the room) and varies the rest; the words of a family
  also occur in other families, so a held-out family is new wording, not new vocabulary.
- SLURP-like: the real sentences of ``slurp_text`` (read with the app's SLURP reader); a family
  is the sentence's slot-abstracted annotation (``wake me up at [time]``), so sentences that differ
  only in their slot values stay together.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

Families = dict[str, dict[str, list[str]]]  # class -> family name -> sentences

_ROOMS = ("kitchen", "bedroom", "washroom")
_SWITCHED = {"lights": ("lights", "light"), "lamp": ("lamp",)}
# a switched object (lights, lamp): {v} verb, {p} on/off, {o} object, {pre} room before it, {loc} room after
_SWITCH = {
    "direct": ["{v} {p} the {pre}{o}{loc}"],
    "split": ["{v} the {pre}{o} {p}{loc}"],
    "terse": ["{pre}{o} {p}{loc}", "{pre}{o} {p} now{loc}"],
    "polite": ["could you {v} {p} the {pre}{o}{loc}", "please {v} the {pre}{o} {p}{loc}",
               "can you {v} the {pre}{o} {p}{loc} please"],
    "passive": ["i want the {pre}{o} {p}{loc}", "i would like the {pre}{o} {pp} {p}{loc}",
                "the {pre}{o} should be {p}{loc}"],
}
_SWITCH_VERBS = ("turn", "switch")
# up/down quantities: {o} object, {d} up/down, {cmp} comparative, {inc} increase/decrease verb
_LEVEL = {
    "direct": ["turn {d} the {pre}{o}{loc}", "{inc} the {pre}{o}{loc}"],
    "split": ["turn the {pre}{o} {d}{loc}", "make it {cmp}{loc}"],
    "terse": ["{pre}{o} {d}{loc}", "{cmp}{loc} please"],
    "polite": ["could you turn {d} the {pre}{o}{loc}", "please make it {cmp}{loc}",
               "can you {inc} the {pre}{o}{loc} please"],
    "passive": ["i want the {pre}{o} turned {d}{loc}", "i would like it {cmp}{loc}",
                "the {pre}{o} should be {d}{loc}"],
}
_LEVELS = {  # (object, action) -> {o} synonyms, {d}, {cmp}, {inc}
    ("heat", "increase"): (("heat", "heating", "temperature"), "up", "warmer", "increase"),
    ("heat", "decrease"): (("heat", "heating", "temperature"), "down", "cooler", "decrease"),
    ("volume", "increase"): (("volume", "sound"), "up", "louder", "increase"),
    ("volume", "decrease"): (("volume", "sound"), "down", "quieter", "decrease"),
}
_MUSIC = {
    "activate": {"direct": ["play the music", "start the music", "play some music"],
                 "split": ["turn the music on", "switch the music on", "put the music on"],
                 "terse": ["music on", "music please", "some music now"],
                 "polite": ["could you play some music", "please start the music", "can you put on some music please"],
                 "passive": ["i want the music on", "i would like some music", "the music should be playing"]},
    "deactivate": {"direct": ["stop the music", "pause the music", "turn off the music"],
                   "split": ["turn the music off", "switch the music off", "put the music off"],
                   "terse": ["music off", "no more music", "music off now"],
                   "polite": ["could you stop the music", "please pause the music", "can you turn off the music please"],
                   "passive": ["i want the music off", "i would like the music stopped", "the music should be off"]},
}
_BRING = {
    "direct": ["bring me the {o}", "fetch the {o}", "get me the {o}"],
    "split": ["bring the {o} to me", "fetch the {o} for me", "get the {o} for me"],
    "terse": ["the {o} please", "{o} please", "{o} now"],
    "polite": ["could you bring me the {o}", "please fetch the {o}", "can you get me the {o} please"],
    "passive": ["i want the {o}", "i would like the {o} brought to me", "i need the {o}"],
}
_BROUGHT = {"newspaper": ("newspaper", "paper"), "juice": ("juice",), "socks": ("socks",), "shoes": ("shoes",)}
_LANGUAGE_NONE = {
    "direct": ["change the language", "switch the language", "change language"],
    "split": ["use another language", "use a different language", "switch to another language"],
    "terse": ["language settings", "another language please", "language"],
    "polite": ["could you change the language", "please switch the language", "can you change the language please"],
    "passive": ["i want another language", "i would like a different language", "the language should be changed"],
}
_LANGUAGE_TO = {
    "direct": ["set the language to {x}", "change the language to {x}", "switch the language to {x}"],
    "split": ["switch to {x}", "change to {x}", "use {x}"],
    "terse": ["{x} please", "{x} language", "{x} now"],
    "polite": ["could you switch to {x}", "please change the language to {x}", "can you set the language to {x} please"],
    "passive": ["i want {x}", "i would like {x}", "the language should be {x}"],
}

# the 31 FSC intents as (action, object, location)
FSC_INTENTS = tuple(sorted(
    [(a, o, "none") for a in ("activate", "deactivate") for o in ("lights", "lamp", "music")]
    + [(a, o, "none") for a in ("increase", "decrease") for o in ("heat", "volume")]
    + [("bring", o, "none") for o in _BROUGHT]
    + [(a, "lights", room) for a in ("activate", "deactivate") for room in _ROOMS]
    + [(a, "heat", room) for a in ("increase", "decrease") for room in _ROOMS]
    + [("change language", lang, "none") for lang in ("none", "Chinese", "Korean", "English", "German")]))


def _expand(templates: list[str], **slots: tuple[str, ...]) -> list[str]:
    """Every filling of ``templates`` by the slot values (each slot a tuple of choices), in order,
    without repeats; spaces normalized."""
    out: list[str] = []
    for template in templates:
        names = [n for n in slots if "{" + n + "}" in template]
        for values in itertools.product(*(slots[n] for n in names)):
            text = " ".join(template.format(**dict(zip(names, values)), **{n: "" for n in slots if n not in names})
                            .split())
            if text not in out:
                out.append(text)
    return out


def _family_sentences(templates: list[str], room: str, **slots: tuple[str, ...]) -> list[str]:
    if room == "none":
        return _expand(templates, pre=("",), loc=("",), **slots)
    suffix = _expand(templates, pre=("",), loc=(f" in the {room}",), **slots)
    prefix = _expand([t for t in templates if "{pre}" in t], pre=(f"{room} ",), loc=("",), **slots)
    return [s for s in suffix + prefix if room in s]


def fsc_families() -> Families:
    """``{intent: {family: sentences}}`` for the 31 FSC intents, five families each (direct,
    split, terse, polite, passive); no sentence belongs to two intents."""
    out: Families = {}
    for action, obj, room in FSC_INTENTS:
        intent = f"{action}_{obj}_{room}"
        if action == "change language":
            grammar = _LANGUAGE_NONE if obj == "none" else {f: [t.format(x=obj.lower()) for t in ts]
                                                            for f, ts in _LANGUAGE_TO.items()}
            out[intent] = {f: list(ts) for f, ts in grammar.items()}
        elif obj == "music":
            out[intent] = {f: list(ts) for f, ts in _MUSIC[action].items()}
        elif action == "bring":
            out[intent] = {f: _expand(ts, o=_BROUGHT[obj]) for f, ts in _BRING.items()}
        elif obj in _SWITCHED:
            p, pp = ("on", "switched") if action == "activate" else ("off", "switched")
            out[intent] = {f: _family_sentences(ts, room, v=_SWITCH_VERBS, p=(p,), pp=(pp,), o=_SWITCHED[obj])
                           for f, ts in _SWITCH.items()}
        else:
            o, d, cmp, inc = _LEVELS[(obj, action)]
            out[intent] = {f: _family_sentences(ts, room, o=o, d=(d,), cmp=(cmp,), inc=(inc,))
                           for f, ts in _LEVEL.items()}
    check_unambiguous(out)
    return out


def check_unambiguous(families: Families) -> None:
    """Raise ValueError when a sentence (normalized) belongs to two classes, naming both."""
    from slu.data.corpus import normalize_text

    owner: dict[str, str] = {}
    for cls, fams in families.items():
        for sentences in fams.values():
            for s in sentences:
                key = normalize_text(s)
                if owner.setdefault(key, cls) != cls:
                    raise ValueError(f"the sentence {s!r} belongs to two classes: {owner[key]!r} and {cls!r}")


_SLOT = re.compile(r"\[\s*([^:\]]+?)\s*:[^\]]*\]")


def slot_template(annotation: str) -> str:
    """A SLURP ``sentence_annotation`` with every ``[type : value]`` written as ``[type]``,
    lower-cased and space-normalized: the sentence's wording family."""
    return " ".join(_SLOT.sub(lambda m: f"[{m.group(1).strip()}]", annotation.lower()).split())


def slurp_families(paths: list[str | Path], label: str = "scenario", per_class: int = 20) -> Families:
    """``{class: {family: sentences}}`` from SLURP annotation files: the first ``per_class``
    families (slot-abstracted annotations, :func:`slot_template`) of each class (``scenario`` or
    ``intent``) in file order, with every distinct sentence of theirs; a sentence listed under two
    classes is kept only under the first."""
    from slu.data.corpus import normalize_text
    from slu.data.slurp import read_slurp_jsonl

    out: Families = {}
    taken: set[str] = set()
    for path in paths:
        for rec in read_slurp_jsonl(path):
            text = " ".join(rec["sentence"].lower().split())
            key = normalize_text(text)
            if not key or key in taken:
                continue
            fams = out.setdefault(rec[label], {})
            family = slot_template(rec.get("sentence_annotation") or text)
            if family not in fams and len(fams) >= per_class:
                continue
            fams.setdefault(family, []).append(text)
            taken.add(key)
    return out
