"""The sentences the synthetic sets speak: FSC's 31 intents with several phrasings each, and
SLURP sentences (scenario, intent, text) from its annotation files.

FSC intents are ``action_object_location``; the phrasings follow FSC's style ("turn on the lights
in the kitchen", "kitchen lights on", ...) but are written here, not copied from FSC.
"""

from __future__ import annotations

from pathlib import Path

# (action, object) -> phrasings; "{loc}" is replaced by a location phrase or removed
_PHRASES = {
    ("activate", "lights"): ["turn on the lights{loc}", "switch on the lights{loc}", "lights on{loc}",
                             "turn the lights on{loc}", "i need light{loc}"],
    ("deactivate", "lights"): ["turn off the lights{loc}", "switch off the lights{loc}", "lights off{loc}",
                               "turn the lights off{loc}", "kill the lights{loc}"],
    ("increase", "heat"): ["turn up the heat{loc}", "increase the temperature{loc}", "make it warmer{loc}",
                           "heat up{loc}", "more heat{loc}"],
    ("decrease", "heat"): ["turn down the heat{loc}", "decrease the temperature{loc}", "make it cooler{loc}",
                           "cool down{loc}", "less heat{loc}"],
    ("increase", "volume"): ["turn up the volume", "increase the volume", "louder please", "make it louder",
                             "volume up"],
    ("decrease", "volume"): ["turn down the volume", "decrease the volume", "quieter please", "make it quieter",
                             "volume down"],
    ("activate", "music"): ["play the music", "start the music", "put on some music", "play music", "music on"],
    ("deactivate", "music"): ["stop the music", "pause the music", "turn off the music", "music off",
                              "no more music"],
    ("activate", "lamp"): ["turn on the lamp", "switch on the lamp", "lamp on", "turn the lamp on",
                           "light the lamp"],
    ("deactivate", "lamp"): ["turn off the lamp", "switch off the lamp", "lamp off", "turn the lamp off",
                             "put out the lamp"],
    ("bring", "newspaper"): ["bring me the newspaper", "fetch the newspaper", "get me the newspaper",
                             "i want the newspaper", "newspaper please"],
    ("bring", "juice"): ["bring me some juice", "fetch the juice", "get me juice", "i want juice", "juice please"],
    ("bring", "socks"): ["bring me my socks", "fetch my socks", "get me the socks", "i need socks",
                         "socks please"],
    ("bring", "shoes"): ["bring me my shoes", "fetch my shoes", "get me the shoes", "i need shoes",
                         "shoes please"],
    ("change language", "none"): ["change the language", "switch the language", "use another language",
                                  "language settings", "change language"],
}
_LANGUAGE = ["set the language to {x}", "switch to {x}", "change the language to {x}", "i want {x}",
             "{x} please"]
_LOCATIONS = {"none": [""], "kitchen": [" in the kitchen", " kitchen"], "bedroom": [" in the bedroom", " bedroom"],
              "washroom": [" in the washroom", " washroom"]}
# the 31 FSC intents as (action, object, location)
FSC_INTENTS = tuple(sorted(
    [(a, o, "none") for (a, o) in _PHRASES]
    + [(a, "lights", loc) for a in ("activate", "deactivate") for loc in ("kitchen", "bedroom", "washroom")]
    + [(a, "heat", loc) for a in ("increase", "decrease") for loc in ("kitchen", "bedroom", "washroom")]
    + [("change language", lang, "none") for lang in ("Chinese", "Korean", "English", "German")]))


def fsc_prompts(phrasings: int = 5) -> list[tuple[str, str]]:
    """``(intent, sentence)`` for the 31 FSC intents, ``phrasings`` (1..5) sentences each."""
    if not 1 <= phrasings <= 5:
        raise ValueError(f"phrasings must be in 1..5; got {phrasings}")
    out = []
    for action, obj, loc in FSC_INTENTS:
        intent = f"{action}_{obj}_{loc}"
        if action == "change language" and obj != "none":
            texts = [t.format(x=obj.lower()) for t in _LANGUAGE]
        else:
            texts = [t.format(loc=_LOCATIONS[loc][k % len(_LOCATIONS[loc])]) for k, t in enumerate(_PHRASES[(action, obj)])]
        out += [(intent, t) for t in texts[:phrasings]]
    return out


def slurp_prompts(paths: list[str | Path], label: str = "scenario", per_class: int = 20) -> list[tuple[str, str]]:
    """``(class, sentence)`` from SLURP annotation files: the first ``per_class`` distinct sentences
    of each class (``scenario`` or ``intent``) in file order."""
    from slu.data.slurp import read_slurp_jsonl

    out, counts = [], {}
    for path in paths:
        for rec in read_slurp_jsonl(path):
            key, text = rec[label], rec["sentence"].lower().strip()
            if counts.get(key, 0) < per_class and text:
                counts[key] = counts.get(key, 0) + 1
                out.append((key, text))
    return out
