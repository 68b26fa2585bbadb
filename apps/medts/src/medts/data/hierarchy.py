"""COMET's data hierarchy: patient -> trial -> sample ``(T, C)``, one class label per patient.

Trials are stored once, as ``(n_trials, L, C)``; a sample is a window ``(trial, start)`` of
length ``T`` inside its trial, so overlapping samples cost no extra storage (the cache written
by ``medts study --prepare_only true`` is exactly these arrays, memory-mapped). Every sample carries its trial id,
its patient id and its patient's label (Wang et al., NeurIPS 2023, Sec. 3: "patient, trial,
sample, observation").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Recording:
    """One continuous signal of one patient, as a reader returns it.

    signal: ``(L, C)`` float32; fs: sampling rate (Hz); source: file it came from;
    rpeaks: optional R-peak sample indices (from a WFDB annotation file).
    """

    signal: np.ndarray
    fs: float
    patient: str
    label: str
    channels: list[str]
    source: str
    rpeaks: np.ndarray | None = None


@dataclass
class HierarchicalSet:
    """Trials, sample windows and ids.

    trials: ``(n_trials, L, C)`` float32 (np.memmap when loaded from a cache).
    trial_patient: ``(n_trials,)`` int64 index into ``patient_names``.
    sample_index: ``(n_samples, 2)`` int64 rows ``(trial, start)``; sample = trials[t, s:s+T].
    sample_length: ``T``.
    patient_label: ``(n_patients,)`` int64 index into ``class_names``.
    """

    trials: np.ndarray
    trial_patient: np.ndarray
    sample_index: np.ndarray
    sample_length: int
    patient_names: list[str]
    patient_label: np.ndarray
    class_names: list[str]
    fs: float
    channels: list[str]
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        n_tr, length, _ = self.trials.shape
        if self.trial_patient.shape != (n_tr,):
            raise ValueError(f"trial_patient must be ({n_tr},); got {self.trial_patient.shape}")
        if self.sample_index.ndim != 2 or self.sample_index.shape[1] != 2:
            raise ValueError("sample_index must be (n_samples, 2)")
        if len(self.sample_index) and (self.sample_index[:, 1] + self.sample_length > length).any():
            raise ValueError("a sample window runs past the end of its trial")
        if self.patient_label.shape != (len(self.patient_names),):
            raise ValueError("patient_label must have one entry per patient")

    @property
    def n_samples(self) -> int:
        return len(self.sample_index)

    @property
    def n_channels(self) -> int:
        return self.trials.shape[2]

    @property
    def sample_trial(self) -> np.ndarray:
        """``(n_samples,)`` trial id of each sample."""
        return self.sample_index[:, 0]

    @property
    def sample_patient(self) -> np.ndarray:
        """``(n_samples,)`` patient id of each sample."""
        return self.trial_patient[self.sample_index[:, 0]]

    @property
    def sample_label(self) -> np.ndarray:
        """``(n_samples,)`` class label of each sample (its patient's)."""
        return self.patient_label[self.sample_patient]

    def samples(self, idx: np.ndarray) -> np.ndarray:
        """``(len(idx), T, C)`` float32 copies of the samples ``idx``."""
        rows = self.sample_index[np.asarray(idx)]
        offs = rows[:, 1:2] + np.arange(self.sample_length)[None, :]
        return np.asarray(self.trials[rows[:, :1], offs], dtype=np.float32)

    def subset_patients(self, patients: np.ndarray) -> HierarchicalSet:
        """The samples of the given patient ids (trials and ids kept, sample rows filtered)."""
        keep = np.isin(self.sample_patient, patients)
        return HierarchicalSet(
            self.trials, self.trial_patient, self.sample_index[keep], self.sample_length,
            self.patient_names, self.patient_label, self.class_names, self.fs, self.channels, dict(self.meta),
        )

    def subset_samples(self, idx: np.ndarray) -> HierarchicalSet:
        """The given sample rows."""
        return HierarchicalSet(
            self.trials, self.trial_patient, self.sample_index[np.asarray(idx)], self.sample_length,
            self.patient_names, self.patient_label, self.class_names, self.fs, self.channels, dict(self.meta),
        )

    def summary(self) -> dict:
        """Counts for printing and for the manifest."""
        pats = np.unique(self.sample_patient)
        return {
            "patients": len(pats),
            "trials": len(np.unique(self.sample_trial)),
            "samples": self.n_samples,
            "sample_shape": [self.sample_length, self.n_channels],
            "fs": self.fs,
            "classes": self.class_names,
            "patients_per_class": [int((self.patient_label[pats] == k).sum()) for k in range(len(self.class_names))],
        }
