"""Audio files in, checked: :func:`contrastkit.audio.read_audio_file` to read, torchaudio to resample;
silence trimming; atomic WAV writes.

Every problem names the file (:class:`AudioError`): missing, unreadable, a truncated WAV (its
header declares more data than the file holds), empty, shorter than :data:`MIN_SECONDS`, NaN/inf
samples, float samples far outside [-1, 1], a sampling rate other than the one required.
Several channels are averaged to mono with a logged notice naming the file (the one channel
policy of every audio app, :mod:`contrastkit.audio`).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np
import soundfile as sf
from contrastkit.audio import AudioError, read_audio_file

__all__ = ["MIN_SECONDS", "AudioError", "load_audio", "rms", "trim_silence", "write_wav"]

# the compact audio tower's analysis window is 40 ms (n_fft = 2 hops of 20 ms), reflect-padded by
# half a window on each side: a shorter clip cannot be analysed (torch's padding error)
MIN_SECONDS = 0.05


def load_audio(path: str | Path, sample_rate: int, expected_rate: int | None = None) -> np.ndarray:
    """Read ``path`` as mono float32 ``(T,)`` at ``sample_rate`` Hz (resampled with torchaudio).

    Args:
        path: any format soundfile reads (WAV, FLAC, Ogg).
        sample_rate: the rate returned.
        expected_rate: when given, a file at another rate is an error instead of being resampled.

    Raises:
        AudioError: naming ``path``: the checks of :func:`contrastkit.audio.read_audio_file`, a clip
            shorter than ``MIN_SECONDS``, or a rate other than ``expected_rate``.
    """
    path = Path(path)
    wave, rate = read_audio_file(path, min_samples=1)
    if len(wave) < MIN_SECONDS * rate:
        raise AudioError(f"{path}: {len(wave)} samples ({1000 * len(wave) / rate:.1f} ms at {rate} Hz); audiolang "
                         f"needs clips of at least {1000 * MIN_SECONDS:.0f} ms")
    if expected_rate is not None and rate != expected_rate:
        raise AudioError(f"{path}: sampling rate {rate} Hz, expected {expected_rate} Hz")
    if rate != sample_rate:
        import torch
        import torchaudio

        wave = torchaudio.functional.resample(torch.from_numpy(wave), rate, sample_rate).numpy()
    return np.ascontiguousarray(wave, dtype=np.float32)


def trim_silence(wave: np.ndarray, sample_rate: int, threshold_db: float = -35.0, frame_ms: float = 10.0,
                 max_seconds: float | None = None) -> np.ndarray:
    """Drop leading and trailing frames quieter than ``threshold_db`` below the loudest frame, then
    (``max_seconds``) keep the window of that length centred on the loudest frame.

    Frame energy is the RMS of ``frame_ms`` frames. An all-silent clip is returned unchanged.
    """
    frame = max(1, int(sample_rate * frame_ms / 1000))
    n = len(wave) // frame
    if n == 0:
        return wave
    rms = np.sqrt((wave[: n * frame].reshape(n, frame) ** 2).mean(1) + 1e-12)
    loud = np.nonzero(20 * np.log10(rms / rms.max()) > threshold_db)[0]
    out = wave[loud[0] * frame:(loud[-1] + 1) * frame] if loud.size else wave
    if max_seconds is not None and len(out) > int(max_seconds * sample_rate):
        width = int(max_seconds * sample_rate)
        peak = (int(np.argmax(rms[loud[0]:loud[-1] + 1])) if loud.size else 0) * frame + frame // 2
        start = int(np.clip(peak - width // 2, 0, len(out) - width))
        out = out[start:start + width]
    return out


def rms(wave: np.ndarray) -> float:
    """Root mean square of ``wave``."""
    return float(np.sqrt(np.mean(np.square(wave, dtype=np.float64))))


def write_wav(path: str | Path, wave: np.ndarray, sample_rate: int) -> Path:
    """Write 16-bit PCM WAV atomically (a unique temporary name, then ``os.replace``)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    sf.write(str(tmp), np.clip(wave, -1.0, 1.0), sample_rate, subtype="PCM_16", format="WAV")
    os.replace(tmp, path)
    return path
