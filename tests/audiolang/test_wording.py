"""Meaning first, wording second: the paraphrase grammar, the held-out wording families, and the
built sets checked for leaks (no test-only wording in training) and for negatives that differ from
their positive in meaning only."""

import csv
import json
from collections import Counter

import pytest
from audiolang.data.build import ClipConfig, build_benchmark, build_training_set
from audiolang.data.compose import LOUD_DB, QUIET_DB, Part, Scene, swap_gains, swap_order
from audiolang.data.sources import Clip
from audiolang.data.wording import (
    EVENTS,
    FAMILIES,
    Wording,
    held_out_families,
    normalize,
    render,
    training_families,
    words,
)

DOG = Clip("d.wav", "esc10", "dog bark", "fold1", "a dog barks", "dog bark")
CLOCK = Clip("c.wav", "esc10", "clock tick", "fold1", "a clock ticks", "clock tick")


def _markers(relation_families: dict[str, tuple[str, ...]]) -> set[str]:
    return {m for r, names in relation_families.items() for n in names for m in FAMILIES[r][n].markers}


def test_markers_belong_to_one_family_and_to_no_event_phrase():
    owner = {}
    for relation, fams in FAMILIES.items():
        for fam in fams.values():
            for marker in fam.markers:
                assert marker not in owner, f"{marker!r} marks {owner.get(marker)} and {relation}/{fam.name}"
                owner[marker] = f"{relation}/{fam.name}"
            for template in fam.templates:  # each template says its family's markers, no other family's
                said = set(words(template.replace("{", " ").replace("}", " ")))
                assert said & set(fam.markers), template
                assert not {m for m in said & set(owner) if owner[m] != f"{relation}/{fam.name}"}, template
    event_words = {w for clauses, nouns in EVENTS.values() for t in (*clauses, *(" ".join(n) for n in nouns))
                   for w in words(t)}
    assert not event_words & set(owner)


def test_hand_written_renderings():
    scene = Scene((Part(DOG), Part(CLOCK)))
    assert scene.caption() == "a dog barks, then a clock ticks"  # the canonical wording
    one = lambda relation, family: Wording({"order": "then", relation: family}, seed=None)
    assert render(scene, one("order", "after")) == "a clock tick after a dog bark"
    assert render(scene, one("order", "preceded")) == "a clock tick, preceded by a dog bark"
    assert render(scene, one("order", "first")) == "first a dog barks, afterwards a clock ticks"
    assert render(Scene((Part(DOG), Part(CLOCK)), "and"), one("together", "while")) == "a dog barks while a clock ticks"
    loud = Scene((Part(DOG, LOUD_DB), Part(CLOCK, QUIET_DB)), loudness=True)
    assert render(loud, one("loudness", "adverb")) == "a dog barks loudly, then a clock ticks quietly"
    assert render(loud, one("loudness", "intensity")) == "a booming dog bark, then a faint clock tick"
    assert render(swap_gains(loud), one("loudness", "volume")) == \
        "a dog bark at low volume, then a clock tick at full volume"
    # an order swap keeps each event's phrasing: the same words, the events exchanged
    for seed in range(20):
        w = Wording({"order": "preceded"}, seed)
        a, b = render(scene, w), render(swap_order(scene), w)
        assert a != b and Counter(words(a)) == Counter(words(b))


def test_the_split_is_drawn_from_the_seed():
    assert held_out_families(3) == held_out_families(3)
    assert any(held_out_families(s) != held_out_families(0) for s in range(1, 6))
    for seed in range(4):
        test, train = held_out_families(seed), training_families(seed)
        for relation, fams in FAMILIES.items():
            assert test[relation] and train[relation]
            assert set(test[relation]) | set(train[relation]) == set(fams)
            assert not set(test[relation]) & set(train[relation])


@pytest.mark.parametrize("sources", [("synthetic",), ("esc10", "fsdd")])
def test_built_sets_never_leak_test_wording_and_negatives_differ_in_meaning_only(tmp_path, sources):
    clips = ClipConfig(sources=sources, fsdd_takes=2, wording_seed=1)
    manifest = build_training_set(tmp_path, 300, 0, clips)
    items = [json.loads(line) for line in manifest.read_text().splitlines()]
    train_text = [t for i in items for t in (i["caption"], *i["negatives"], *i["positives"])]
    held_out = _markers(held_out_families(1))
    leaked = [t for t in train_text if set(words(t)) & held_out]
    assert not leaked, leaked[:3]
    # the training families are all used (mixed wording), read from the text itself
    seen_markers = {w for t in train_text for w in words(t)} & _markers(training_families(1))
    for relation in ("order", "loudness"):
        for name in training_families(1)[relation]:
            assert seen_markers & set(FAMILIES[relation][name].markers), (relation, name)
    trained = {normalize(t) for t in train_text}
    for kind in ("order", "attribute"):
        path = build_benchmark(tmp_path, kind, 30, 0, clips)
        meta = {m["file"]: m for m in map(json.loads, (path.parent / "metadata.jsonl").read_text().splitlines())}
        rows = list(csv.DictReader(path.open()))
        assert Counter(r["wording"] for r in rows) == {"seen": 30, "unseen": 30}
        for row in rows:
            caption, reverse = row["pair_caption"], row["reversed_pair_caption"]
            unseen = bool(set(words(caption)) & held_out)
            assert unseen == (row["wording"] == "unseen"), caption
            if unseen:
                assert normalize(caption) not in trained and normalize(reverse) not in trained
            # the negative: the same words, another meaning (order or attribute swapped, same clips' classes)
            assert caption != reverse and Counter(words(caption)) == Counter(words(reverse))
            fwd, rev = meta[row["pair_file"]]["parts"], meta[row["reversed_pair_file"]]["parts"]
            if kind == "order":
                assert [p["clip"] for p in rev] == [p["clip"] for p in fwd][::-1]
            elif meta[row["pair_file"]]["loudness"]:
                assert [p["clip"] for p in rev] == [p["clip"] for p in fwd]
                assert [p["gain_db"] for p in rev] == [p["gain_db"] for p in fwd][::-1] != [p["gain_db"] for p in fwd]
            else:  # FSDD: the same digits in the same order, said by the two speakers swapped
                assert [p["label"] for p in rev] == [p["label"] for p in fwd]
                assert [p["group"] for p in rev] == [p["group"] for p in fwd][::-1]
        pairs = {(r["pair_file"], r["wording"]) for r in rows}
        assert len(pairs) == len(rows)  # each pair once in each wording, the same audio in both
