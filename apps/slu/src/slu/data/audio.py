"""Audio in, log-mel features out: reading with checks, resampling to 16 kHz, SpecAugment.

Files are read by :func:`contrastkit.audio.read_audio_file`, the one checked reader of every
audio app: a missing, unreadable, empty or truncated file (a WAV whose header declares more data
than it holds), NaN or infinite samples and float samples far outside [-1, 1] are errors naming
the file, and several channels are averaged to mono with a notice naming the file. On top of it
this app refuses clipped audio (more than ``max_clipped`` of the samples at full scale), a clip
shorter than one 25 ms analysis window, and (with resampling off) another sampling rate.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from contrastkit.audio import AudioError, read_audio_file
from torch import Tensor

__all__ = ["AudioError", "check_clipping", "log_mel", "read_audio", "resample_wave", "spec_augment"]

SAMPLE_RATE = 16_000
N_MELS = 40
CLIP_LEVEL = 0.999
MIN_SAMPLES = 400  # one 25 ms window at 16 kHz: the log-mel front end and Wav2Vec2's CNN need a whole one


def check_clipping(wave: np.ndarray, where: str, max_clipped: float = 0.01) -> None:
    """Refuse a wave ``(T,)`` with more than ``max_clipped`` of its samples at full scale."""
    clipped = float(np.mean(np.abs(wave) >= CLIP_LEVEL))
    if clipped > max_clipped:
        raise AudioError(f"{where}: clipped: {clipped:.1%} of the samples are at full scale "
                         f"(more than max_clipped={max_clipped:.1%})")


def read_audio(path: str | Path, sample_rate: int = SAMPLE_RATE, resample: bool = True,
               max_clipped: float = 0.01) -> Tensor:
    """Read an audio file as a mono float32 wave ``(T,)`` at ``sample_rate``.

    Args:
        path: a WAV/FLAC/OGG file (several channels are averaged, with a notice).
        sample_rate: the rate returned (16 kHz, what the paper's encoders expect).
        resample: resample other rates; False makes another rate an error.
        max_clipped: the largest fraction of samples allowed at full scale.

    Raises:
        AudioError: naming ``path`` and the problem (see the module docstring).
    """
    wave, rate = read_audio_file(path, min_samples=1)
    if wave.size * sample_rate < MIN_SAMPLES * rate:
        raise AudioError(f"{path}: {wave.size} samples at {rate} Hz ({1000 * wave.size / rate:.1f} ms); a clip needs "
                         f"at least {1000 * MIN_SAMPLES / SAMPLE_RATE:.0f} ms (one analysis window of the features)")
    check_clipping(wave, str(path), max_clipped)
    if rate != sample_rate:
        if not resample:
            raise AudioError(f"{path}: sampled at {rate} Hz, expected {sample_rate} Hz (resampling is off)")
        return resample_wave(torch.from_numpy(wave), rate, sample_rate)
    return torch.from_numpy(wave)


def resample_wave(wave: Tensor, rate: int, sample_rate: int = SAMPLE_RATE) -> Tensor:
    """``wave`` ``(T,)`` from ``rate`` to ``sample_rate`` (torchaudio's band-limited sinc)."""
    import torchaudio.functional as AF

    return AF.resample(wave, rate, sample_rate) if rate != sample_rate else wave


@lru_cache(maxsize=4)
def _mel(sample_rate: int, n_mels: int):
    import torchaudio

    return torchaudio.transforms.MelSpectrogram(sample_rate=sample_rate, n_fft=400, win_length=400,
                                                hop_length=160, n_mels=n_mels)


def log_mel(wave: Tensor, sample_rate: int = SAMPLE_RATE, n_mels: int = N_MELS) -> Tensor:
    """Log-mel features ``(frames, n_mels)``: 25 ms windows, 10 ms hop, ``log(mel + 1e-6)``, then
    each mel band standardized over the utterance (per-utterance CMVN)."""
    with torch.no_grad():
        feats = torch.log(_mel(sample_rate, n_mels)(wave.float()) + 1e-6).T
    return (feats - feats.mean(0)) / (feats.std(0) + 1e-5) if feats.shape[0] > 1 else feats - feats.mean(0)


def spec_augment(feats: Tensor, freq_masks: int = 2, freq_width: int = 6, time_masks: int = 2,
                 time_width: float = 0.1, generator: torch.Generator | None = None) -> Tensor:
    """SpecAugment (Park et al., 2019) on ``(frames, n_mels)``: ``freq_masks`` bands of up to
    ``freq_width`` mels and ``time_masks`` spans of up to ``time_width`` of the frames set to 0
    (the standardized mean). Returns a new tensor."""
    out = feats.clone()
    frames, mels = out.shape
    for axis, size, count, width in ((1, mels, freq_masks, freq_width),
                                     (0, frames, time_masks, max(1, int(time_width * frames)))):
        for _ in range(count):
            w = min(size, int(torch.randint(0, width + 1, (1,), generator=generator)))
            start = int(torch.randint(0, size - w + 1, (1,), generator=generator))
            out.narrow(axis, start, w).zero_()
    return out
