"""WFDB records against known facts of MIT-BIH 100 and PTB s0010_re, and corrupt copies of them."""

import shutil

import numpy as np
import pytest
from medts.data import Construction, DataError, build_set
from medts.data.wfdb_reader import read_wfdb

WF = "wfdb_samples"


def test_mitbih_100(real_data):
    rec = read_wfdb(real_data / WF / "100", label="normal")
    assert rec.fs == 360.0 and rec.signal.shape == (650000, 2) and rec.channels == ["MLII", "V5"]
    assert len(rec.rpeaks) == 2273  # 2274 annotations, one of them the '+' rhythm change
    assert rec.rpeaks[0] == 77


def test_mitbih_header_age_sex(real_data):
    import wfdb
    from medts.data.wfdb_reader import header_info
    info = header_info(wfdb.rdheader(str(real_data / WF / "100")).comments)
    assert info["age"] == "69" and info["sex"] == "male"


def test_ptb_header_comments_give_label(real_data):
    rec = read_wfdb(real_data / WF / "s0010_re")
    assert rec.fs == 1000.0 and rec.signal.shape == (38400, 15)
    assert rec.channels[:3] == ["i", "ii", "iii"] and rec.channels[-1] == "vz"
    assert rec.label == "Myocardial infarction" and rec.rpeaks is None


def test_heartbeat_trials_from_annotations(real_data):
    rec = read_wfdb(real_data / WF / "100", label="normal")
    ds = build_set([rec], Construction(trial_mode="heartbeat", beats_per_trial=10, beat_seconds=0.6))
    beat = round(0.6 * 360)
    assert ds.trials.shape == (227, 10 * beat, 2) and ds.sample_length == beat
    assert ds.n_samples == 2270 and np.all(np.bincount(ds.sample_trial) == 10)


def _copy(real_data, tmp_path, record):
    for f in (real_data / WF).glob(record + ".*"):
        shutil.copy(f, tmp_path / f.name)
    return tmp_path / record


def test_truncated_dat_names_the_file(real_data, tmp_path):
    rec = _copy(real_data, tmp_path, "100")
    data = (tmp_path / "100.dat").read_bytes()
    (tmp_path / "100.dat").chmod(0o644)
    (tmp_path / "100.dat").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"100.dat: truncated: the header declares 650000 samples"):
        read_wfdb(rec, label="x")


def test_header_lying_about_length(real_data, tmp_path):
    rec = _copy(real_data, tmp_path, "100")
    hea = tmp_path / "100.hea"
    hea.chmod(0o644)
    hea.write_text(hea.read_text().replace("100 2 360 650000", "100 2 360 600000"))
    with pytest.raises(DataError, match="100.dat: the header declares 600000 samples.*header's length is wrong"):
        read_wfdb(rec, label="x")


def test_missing_lead_names_the_header(real_data):
    with pytest.raises(DataError, match=r"s0010_re.hea: missing lead\(s\) \['MLII'\]"):
        read_wfdb(real_data / WF / "s0010_re", channels=["MLII"])


def test_mixed_sampling_rates_name_the_file(real_data):
    a = read_wfdb(real_data / WF / "100", label="n")
    b = read_wfdb(real_data / WF / "s0010_re", channels=["ii", "v5"], label="mi")
    b.channels = a.channels
    c = Construction(trial_mode="pseudo", trial_seconds=10, sample_seconds=1)
    with pytest.raises(DataError, match="s0010_re: sampling rate 1000.0 Hz differs from 360.0 Hz"):
        build_set([a, b], c)
    ds = build_set([a, b], Construction(trial_mode="pseudo", trial_seconds=10, sample_seconds=1, resample_hz=250))
    assert ds.fs == 250 and ds.trials.shape[1:] == (2500, 2)
    assert np.bincount(ds.trial_patient).tolist() == [180, 3]  # 1805 s and 38.4 s of signal
