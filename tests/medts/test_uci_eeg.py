"""The UCI EEG text reader against known facts of eeg_smni (Begleiter alcoholism set)."""

import gzip
import re

import numpy as np
import pytest
from medts.data import DataError
from medts.data.uci_eeg import read_uci_folder, read_uci_trial

pytestmark = pytest.mark.realdata
TRIAL = "eeg_smni/SMNI_CMI_TRAIN/co2a0000364/co2a0000364.rd.000.gz"


def test_one_trial_known_facts(real_data):
    rec = read_uci_trial(real_data / TRIAL)
    assert rec.signal.shape == (256, 64) and rec.fs == 256.0
    assert rec.patient == "co2a0000364" and rec.label == "alcoholic"
    assert rec.channels[:3] == ["FP1", "FP2", "F7"] and rec.channels[-1] == "Y"
    np.testing.assert_allclose(rec.signal[:3, 0], [-8.921, -8.433, -2.574], rtol=1e-6)


def test_folder_labels_per_subject(real_data):
    recs = read_uci_folder(real_data / "eeg_smni/SMNI_CMI_TRAIN", max_trials_per_subject=1)
    groups = {r.patient: r.label for r in recs}
    assert len(groups) == 20
    assert sorted(groups.values()).count("alcoholic") == 10 and sorted(groups.values()).count("control") == 10
    assert all(g == ("alcoholic" if p[3] == "a" else "control") for p, g in groups.items())


def test_truncated_file_names_the_file(real_data, tmp_path):
    with gzip.open(real_data / TRIAL, "rt") as fh:
        lines = fh.read().splitlines()
    bad = tmp_path / "co2a0000364.rd.000.gz"
    with gzip.open(bad, "wt") as fh:
        fh.write("\n".join(lines[:-100]) + "\n")
    with pytest.raises(DataError, match="co2a0000364.rd.000.gz.*different lengths"):
        read_uci_trial(bad)


def test_nan_value_names_file_and_channel(real_data, tmp_path):
    with gzip.open(real_data / TRIAL, "rt") as fh:
        text = re.sub(r"^0 FP2 5 \S+$", "0 FP2 5 nan", fh.read(), count=1, flags=re.MULTILINE)
    bad = tmp_path / "nan.gz"
    with gzip.open(bad, "wt") as fh:
        fh.write(text)
    with pytest.raises(DataError, match=r"nan.gz: 1 NaN/inf values \(first at sample 5, channel FP2\)"):
        read_uci_trial(bad)


def test_five_subject_wise_folds_of_the_real_subjects(real_data):
    """The README's k-fold table: 5 folds of the 20 subjects, each testing 2 alcoholic and 2 control
    subjects, every subject tested once, never in two roles."""
    from medts.data.split import patient_folds

    recs = read_uci_folder(real_data / "eeg_smni/SMNI_CMI_TRAIN", max_trials_per_subject=1)
    names = sorted({r.patient for r in recs})
    label = np.array([{r.patient: r.label for r in recs}[n] == "control" for n in names], dtype=int)
    folds = patient_folds(label, 5)
    assert all(np.bincount(label[f["test"]], minlength=2).tolist() == [2, 2] for f in folds)
    assert sorted(np.concatenate([f["test"] for f in folds]).tolist()) == list(range(20))
    for f in folds:
        assert len(f["train"]) == 12 and not set(f["train"]) & (set(f["val"]) | set(f["test"]))
