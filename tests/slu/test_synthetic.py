"""The synthetic set: deterministic per seed, speaker-disjoint, cached and read back unchanged."""

from __future__ import annotations

import torch
from slu.data.prompts import FSC_INTENTS, fsc_prompts
from slu.data.synthetic import SyntheticConfig, generate, load_or_generate, pseudo_speakers

TINY = SyntheticConfig(train_speakers=2, test_speakers=1, phrasings=1, max_classes=3, seed=5)


def test_fsc_prompts_cover_the_31_intents():
    prompts = fsc_prompts(5)
    assert len(FSC_INTENTS) == 31 and len({i for i, _ in prompts}) == 31
    assert len(prompts) == 31 * 5 and len(set(prompts)) == len(prompts)


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


def test_cache_round_trip(tmp_path):
    corpus, waves = load_or_generate(TINY, tmp_path)
    folders = list((tmp_path / "synthetic").iterdir())
    assert len(folders) == 1 and folders[0].name == f"fsc-{TINY.key()}"
    again, cached = load_or_generate(TINY, tmp_path)
    assert again.utterances == corpus.utterances
    assert all(torch.equal(x, y) for x, y in zip(waves, cached))
    assert not any(p.name.startswith(".") for p in (tmp_path / "synthetic").iterdir())  # no temporary left


def test_slurp_like_prompts_cover_the_18_scenarios():
    from contrastkit.paths import data_root
    from slu.data.prompts import slurp_prompts

    files = sorted((data_root() / "slurp_text").glob("*.jsonl"))
    assert [f.name for f in files] == ["devel.jsonl", "test.jsonl"]
    prompts = slurp_prompts(files, "scenario", per_class=3)
    scenarios = {c for c, _ in prompts}
    assert len(scenarios) == 18 and len(prompts) == 18 * 3
    assert ("qa", "siri what is one american dollar in japanese yen") in prompts  # devel.jsonl's first line
