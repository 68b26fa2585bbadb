"""EEG through MNE: the mental-arithmetic EDF set, and .set / .fif files written here with MNE."""

import mne
import numpy as np
import pytest
from medts.data import DataError
from medts.data.eeg_mne import read_mne, read_mne_folder, read_subject_table

ARITH = "eeg_arithmetic"
ID_REGEX = r"^(Subject\d+)_"


def test_edf_known_facts(real_data):
    rec = read_mne(real_data / ARITH / "Subject00_2.edf", "Subject00", "0")
    assert rec.fs == 500.0 and rec.signal.shape == (31000, 21)
    assert rec.channels[0] == "EEG Fp1" and rec.channels[-2:] == ["EEG A2-A1", "ECG ECG"]
    assert 1 < np.abs(rec.signal[:, :19]).std() < 1000  # µV, not volts


def test_subject_table_groups(real_data):
    labels = read_subject_table(real_data / ARITH / "subject-info.csv", "Subject", "Count quality")
    assert len(labels) == 36
    # the dataset README says 24 good / 12 bad, but the shipped table marks 26 good / 10 bad
    assert list(labels.values()).count("1") == 26 and list(labels.values()).count("0") == 10
    assert labels["Subject00"] == "0" and labels["Subject01"] == "1"


def test_folder_labels_and_channel_exclusion(real_data):
    labels = read_subject_table(real_data / ARITH / "subject-info.csv", "Subject", "Count quality")
    recs = read_mne_folder(real_data / ARITH, "Subject0[0-2]_2.edf", ID_REGEX, labels,
                           exclude_channels=["EEG A2-A1", "ECG ECG"])
    assert [(r.patient, r.label) for r in recs] == [("Subject00", "0"), ("Subject01", "1"), ("Subject02", "1")]
    assert all(r.signal.shape == (31000, 19) for r in recs)


def test_missing_channel_names_file(real_data):
    with pytest.raises(DataError, match="Subject00_2.edf: missing channel"):
        read_mne(real_data / ARITH / "Subject00_2.edf", "Subject00", "0", channels=["EEG Fp1", "EEG Oz"])


def _raw(n_ch=3, sfreq=128.0, n=512, seed=0):
    data = np.random.default_rng(seed).normal(0, 20e-6, (n_ch, n))
    info = mne.create_info([f"C{i}" for i in range(n_ch)], sfreq, "eeg")
    return mne.io.RawArray(data, info, verbose="error"), data


@pytest.mark.parametrize("suffix", ["_raw.fif", ".set"])
def test_fif_and_eeglab_round_trip(tmp_path, suffix):
    raw, data = _raw()
    path = tmp_path / f"p01{suffix}"
    if suffix == ".set":
        mne.export.export_raw(str(path), raw, fmt="eeglab", verbose="error")
    else:
        raw.save(str(path), verbose="error")
    rec = read_mne(path, "p01", "a")
    assert rec.fs == 128.0 and rec.signal.shape == (512, 3) and rec.channels == ["C0", "C1", "C2"]
    np.testing.assert_allclose(rec.signal, data.T * 1e6, rtol=1e-4, atol=1e-3)


def test_unreadable_file_names_it(tmp_path):
    bad = tmp_path / "broken.edf"
    bad.write_bytes(b"0       not an edf header")
    with pytest.raises(DataError, match="broken.edf: malformed EDF/BDF header"):
        read_mne(bad, "x", "0")
