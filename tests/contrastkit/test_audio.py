"""contrastkit.audio: the one checked audio reader of the audio apps."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import soundfile as sf
from contrastkit.audio import AudioError, read_audio_file, wav_data_shortfall

RATE = 16_000


def _wave(n: int = 7_958, channels: int = 1, scale: float = 0.1) -> np.ndarray:
    x = np.random.default_rng(0).standard_normal((n, channels)).astype(np.float32) * scale
    return x[:, 0] if channels == 1 else x


def test_a_complete_wav_reads_back_its_samples(tmp_path):
    path = tmp_path / "a.wav"
    sf.write(path, _wave(), RATE, subtype="FLOAT")
    wave, rate = read_audio_file(path)
    assert rate == RATE and wave.dtype == np.float32
    np.testing.assert_array_equal(wave, _wave())
    assert wav_data_shortfall(path) is None


def test_a_truncated_wav_is_an_error_with_the_declared_and_present_bytes(tmp_path):
    """libsndfile reads the part of a truncated WAV that is there, as a shorter clip."""
    full, cut = tmp_path / "full.wav", tmp_path / "cut.wav"
    sf.write(full, _wave(), RATE, subtype="PCM_16")  # 7,958 samples: 15,916 data bytes
    data = full.read_bytes()
    cut.write_bytes(data[:44 + 7_958])
    assert sf.info(str(cut)).frames == 3_979  # what a plain read would give
    assert wav_data_shortfall(cut) == (15_916, 7_958)
    with pytest.raises(AudioError, match=r"cut\.wav: truncated WAV: its header declares 15,916 data bytes, "
                                         r"the file holds 7,958"):
        read_audio_file(cut)


@pytest.mark.parametrize(("samples", "message"), [(1, "1 samples"), (159, "159 samples")])
def test_a_clip_too_short_for_one_frame_is_named(tmp_path, samples, message):
    path = tmp_path / "short.wav"
    sf.write(path, _wave(samples), RATE)
    with pytest.raises(AudioError, match=rf"short\.wav: {message}"):
        read_audio_file(path)


def test_float_samples_far_outside_full_scale_are_refused(tmp_path):
    path = tmp_path / "counts.wav"
    sf.write(path, _wave() * 1e7, RATE, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"counts\.wav: samples reach .* far outside \[-1, 1\]"):
        read_audio_file(path)


def test_non_finite_samples_are_named(tmp_path):
    wave = _wave()
    wave[5] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(path, wave, RATE, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"nan\.wav: 1 NaN or infinite samples"):
        read_audio_file(path)


def test_stereo_is_averaged_to_mono_with_a_notice(tmp_path, caplog):
    stereo = _wave(1_600, channels=2)
    path = tmp_path / "stereo.wav"
    sf.write(path, stereo, RATE, subtype="FLOAT")
    with caplog.at_level(logging.WARNING, logger="contrastkit.audio"):
        wave, _ = read_audio_file(path)
    np.testing.assert_allclose(wave, stereo.mean(axis=1), rtol=0, atol=1e-7)
    assert "stereo.wav: 2 channels, averaged to mono" in caplog.text


def test_missing_and_unreadable_files_are_named(tmp_path):
    with pytest.raises(AudioError, match=r"nowhere\.wav: no such audio file"):
        read_audio_file(tmp_path / "nowhere.wav")
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not audio at all" * 10)
    with pytest.raises(AudioError, match=r"junk\.wav: unreadable audio"):
        read_audio_file(junk)
