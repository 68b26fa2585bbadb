"""Recordings -> :class:`HierarchicalSet`: resampling, trials, per-trial standardization, samples."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np

from medts.data.errors import DataError
from medts.data.hierarchy import HierarchicalSet, Recording
from medts.data.windows import (
    detect_rpeaks,
    flat_channels,
    heartbeat_trials,
    pseudo_trials,
    resample,
    standardize,
    window_starts,
)


@dataclass
class Construction:
    """How trials and samples are cut (COMET, Sec. 4 "Data"; all lengths in seconds).

    trial_mode: ``whole`` (each recording is one trial, e.g. a UCI EEG trial file),
        ``pseudo`` (non-overlapping ``trial_seconds`` windows of a long recording),
        ``heartbeat`` (``beats_per_trial`` consecutive R-peak-centred beats of ``beat_seconds``;
        each beat is one sample).
    sample_seconds / overlap: fixed sample windows inside a trial (``whole``/``pseudo``).
    resample_hz: resample every recording to this rate first (``None``: rates must agree).
    rpeaks: ``annotation`` (the record's beat annotations, else detection) or ``detect``.
    flat: what a flat channel (constant over a whole recording: a disconnected lead) becomes.
        It is found before resampling (which would ring at the edges and, z-scored, turn the
        constant into unit-variance noise). ``zero``: the channel is 0 in every trial of that
        recording, and a warning names the file and channels; ``error``: a :class:`DataError`.
    """

    trial_mode: Literal["whole", "pseudo", "heartbeat"] = "pseudo"
    trial_seconds: float | None = 5.0
    sample_seconds: float = 1.0
    overlap: float = 0.5
    beats_per_trial: int = 10
    beat_seconds: float = 0.6
    resample_hz: float | None = None
    standardize: bool = True
    rpeaks: Literal["annotation", "detect"] = "annotation"
    flat: Literal["zero", "error"] = "zero"


def _trials_of(rec: Recording, signal: np.ndarray, fs: float, c: Construction) -> np.ndarray:
    if c.trial_mode == "whole":
        if c.trial_seconds is None:
            return signal[None]
        n = int(round(c.trial_seconds * fs))
        if len(signal) < n:
            raise DataError(rec.source, f"recording has {len(signal)} samples, shorter than one trial ({n})")
        return signal[None, :n]
    if c.trial_mode == "pseudo":
        if c.trial_seconds is None:
            raise ValueError("trial_seconds: needed for trial_mode='pseudo'")
        return pseudo_trials(signal, int(round(c.trial_seconds * fs)))
    if c.trial_mode == "heartbeat":
        if rec.rpeaks is not None and c.rpeaks == "annotation":
            peaks = np.round(rec.rpeaks * fs / rec.fs).astype(np.int64)
        else:
            peaks = detect_rpeaks(signal, fs, rec.source)
        return heartbeat_trials(signal, peaks, int(round(c.beat_seconds * fs)), c.beats_per_trial)
    raise ValueError(f"trial_mode: unknown value {c.trial_mode!r} (whole, pseudo, heartbeat)")


def _flat_channels(rec: Recording, policy: str) -> np.ndarray:
    """``(C,)`` flat-channel mask of ``rec`` (raw, before resampling), reported as ``policy`` says."""
    flat = flat_channels(rec.signal)
    if flat.any():
        names = [ch for ch, f in zip(rec.channels, flat) if f]
        if policy == "error":
            raise DataError(rec.source, f"flat channel(s) {names}: constant over the whole recording")
        if policy != "zero":
            raise ValueError(f"flat: unknown value {policy!r} (zero, error)")
        warnings.warn(f"{rec.source}: flat channel(s) {names} set to 0 (Construction.flat='zero')", stacklevel=3)
    return flat


def build_set(recordings: list[Recording], c: Construction, class_names: list[str] | None = None) -> HierarchicalSet:
    """Cut trials and sample windows from recordings and assign patient/trial ids.

    Raises :class:`DataError` naming the file for mismatched channels, sampling rates (without
    ``resample_hz``), a patient with two labels, or a recording too short for any trial.
    """
    if not recordings:
        raise ValueError("no recordings to build from")
    first = recordings[0]
    fs = float(c.resample_hz or first.fs)
    patients: dict[str, int] = {}
    labels: dict[str, str] = {}
    trials, trial_patient = [], []
    for rec in recordings:
        if rec.channels != first.channels:
            raise DataError(rec.source, f"channels {rec.channels} differ from {first.channels} ({first.source})")
        if c.resample_hz is None and rec.fs != first.fs:
            raise DataError(rec.source, f"sampling rate {rec.fs} Hz differs from {first.fs} Hz ({first.source}); "
                                        "set resample_hz")
        if labels.setdefault(rec.patient, rec.label) != rec.label:
            raise DataError(rec.source, f"patient {rec.patient} has two labels: {labels[rec.patient]!r} and {rec.label!r}")
        flat = _flat_channels(rec, c.flat)
        signal = resample(rec.signal, rec.fs, fs)
        tr = _trials_of(rec, signal, fs, c)
        if len(tr) == 0:
            raise DataError(rec.source, f"recording of {len(signal)} samples yields no trial")
        if flat.any():  # a copy: tr may be a view of the reader's signal
            tr = np.where(flat, np.float32(0), tr)
        if trials and tr.shape[1] != len(trials[0]):
            raise DataError(rec.source, f"trial length {tr.shape[1]} differs from {len(trials[0])}; "
                                        "set trial_seconds to crop")
        pid = patients.setdefault(rec.patient, len(patients))
        trials.extend(standardize(t) if c.standardize else t.astype(np.float32) for t in tr)
        trial_patient.extend([pid] * len(tr))
    arr = np.stack(trials).astype(np.float32)
    if c.trial_mode == "heartbeat":
        t_len = int(round(c.beat_seconds * fs))
        starts = np.arange(c.beats_per_trial, dtype=np.int64) * t_len
    else:
        t_len = int(round(c.sample_seconds * fs))
        starts = window_starts(arr.shape[1], t_len, c.overlap)
        if len(starts) == 0:
            raise ValueError(f"sample_seconds={c.sample_seconds} is longer than a trial ({arr.shape[1] / fs} s)")
    n_tr = len(arr)
    sample_index = np.stack([np.repeat(np.arange(n_tr), len(starts)), np.tile(starts, n_tr)], axis=1).astype(np.int64)
    classes = class_names or sorted(set(labels.values()))
    unknown = set(labels.values()) - set(classes)
    if unknown:
        raise ValueError(f"class_names: labels {sorted(unknown)} are not listed")
    names = list(patients)
    return HierarchicalSet(
        arr, np.asarray(trial_patient, dtype=np.int64), sample_index, t_len, names,
        np.array([classes.index(labels[p]) for p in names], dtype=np.int64), list(classes), fs, list(first.channels),
    )
