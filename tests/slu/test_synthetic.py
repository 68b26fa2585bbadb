"""The synthetic set: deterministic per seed, speaker-disjoint and wording-disjoint (whole wording
families held out for testing, none of their sentences said in training), cached and read back unchanged."""

from __future__ import annotations

import pytest
import torch
from slu.data.corpus import normalize_text
from slu.data.prompts import FSC_INTENTS, fsc_families, slot_template
from slu.data.synthetic import SyntheticConfig, generate, load_or_generate, pseudo_speakers

TINY = SyntheticConfig(train_speakers=2, test_speakers=1, phrasings=1, max_classes=3, seed=5)


def test_fsc_grammar_gives_every_intent_five_families_and_no_sentence_two_intents():
    families = fsc_families()
    assert len(FSC_INTENTS) == 31 and len(families) == 31
    assert all(sorted(f) == ["direct", "passive", "polite", "split", "terse"] for f in families.values())
    owner = {}
    for intent, fams in families.items():
        for sentences in fams.values():
            assert sentences and all(owner.setdefault(normalize_text(s), intent) == intent for s in sentences)
    rooms = {"kitchen", "bedroom", "washroom"}
    for intent, fams in families.items():  # a room intent says its room in every sentence, other intents none
        room = intent.rsplit("_", 1)[1]
        for s in (s for ss in fams.values() for s in ss):
            assert ({w for w in s.split() if w in rooms} == {room}) if room in rooms else not rooms & set(s.split())
    assert "switch the kitchen lights on" in families["activate_lights_kitchen"]["split"]


def _wording_split_holds(corpus) -> None:
    """No test-only sentence is said in training; test clips of training families are training
    sentences; every class with two or more families has unseen-wording test clips."""
    test_only = corpus.report["test_only_families"]
    train = [u for u in corpus.utterances if u.split == "train"]
    test = [u for u in corpus.utterances if u.split == "test"]
    said = {normalize_text(u.transcript) for u in train}
    assert not any(u.family in test_only[u.intent] for u in train)
    unseen = [u for u in test if u.family in test_only[u.intent]]
    assert unseen and not any(normalize_text(u.transcript) in said for u in unseen)
    assert all(normalize_text(u.transcript) in said for u in test if u.family not in test_only[u.intent])
    assert {u.intent for u in unseen} == {c for c, f in test_only.items() if f} == {u.intent for u in test}
    assert all(len(f) == 1 for f in test_only.values())


def test_the_fsc_like_set_holds_out_whole_wording_families():
    corpus, _ = generate(SyntheticConfig(train_speakers=3, test_speakers=2, phrasings=2))
    _wording_split_holds(corpus)
    assert len(corpus.classes) == 31 and len(corpus.indices("test")) == 31 * 2 * 2
    test = [u for u in corpus.utterances if u.split == "test"]
    assert sum(u.family in corpus.report["test_only_families"][u.intent] for u in test) == len(test) // 2


def test_the_slurp_like_set_holds_out_whole_wording_families():
    corpus, _ = generate(SyntheticConfig(kind="slurp", train_speakers=2, test_speakers=2, phrasings=2,
                                         slurp_per_class=5))
    _wording_split_holds(corpus)
    assert len(corpus.classes) == 18


def test_the_wording_split_follows_the_seed():
    from slu.data.synthetic import families_of, split_families

    families = families_of(SyntheticConfig())
    assert split_families(families, 0.2, 0) == split_families(families, 0.2, 0)
    assert split_families(families, 0.2, 0) != split_families(families, 0.2, 1)
    assert split_families(families, 0.0, 0) == {c: [] for c in families}
    with pytest.raises(ValueError, match="test_only_families"):
        split_families(families, 1.0, 0)


def test_same_seed_same_audio_other_seed_other_speakers():
    a_corpus, a = generate(TINY)
    b_corpus, b = generate(TINY)
    assert a_corpus.utterances == b_corpus.utterances
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert pseudo_speakers(3, 5) != pseudo_speakers(3, 6)


def test_speakers_are_disjoint_across_splits():
    corpus, waves = generate(SyntheticConfig(train_speakers=3, valid_speakers=1, test_speakers=2, phrasings=1,
                                             max_classes=2))
    by_split = {s: {u.speaker for u in corpus.utterances if u.split == s} for s in ("train", "valid", "test")}
    assert [len(v) for v in by_split.values()] == [3, 1, 2]
    assert not (by_split["train"] & by_split["test"]) and not (by_split["train"] & by_split["valid"])
    assert len(corpus.utterances) == 6 * 2 and all(len(w) > 1600 for w in waves)
    assert all(u.family for u in corpus.utterances)


def test_cache_round_trip(tmp_path):
    corpus, waves = load_or_generate(TINY, tmp_path)
    folders = list((tmp_path / "synthetic").iterdir())
    assert len(folders) == 1 and folders[0].name == f"fsc-{TINY.key()}"
    again, cached = load_or_generate(TINY, tmp_path)
    assert again.utterances == corpus.utterances
    assert all(torch.equal(x, y) for x, y in zip(waves, cached))
    assert not any(p.name.startswith(".") for p in (tmp_path / "synthetic").iterdir())  # no temporary left


def test_slurp_like_families_are_slot_templates_of_the_18_scenarios():
    from contrastkit.paths import data_root
    from slu.data.prompts import slurp_families

    files = sorted((data_root() / "slurp_text").glob("*.jsonl"))
    assert [f.name for f in files] == ["devel.jsonl", "test.jsonl"]
    families = slurp_families(files, "scenario", per_class=3)
    assert len(families) == 18 and all(len(f) == 3 for f in families.values())
    # devel.jsonl's first line
    template = slot_template("siri what is one [currency_name : american dollar] in [currency_name : japanese yen]")
    assert template == "siri what is one [currency_name] in [currency_name]"
    assert "siri what is one american dollar in japanese yen" in families["qa"][template]
    assert slot_template("Wake me up at [time : five am]") == "wake me up at [time]"
