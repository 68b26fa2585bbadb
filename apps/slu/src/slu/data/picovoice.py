"""Picovoice speech-to-intent benchmark: ``label.json`` (file -> intent, slots) and ``clean/*.wav``.

Every clip of the coffee set has the intent ``orderDrink``; the class is a slot (``coffeeDrink`` by
default, 10 drinks). There is no transcript in the label file: the slot values in sorted slot
order stand in for it. The speakers are not given, so each clip is its own speaker; the split
puts every ``test_every``-th clip of each class (in name order) in the test split.
"""

from __future__ import annotations

import json
from pathlib import Path

from slu.data.corpus import Corpus, Utterance, require_file


def read_picovoice(root: str | Path, label_field: str = "coffeeDrink", audio_dir: str = "clean",
                   test_every: int = 4) -> Corpus:
    """Clips listed in ``root/label.json`` that exist under ``root/audio_dir``; missing files are
    skipped and counted in the report.

    Raises:
        ValueError: ``label.json`` is not a JSON object of ``{file: {"intent", "slots"}}`` (the
            entry is named), or an entry lacks ``label_field``.
    """
    root = Path(root)
    path = require_file(root / "label.json", "the Picovoice label file")
    try:
        labels = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(labels, dict):
        raise ValueError(f"{path}: expected an object {{file: {{intent, slots}}}}")  # noqa: TRY004  (bad file content)
    utts, missing, seen = [], 0, {}
    for name in sorted(labels):
        entry = labels[name]
        slots = entry.get("slots") if isinstance(entry, dict) else None
        if not isinstance(slots, dict) or "intent" not in entry:
            raise ValueError(f"{path}: entry {name!r} has no 'intent' and 'slots'")
        label = entry["intent"] if label_field == "intent" else slots.get(label_field)
        if not label:
            raise ValueError(f"{path}: entry {name!r} has no slot {label_field!r}")
        audio = root / audio_dir / name
        if not audio.is_file():
            missing += 1
            continue
        k = seen[label] = seen.get(label, -1) + 1
        text = " ".join(str(slots[s]).strip() for s in sorted(slots))
        utts.append(Utterance(str(audio), label.strip(), text, Path(name).stem, "test" if k % test_every == test_every - 1 else "train"))
    return Corpus("picovoice", utts, {"labels": len(labels), "missing_audio": missing})
