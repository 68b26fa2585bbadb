"""apps/medts/scripts/bandpower_folds.py: the band-power features and a run over synthetic folds."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import yaml
from medts.data.hierarchy import HierarchicalSet

SCRIPT = Path(__file__).resolve().parents[2] / "apps/medts/scripts/bandpower_folds.py"
spec = importlib.util.spec_from_file_location("bandpower_folds", SCRIPT)
bandpower_folds = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bandpower_folds)


def test_a_sine_has_its_power_in_its_band_and_features_match_a_loop():
    fs, length = 128.0, 64
    t = np.arange(length) / fs
    # channel 0: 10 Hz (alpha band), channel 1: 20 Hz (beta band), over weak noise so that every band
    # holds power far above float32 rounding (the log compares then to ~1e-6); one trial, one sample
    noise = 0.1 * np.random.default_rng(0).standard_normal((length, 2))
    trial = (np.stack([np.sin(2 * np.pi * 10 * t), np.sin(2 * np.pi * 20 * t)], 1) + noise)[None].astype(np.float32)
    part = HierarchicalSet(trial, np.array([0]), np.array([[0, 0]]), length, ["p0"], np.array([0]), ["a"], fs,
                           ["c0", "c1"], {})
    features = bandpower_folds.band_power_features(part)
    assert features.shape == (1, 2 * len(bandpower_folds.BANDS_HZ))
    by_band = features.reshape(len(bandpower_folds.BANDS_HZ), 2)  # band-major, then channel
    assert by_band[:, 0].argmax() == 2 and by_band[:, 1].argmax() == 3
    freq = np.fft.rfftfreq(length, 1 / fs)
    for b, (lo, hi) in enumerate(bandpower_folds.BANDS_HZ):
        for c in range(2):
            power = [abs(np.sum(trial[0, :, c] * np.exp(-2j * np.pi * k * np.arange(length) / length))) ** 2
                     for k in range(len(freq)) if lo <= freq[k] < hi]
            np.testing.assert_allclose(by_band[b, c], np.log(np.mean(power) + 1e-8), rtol=1e-5, atol=1e-5)


def test_it_scores_every_fold_of_a_synthetic_cohort(tmp_path, capsys):
    config = {"data": {"source": {"kind": "synthetic", "synthetic_patients_per_class": 6, "synthetic_seconds": 10.0},
                       "construction": {"trial_mode": "pseudo", "trial_seconds": 5.0, "sample_seconds": 1.0,
                                        "overlap": 0.5}}}
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(config))
    scores = bandpower_folds.main(["--config", str(path), "--folds", "3", "--runs_root", str(tmp_path)])
    assert len(scores) == 3 and all(0 <= s <= 1 and 0 <= p <= 1 for s, p in scores)
    out = capsys.readouterr().out
    # 4 test patients a fold: patient accuracy moves in steps of 25 %
    assert all(p * 4 == round(p * 4) for _, p in scores)
    assert f"sample {100 * np.mean([s for s, _ in scores]):.1f} ±" in out
