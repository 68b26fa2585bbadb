"""Audio in, log-mel features out: reading with checks, resampling to 16 kHz, SpecAugment.

Every check names the file: unreadable or empty files, more than one channel (``mono=True``), a
rate other than the expected one when resampling is off, NaN or infinite samples, and clipped
audio (more than ``max_clipped`` of the samples at full scale).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

SAMPLE_RATE = 16_000
N_MELS = 40
CLIP_LEVEL = 0.999


class AudioError(ValueError):
    """A bad audio file; the message starts with its path."""


def check_wave(wave: np.ndarray, where: str, max_clipped: float = 0.01) -> np.ndarray:
    """Check a mono float wave ``(T,)``: non-empty, finite, not clipped; returns it as float32."""
    if wave.size == 0:
        raise AudioError(f"{where}: empty audio (0 samples)")
    if not np.isfinite(wave).all():
        raise AudioError(f"{where}: {int((~np.isfinite(wave)).sum())} NaN or infinite samples")
    clipped = float(np.mean(np.abs(wave) >= CLIP_LEVEL))
    if clipped > max_clipped:
        raise AudioError(f"{where}: clipped: {clipped:.1%} of the samples are at full scale "
                         f"(more than max_clipped={max_clipped:.1%})")
    return wave.astype(np.float32, copy=False)


def read_audio(path: str | Path, sample_rate: int = SAMPLE_RATE, resample: bool = True, mono: bool = True,
               max_clipped: float = 0.01) -> Tensor:
    """Read a WAV/FLAC/OGG file as a float32 wave ``(T,)`` at ``sample_rate``.

    Args:
        path: the audio file.
        sample_rate: the rate returned (16 kHz, what the paper's encoders expect).
        resample: resample other rates; False makes another rate an error.
        mono: True makes a file with more than one channel an error; False averages the channels.
        max_clipped: the largest fraction of samples allowed at full scale.

    Raises:
        AudioError: naming ``path`` and the problem.
    """
    import soundfile as sf

    path = Path(path)
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as error:  # noqa: BLE001  (soundfile raises LibsndfileError, RuntimeError, TypeError...)
        raise AudioError(f"{path}: unreadable audio ({str(error).splitlines()[0] if str(error) else error!r})") from None
    if data.shape[1] > 1:
        if mono:
            raise AudioError(f"{path}: {data.shape[1]} channels where mono audio is expected "
                             "(mix it down, or read with mono=False to average the channels)")
        data = data.mean(axis=1, keepdims=True)
    wave = check_wave(data[:, 0], str(path), max_clipped)
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
