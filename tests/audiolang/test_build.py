"""The benchmark builder: determinism per seed, group disjointness, true reversals, stated gains
(the captions' wording: ``test_wording.py``)."""

import csv
import json
from collections import Counter

import numpy as np
import pytest
import soundfile as sf
from audiolang.data.benchmark_csv import read_benchmark_csv
from audiolang.data.build import ClipConfig, build_benchmark, build_training_set, load_clips, training_scenes
from audiolang.data.compose import LOUD_DB, QUIET_DB
from audiolang.data.wording import words
from contrastkit.paths import data_root

SYN = ClipConfig(sources=("synthetic",))


def _files(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_other_seed_other_pairs(tmp_path):
    a = build_benchmark(tmp_path / "a", "order", 12, seed=3, clips=SYN)
    b = build_benchmark(tmp_path / "b", "order", 12, seed=3, clips=SYN)
    c = build_benchmark(tmp_path / "c", "order", 12, seed=4, clips=SYN)
    assert _files(a.parent) == _files(b.parent)
    assert a.read_text() != c.read_text()
    assert build_benchmark(tmp_path / "a", "order", 12, seed=3, clips=SYN) == a  # cached: reused
    assert not list((tmp_path / "a").glob(".tmp-*"))


def _meta(csv_path):
    return {m["file"]: m for m in map(json.loads, (csv_path.parent / "metadata.jsonl").read_text().splitlines())}


def test_order_pairs_are_the_same_clips_reversed(tmp_path):
    path = build_benchmark(tmp_path, "order", 8, seed=0, clips=SYN)
    meta = _meta(path)
    rows = list(csv.DictReader(path.open()))
    assert set(rows[0]) >= {"pair_caption", "reversed_pair_caption", "pair_file", "reversed_pair_file", "third_file"}
    for row in rows:
        fwd, rev = meta[row["pair_file"]], meta[row["reversed_pair_file"]]
        assert [p["clip"] for p in fwd["parts"]] == [p["clip"] for p in rev["parts"]][::-1]
        xa, _ = sf.read(path.parent / row["pair_file"])
        xb, _ = sf.read(path.parent / row["reversed_pair_file"])
        (a0, a1), (b0, b1) = fwd["spans"]
        (r0, r1), (s0, s1) = rev["spans"]
        np.testing.assert_array_equal(xa[a0:a1], xb[s0:s1])  # clip A: first in one, last in the other
        np.testing.assert_array_equal(xa[b0:b1], xb[r0:r1])
        assert Counter(words(row["pair_caption"])) == Counter(words(row["reversed_pair_caption"]))
        assert row["pair_caption"] != row["reversed_pair_caption"]


def test_gains_are_applied_as_stated(tmp_path):
    path = build_benchmark(tmp_path, "attribute", 6, seed=0, clips=SYN)
    meta = _meta(path)
    for row in read_benchmark_csv(path):
        for f in (row.file, row.reversed_file):
            m = meta[str(f.relative_to(path.parent))]
            x, _ = sf.read(f)
            levels = [20 * np.log10(np.sqrt(np.mean(x[s:e] ** 2))) for s, e in m["spans"]]
            gains = [p["gain_db"] for p in m["parts"]]
            assert sorted(gains) == [QUIET_DB, LOUD_DB]
            assert levels[0] - levels[1] == pytest.approx(gains[0] - gains[1], abs=0.5)
        assert Counter(words(row.caption)) == Counter(words(row.reversed_caption)) and row.caption != row.reversed_caption


def test_real_benchmark_uses_only_test_folds_and_speakers(tmp_path):
    clips = ClipConfig(sources=("esc10", "fsdd"), test_groups=("fold5", "theo", "lucas"), fsdd_takes=2)
    for kind in ("order", "attribute"):
        path = build_benchmark(tmp_path, kind, 20, seed=0, clips=clips)
        groups = {p["group"] for m in _meta(path).values() for p in m["parts"]}
        assert groups and groups <= {"fold5", "theo", "lucas"}
    speakers = [m for m in _meta(path).values() if m["parts"][0]["group"] in ("theo", "lucas")]
    assert speakers, "the attribute benchmark has FSDD speaker pairs"
    for m in speakers:
        assert len({p["group"] for p in m["parts"]}) == 2
    train = load_clips(ClipConfig(sources=("fsdd",), fsdd_takes=2), test=False)
    assert {c.group for c in train.clips} == {"jackson", "nicolas", "yweweler", "george"}
    assert len(list((data_root() / "esc10").glob("*/5-*.ogg"))) == len(
        load_clips(ClipConfig(sources=("esc10",), test_groups=("fold5",)), test=True).clips)


def test_training_set_has_negatives_positives_and_no_test_group(tmp_path):
    manifest = build_training_set(tmp_path, 60, seed=0, clips=SYN)
    items = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert len(items) == 60
    for item in items:
        assert len(item["negatives"]) >= 3 and len(item["positives"]) >= 2
        assert item["caption"] not in item["negatives"]
        assert item["fold"] != "fold5"
        assert (manifest.parent / item["negative_audio"]).is_file()
    kinds = {s.operator + str(len(s.parts)) for s, _ in training_scenes(load_clips(SYN, test=False).clips, 60, 0)}
    assert {"then1", "then2", "and2"} <= kinds


def test_four_thousand_compositions_scene_drawing_is_fast():
    import time

    clips = load_clips(SYN, test=False).clips
    t = time.perf_counter()
    assert len(training_scenes(clips, 4000, 0)) == 4000
    assert time.perf_counter() - t < 30
