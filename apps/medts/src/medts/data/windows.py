"""Trial and sample construction as COMET does it: fixed windows with overlap, pseudo-trials cut
from long recordings, heartbeat trials, per-trial standardization and resampling."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy.signal import resample_poly

from medts.data.errors import DataError


def window_starts(length: int, window: int, overlap: float) -> np.ndarray:
    """Start offsets of windows of ``window`` steps with fractional ``overlap`` in ``[0, 1)``.

    The hop is ``round(window * (1 - overlap))``; only whole windows are kept (as the official
    ``split_data``: a 1280-step trial gives 9 half-overlapping 256-step samples).
    """
    if not 0 <= overlap < 1:
        raise ValueError(f"overlap must be in [0, 1); got {overlap}")
    if window < 1:
        raise ValueError(f"window must be >= 1; got {window}")
    hop = max(int(round(window * (1 - overlap))), 1)
    if length < window:
        return np.zeros(0, dtype=np.int64)
    return np.arange(0, length - window + 1, hop, dtype=np.int64)


def standardize(trial: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    """Per-channel z-score over time of one trial ``(L, C)`` (the official ``process_trial``).

    ``x' = (x - mean_t x) / std_t x``, computed in float64; a flat channel (all values equal, or
    std < eps) becomes exactly 0 (in float32 the mean of a constant is off by an ulp, which a
    plain z-score would blow up to -1 or +1).
    """
    x = np.asarray(trial, dtype=np.float64)
    mean = x.mean(axis=0, keepdims=True)
    std = x.std(axis=0, keepdims=True)
    flat = (x.max(axis=0, keepdims=True) == x.min(axis=0, keepdims=True)) | (std < eps)
    return np.where(flat, 0.0, (x - mean) / np.where(flat, 1.0, std)).astype(np.float32)


def flat_channels(signal: np.ndarray) -> np.ndarray:
    """``(C,)`` bool: the channels of ``(L, C)`` whose values are all equal (flat lines)."""
    return signal.max(axis=0) == signal.min(axis=0)


def resample(signal: np.ndarray, fs_in: float, fs_out: float) -> np.ndarray:
    """Polyphase resampling of ``(L, C)`` along time from ``fs_in`` to ``fs_out`` Hz."""
    if fs_in == fs_out:
        return signal
    ratio = Fraction(fs_out / fs_in).limit_denominator(1000)
    return resample_poly(signal, ratio.numerator, ratio.denominator, axis=0).astype(np.float32)


def pseudo_trials(signal: np.ndarray, trial_len: int) -> np.ndarray:
    """Non-overlapping ``trial_len`` windows of a long recording, ``(n, trial_len, C)``."""
    starts = window_starts(len(signal), trial_len, 0.0)
    return np.stack([signal[s:s + trial_len] for s in starts]) if len(starts) else np.zeros((0, trial_len, signal.shape[1]), np.float32)


def beats_centred(signal: np.ndarray, rpeaks: np.ndarray, beat_len: int) -> np.ndarray:
    """One window of ``beat_len`` steps centred on each R-peak, zero-padded at the edges, ``(n, beat_len, C)``."""
    half = beat_len // 2
    padded = np.pad(signal, ((half, beat_len), (0, 0)))
    rp = np.asarray(rpeaks, dtype=np.int64)
    rp = rp[(rp >= 0) & (rp < len(signal))]
    idx = rp[:, None] + np.arange(beat_len)[None, :]  # padded index of (r - half + k)
    return padded[idx].astype(np.float32)


def heartbeat_trials(signal: np.ndarray, rpeaks: np.ndarray, beat_len: int, beats_per_trial: int) -> np.ndarray:
    """Trials of ``beats_per_trial`` consecutive centred beats, concatenated in time.

    Returns ``(n_trials, beats_per_trial * beat_len, C)``; sample ``k`` of a trial is beat ``k``
    (offset ``k * beat_len``), as COMET's PTB/PTB-XL heartbeat trials.
    """
    beats = beats_centred(signal, rpeaks, beat_len)
    n = len(beats) // beats_per_trial
    beats = beats[: n * beats_per_trial]
    return beats.reshape(n, beats_per_trial * beat_len, signal.shape[1])


def detect_rpeaks(signal: np.ndarray, fs: float, source: str) -> np.ndarray:
    """R-peak sample indices of lead 0 with ``wfdb.processing.xqrs_detect``."""
    from wfdb import processing

    peaks = processing.xqrs_detect(sig=signal[:, 0].astype(np.float64), fs=fs, verbose=False)
    if len(peaks) == 0:
        raise DataError(source, "no R-peaks detected; is lead 0 an ECG?")
    return np.asarray(peaks, dtype=np.int64)
