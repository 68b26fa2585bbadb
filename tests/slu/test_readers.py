"""Readers against the real files' known figures, and the FSC / SLURP / folder layouts on tiny fakes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from slu.data.corpus import Corpus, Utterance
from slu.data.folders import read_folders
from slu.data.fsc import read_fsc
from slu.data.fsdd import DIGITS, read_fsdd
from slu.data.picovoice import read_picovoice
from slu.data.slurp import read_slurp


def write_wav(path, wave: np.ndarray, rate: int = 16000, subtype: str = "PCM_16"):
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), wave, rate, subtype=subtype)
    return path


def tone(seconds: float = 0.5, rate: int = 16000, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_fsdd_counts_and_speaker_disjoint_split(fsdd_dir):
    corpus = read_fsdd(fsdd_dir)
    assert len(corpus.utterances) == 3000
    assert len({u.speaker for u in corpus.utterances}) == 6
    assert corpus.classes == sorted(DIGITS)
    train = {u.speaker for u in corpus.utterances if u.split == "train"}
    test = {u.speaker for u in corpus.utterances if u.split == "test"}
    assert test == {"theo", "yweweler"} and not train & test
    assert len(corpus.indices("test")) == 1000 and len(corpus.indices("train")) == 2000
    u = next(u for u in corpus.utterances if u.audio.endswith("7_jackson_12.wav"))
    assert (u.intent, u.transcript, u.speaker) == ("seven", "seven", "jackson")


def test_fsdd_features_are_resampled_to_16k(fsdd_dir):
    import soundfile as sf
    from slu.data.audio import read_audio
    from slu.data.features import featurize

    path = fsdd_dir / "recordings" / "0_george_0.wav"
    n8k = sf.info(str(path)).frames
    wave = read_audio(path)
    assert abs(len(wave) - 2 * n8k) <= 1
    feats = featurize(wave)
    assert feats.shape == (len(wave) // 160 + 1, 40)


def test_picovoice_counts(picovoice_dir):
    corpus = read_picovoice(picovoice_dir)
    assert len(corpus.utterances) == 120
    assert len(corpus.classes) == 10
    assert all(sum(u.intent == c for u in corpus.utterances) == 12 for c in corpus.classes)
    assert len(corpus.indices("test")) == 30  # every 4th clip of each class


def test_fsc_layout(tmp_path):
    rows = [("wavs/speakers/s1/a.wav", "s1", "Turn on the lights", "activate", "lights", "none", "train"),
            ("wavs/speakers/s1/b.wav", "s1", "Switch to Chinese", "change language", "Chinese", "none", "train"),
            ("wavs/speakers/s2/c.wav", "s2", "Heat up the kitchen", "increase", "heat", "kitchen", "test")]
    for split in ("train", "valid", "test"):
        lines = [",path,speakerId,transcription,action,object,location"]
        lines += [f"{k},{p},{s},{t},{a},{o},{l}" for k, (p, s, t, a, o, l, sp) in enumerate(rows) if sp == split]
        (tmp_path / "data").mkdir(exist_ok=True)
        (tmp_path / "data" / f"{split}_data.csv").write_text("\n".join(lines) + "\n")
    for p, *_ in rows:
        write_wav(tmp_path / p, tone())
    corpus = read_fsc(tmp_path)
    assert [u.intent for u in corpus.utterances] == ["activate_lights_none", "change language_Chinese_none",
                                                     "increase_heat_kitchen"]
    assert corpus.utterances[0].transcript == "turn on the lights"
    assert corpus.classes == sorted(corpus.classes)
    assert corpus.class_map == {"activate_lights_none": 0, "change language_Chinese_none": 1, "increase_heat_kitchen": 2}


def test_slurp_layout_skips_missing_audio(tmp_path):
    (tmp_path / "slurp").mkdir()
    recs = {"train": [{"sentence": "Wake me up at five", "scenario": "alarm", "intent": "alarm_set",
                       "recordings": [{"file": "a.flac"}, {"file": "missing.flac"}]}],
            "devel": [{"sentence": "play jazz", "scenario": "play", "intent": "play_music",
                       "recordings": [{"file": "b.flac"}]}],
            "test": [{"sentence": "what time is it", "scenario": "datetime", "intent": "datetime_query",
                      "recordings": [{"file": "c.flac"}]}]}
    for split, items in recs.items():
        (tmp_path / "slurp" / f"{split}.jsonl").write_text("\n".join(json.dumps(r) for r in items) + "\n")
    for name in ("a", "b", "c"):
        write_wav(tmp_path / "slurp_real" / f"{name}.flac", tone(), subtype="PCM_16")
    with pytest.warns(UserWarning, match="1 of the 4 recordings listed are not under"):
        corpus = read_slurp(tmp_path, label="scenario")
    assert [(u.intent, u.split) for u in corpus.utterances] == [("alarm", "train"), ("play", "valid"),
                                                                ("datetime", "test")]
    assert corpus.report["missing_audio"] == 1
    with pytest.warns(UserWarning, match="they are skipped"):
        assert read_slurp(tmp_path).classes == ["alarm_set", "datetime_query", "play_music"]


def test_folder_per_class_layout(tmp_path):
    for split, cls, n in (("train", "lights_on", 2), ("train", "music_off", 1), ("test", "lights_on", 1)):
        for k in range(n):
            write_wav(tmp_path / split / cls / f"{k}.wav", tone())
    corpus = read_folders(tmp_path)
    assert len(corpus.utterances) == 4 and corpus.classes == ["lights_on", "music_off"]
    assert corpus.utterances[0].transcript == "lights on"


def test_class_map_is_sorted_whatever_the_reading_order():
    utts = [Utterance("", c, c, "s", "train") for c in ("b", "c", "a", "b")]
    assert Corpus("x", utts).class_map == {"a": 0, "b": 1, "c": 2}


def test_unknown_split_is_refused():
    with pytest.raises(ValueError, match="unknown split"):
        Corpus("x", [Utterance("", "a", "a", "s", "dev")])
