"""Patient-independent split, label fractions, the hierarchy batch sampler and the cache round trip."""

import numpy as np
import pytest
from medts.data import (
    Construction,
    DataError,
    Source,
    build_from_source,
    label_fraction,
    read_cache,
    split_set,
    write_cache,
)
from medts.data.sampler import HierarchyBatchSampler
from medts.data.split import patient_folds, patient_split


@pytest.fixture(scope="module")
def syn():
    src = Source(kind="synthetic", synthetic_patients_per_class=6, synthetic_seconds=20)
    return build_from_source(src, Construction(trial_seconds=5, sample_seconds=1, overlap=0.5))


def test_split_is_patient_independent_stratified_and_seeded(syn):
    parts = split_set(syn, (0.6, 0.2, 0.2), seed=3)
    pats = {k: set(np.unique(v.sample_patient)) for k, v in parts.items()}
    assert not (pats["train"] & pats["val"]) and not (pats["train"] & pats["test"]) and not (pats["val"] & pats["test"])
    assert set.union(*pats.values()) == set(range(12))
    for v in parts.values():  # both classes in every split
        assert set(np.unique(v.sample_label)) == {0, 1}
    assert sum(v.n_samples for v in parts.values()) == syn.n_samples
    again = split_set(syn, (0.6, 0.2, 0.2), seed=3)
    assert all(np.array_equal(again[k].sample_index, parts[k].sample_index) for k in parts)
    other = patient_split(syn.patient_label, (0.6, 0.2, 0.2), seed=4)
    assert any(set(other[k]) != pats[k] for k in other)


def test_split_rejects_bad_fractions(syn):
    with pytest.raises(ValueError, match="fractions"):
        patient_split(syn.patient_label, (0.5, 0.2, 0.2))


def test_label_fraction_by_sample_and_patient(syn):
    tr = split_set(syn, seed=0)["train"]
    ten = label_fraction(tr, 0.1, "sample", seed=0)
    assert abs(ten.n_samples - 0.1 * tr.n_samples) <= 2 and set(np.unique(ten.sample_label)) == {0, 1}
    one = label_fraction(tr, 0.01, "sample", seed=0)
    assert one.n_samples == 2  # at least one per class
    by_p = label_fraction(tr, 0.5, "patient", seed=0)
    assert len(np.unique(by_p.sample_patient)) == 4
    with pytest.raises(ValueError, match="label fraction"):
        label_fraction(tr, 0.0)


@pytest.mark.parametrize("k", [3, 4, 6])
def test_folds_test_every_patient_once_and_never_use_one_in_two_roles(syn, k):
    folds = [split_set(syn, seed=5, folds=k, fold=f) for f in range(k)]
    tested = []
    for parts in folds:
        pats = {name: set(np.unique(part.sample_patient)) for name, part in parts.items()}
        assert not (pats["train"] & pats["val"]) and not (pats["train"] & pats["test"])
        assert not (pats["val"] & pats["test"])
        assert set.union(*pats.values()) == set(range(12))  # every patient has a role in every fold
        assert set(np.unique(parts["test"].sample_label)) == {0, 1}  # stratified: both classes tested
        tested += sorted(pats["test"])
    assert sorted(tested) == list(range(12))  # each patient tested exactly once
    # fold i validates on the patients fold i + 1 tests
    assert all(set(np.unique(folds[f]["val"].sample_patient)) == set(np.unique(folds[(f + 1) % k]["test"].sample_patient))
               for f in range(k))
    again = patient_folds(syn.patient_label, k, seed=5)
    assert all(np.array_equal(a["test"], b) for a, b in zip(again, [np.unique(p["test"].sample_patient) for p in folds]))


def test_folds_refuse_too_few_patients_per_class_or_folds(syn):
    with pytest.raises(ValueError, match="class 0 has only 6 patients"):
        patient_folds(syn.patient_label, 7)
    with pytest.raises(ValueError, match="at least 3"):
        patient_folds(syn.patient_label, 2)
    with pytest.raises(ValueError, match=r"data.fold must be in \[0, 3\)"):
        split_set(syn, folds=3, fold=3)


@pytest.mark.parametrize("fraction", [0.01, 0.1, 0.5])
def test_label_fraction_per_patient_keeps_that_fraction_of_every_patient(syn, fraction):
    tr = split_set(syn, seed=0)["train"]
    kept = label_fraction(tr, fraction, "sample_per_patient", seed=1)
    for patient in np.unique(tr.sample_patient):
        n = int((tr.sample_patient == patient).sum())
        assert int((kept.sample_patient == patient).sum()) == max(1, round(n * fraction))
    assert set(map(tuple, kept.sample_index)) <= set(map(tuple, tr.sample_index))
    with pytest.raises(ValueError, match="label_by must be one of sample, sample_per_patient, patient"):
        label_fraction(tr, 0.5, "trial")


def test_sampler_keeps_trials_and_patients_together_and_reshuffles(syn):
    s = HierarchyBatchSampler(syn.sample_trial, syn.sample_patient, batch_size=36, trials_per_packet=2, seed=0)
    epochs = [list(iter(s)) for _ in range(2)]
    for batches in epochs:
        flat = np.concatenate(batches)
        assert sorted(flat.tolist()) == list(range(syn.n_samples)) and len(batches) == len(s)
        for b in batches:
            assert np.bincount(syn.sample_trial[b]).max() >= 2
            assert np.bincount(syn.sample_patient[b]).max() >= 18  # 2 trials of one patient x 9 samples
    assert [b.__len__() for b in epochs[0]] == [len(b) for b in epochs[1]]
    assert any(a != b for a, b in zip(epochs[0], epochs[1]))  # membership redrawn each epoch
    # seeds are independent: seed 1's epoch 0 is not seed 0's epoch 1 (as with seed + epoch)
    other = HierarchyBatchSampler(syn.sample_trial, syn.sample_patient, batch_size=36, trials_per_packet=2, seed=1)
    assert not np.array_equal(other.epoch_order(0), s.epoch_order(1))


def test_cache_round_trip_is_memory_mapped(syn, tmp_path):
    out = write_cache(syn, tmp_path / "c", {"k": 1})
    ds = read_cache(out)
    assert isinstance(ds.trials, np.memmap)
    np.testing.assert_array_equal(ds.samples(np.arange(5)), syn.samples(np.arange(5)))
    assert ds.patient_names == syn.patient_names and ds.summary() == syn.summary()
    with pytest.raises(FileExistsError):
        write_cache(syn, out)
    np.save(out / "sample_index.npy", np.zeros((3, 2), dtype=np.int64))
    with pytest.raises(DataError, match="sample_index.npy: shape"):
        read_cache(out)
    with pytest.raises(DataError, match="run `medts study --prepare_only true` first"):
        read_cache(tmp_path / "nothing")
