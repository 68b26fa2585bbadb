"""Trial and sample construction, standardization, resampling and the hierarchy's ids."""

import numpy as np
import pytest
from medts.data import Construction, DataError, Recording, build_set
from medts.data.windows import beats_centred, resample, standardize, window_starts


def test_window_starts_as_official_split():
    # the official split_data: a 1280-step trial -> 9 half-overlapping 256-step samples
    assert window_starts(1280, 256, 0.5).tolist() == list(range(0, 1025, 128))
    assert len(window_starts(1000, 100, 0.0)) == 10 and len(window_starts(50, 100, 0.5)) == 0
    with pytest.raises(ValueError, match="overlap"):
        window_starts(100, 10, 1.0)


def test_standardize_per_channel():
    x = np.random.default_rng(0).normal([3.0, -2.0], [5.0, 0.5], (400, 2))
    y = standardize(x)
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(y.std(0), 1, atol=1e-5)
    assert np.all(standardize(np.ones((10, 1))) == 0)


def test_resample_keeps_a_sine():
    t = np.arange(1000) / 500
    y = resample(np.sin(2 * np.pi * 5 * t)[:, None], 500, 250)
    assert y.shape == (500, 1)
    np.testing.assert_allclose(y[50:-50, 0], np.sin(2 * np.pi * 5 * np.arange(500) / 250)[50:-50], atol=1e-2)


def test_beats_centred_and_padded():
    sig = np.arange(20, dtype=np.float32)[:, None]
    beats = beats_centred(sig, np.array([1, 10]), 4)
    assert beats[:, :, 0].tolist() == [[0, 0, 1, 2], [8, 9, 10, 11]]


def _rec(pid, label, n=640, fs=64.0, ch=2, seed=0):
    x = np.random.default_rng(seed).normal(size=(n, ch)).astype(np.float32)
    return Recording(x, fs, pid, label, [f"c{i}" for i in range(ch)], f"{pid}.edf")


def test_ids_carried_by_every_sample():
    recs = [_rec("p1", "a"), _rec("p2", "b", n=1280), _rec("p1", "a", seed=1)]
    ds = build_set(recs, Construction(trial_mode="pseudo", trial_seconds=5, sample_seconds=1, overlap=0.5))
    # 640 steps = 2 trials of 320; 1280 = 4; samples of 64 at hop 32 -> 9 per trial
    assert ds.trials.shape == (8, 320, 2) and ds.n_samples == 72
    assert ds.patient_names == ["p1", "p2"] and ds.class_names == ["a", "b"]
    assert np.bincount(ds.sample_patient).tolist() == [36, 36]
    assert ds.sample_label.tolist() == [0] * 18 + [1] * 36 + [0] * 18
    s = ds.samples(np.array([10]))
    t, start = ds.sample_index[10]
    np.testing.assert_array_equal(s[0], ds.trials[t, start:start + 64])


def test_patient_with_two_labels_is_an_error():
    with pytest.raises(DataError, match="p1.edf: patient p1 has two labels"):
        build_set([_rec("p1", "a"), _rec("p1", "b")], Construction())


def test_channel_mismatch_and_short_recording_are_errors():
    bad = _rec("p2", "a", ch=3)
    with pytest.raises(DataError, match="p2.edf: channels"):
        build_set([_rec("p1", "a"), bad], Construction())
    with pytest.raises(DataError, match="p3.edf: recording of 100 samples yields no trial"):
        build_set([_rec("p3", "a", n=100)], Construction(trial_seconds=5))
