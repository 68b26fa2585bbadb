"""Patient-independent, class-stratified, seeded splits and label fractions."""

from __future__ import annotations

import hashlib
import warnings

import numpy as np

from medts.data.hierarchy import HierarchicalSet

SPLITS = ("train", "val", "test")
LABEL_BY = ("sample", "sample_per_patient", "patient")


def patient_split(
    patient_label: np.ndarray, fractions: tuple[float, float, float] = (0.6, 0.2, 0.2), seed: int = 0
) -> dict[str, np.ndarray]:
    """Assign every patient to exactly one of train/val/test, class by class.

    Args:
        patient_label: ``(P,)`` class of each patient (index = patient id).
    Returns:
        ``{split: sorted patient ids}``; within each class, ``round(n * f)`` patients go to val and
        test (at least one each when the class has >= 3 patients), the rest to train.
    """
    if len(fractions) != 3 or any(f < 0 for f in fractions) or not np.isclose(sum(fractions), 1.0):
        raise ValueError(f"split fractions must be 3 non-negative numbers summing to 1; got {fractions}")
    rng = np.random.default_rng(seed)
    out: dict[str, list[int]] = {s: [] for s in SPLITS}
    for k in np.unique(patient_label):
        ids = rng.permutation(np.flatnonzero(patient_label == k))
        n = len(ids)
        n_val, n_test = (int(round(n * fractions[1])), int(round(n * fractions[2])))
        if n >= 3:
            n_val, n_test = max(n_val, 1 if fractions[1] > 0 else 0), max(n_test, 1 if fractions[2] > 0 else 0)
        n_val = min(n_val, max(n - n_test - 1, 0))
        out["test"] += ids[:n_test].tolist()
        out["val"] += ids[n_test:n_test + n_val].tolist()
        out["train"] += ids[n_test + n_val:].tolist()
    return {s: np.array(sorted(v), dtype=np.int64) for s, v in out.items()}


def patient_folds(patient_label: np.ndarray, k: int, seed: int = 0) -> list[dict[str, np.ndarray]]:
    """Subject-wise, class-stratified k-fold cross-validation: every patient is tested exactly once.

    The patients are dealt into ``k`` class-stratified parts (scikit-learn's ``StratifiedKFold``,
    shuffled by ``seed``); fold ``i`` tests part ``i``, validates on part ``(i + 1) mod k`` and
    trains on the other ``k - 2`` parts.

    Args:
        patient_label: ``(P,)`` class of each patient (index = patient id).
        k: number of folds, at least 3 (train, val and test parts) and at most the patients of
            the smallest class (each test part holds every class).
    Returns:
        ``k`` dicts ``{split: sorted patient ids}``.
    """
    from sklearn.model_selection import StratifiedKFold

    classes, counts = np.unique(patient_label, return_counts=True)
    if k < 3:
        raise ValueError(f"protocol.folds must be 0 (one fixed split) or at least 3 (train, val, test parts); got {k}")
    if counts.min() < k:
        raise ValueError(f"protocol.folds={k}: class {classes[counts.argmin()].item()!r} has only {counts.min()} patients, "
                         f"fewer than the folds (every test part needs each class); use at most {counts.min()} folds")
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    parts = [test for _, test in splitter.split(np.zeros(len(patient_label)), patient_label)]
    folds = []
    for i in range(k):
        test, val = parts[i], parts[(i + 1) % k]
        train = np.concatenate([parts[j] for j in range(k) if j not in (i, (i + 1) % k)])
        folds.append({"train": np.sort(train), "val": np.sort(val), "test": np.sort(test)})
    return folds


def split_set(ds: HierarchicalSet, fractions=(0.6, 0.2, 0.2), seed: int = 0, folds: int = 0,
              fold: int = 0) -> dict[str, HierarchicalSet]:
    """:func:`patient_split` over the patients present in ``ds``, or with ``folds > 0`` fold
    ``fold`` of :func:`patient_folds` (``fractions`` unused)."""
    present = np.unique(ds.sample_patient)
    if folds:
        if not 0 <= fold < folds:
            raise ValueError(f"data.fold must be in [0, {folds}); got {fold}")
        parts = patient_folds(ds.patient_label[present], folds, seed)[fold]
    else:
        parts = patient_split(ds.patient_label[present], fractions, seed)
    out = {s: ds.subset_patients(present[ids]) for s, ids in parts.items()}
    warn_shared_trials(out)
    return out


def warn_shared_trials(parts: dict[str, HierarchicalSet]) -> list[tuple[str, str]]:
    """Warn when a trial's content (SHA-256 of its values) appears in two parts under two patient
    ids: the same data would be in training and test (a subject recorded under two ids, a copied
    file). Returns the ``(patient, patient)`` pairs found."""
    seen: dict[bytes, tuple[str, str]] = {}
    pairs: list[tuple[str, str]] = []
    for name, part in parts.items():
        for t in np.unique(part.sample_trial):
            key = hashlib.sha256(np.ascontiguousarray(part.trials[t]).tobytes()).digest()
            patient = part.patient_names[part.trial_patient[t]]
            first = seen.setdefault(key, (name, patient))
            if first[0] != name:
                pairs.append((first[1], patient))
                warnings.warn(f"identical trial in {first[0]} (patient {first[1]!r}) and {name} (patient {patient!r}): "
                              "the same data would be in both splits; check these two subject ids", stacklevel=3)
    return pairs


def label_fraction(ds: HierarchicalSet, fraction: float, by: str = "sample", seed: int = 0) -> HierarchicalSet:
    """Keep ``fraction`` of the labelled training data, stratified by class, at least one per class.

    ``by="sample"`` draws samples stratified by class (the paper's 10 % / 1 % settings),
    ``by="sample_per_patient"`` draws ``fraction`` of each training patient's samples (at least
    one each: no patient is lost by chance at 1 %), ``by="patient"`` whole patients.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"label fraction must be in (0, 1]; got {fraction}")
    if by not in LABEL_BY:
        raise ValueError(f"label_by must be one of {', '.join(LABEL_BY)}; got {by!r}")
    if fraction == 1:
        return ds
    rng = np.random.default_rng(seed)
    if by == "patient":
        pats = np.unique(ds.sample_patient)
        keep = []
        for k in np.unique(ds.patient_label[pats]):
            ids = rng.permutation(pats[ds.patient_label[pats] == k])
            keep += ids[: max(1, int(round(len(ids) * fraction)))].tolist()
        return ds.subset_patients(np.array(keep))
    groups = ds.sample_label if by == "sample" else ds.sample_patient
    keep = []
    for k in np.unique(groups):
        ids = rng.permutation(np.flatnonzero(groups == k))
        keep += ids[: max(1, int(round(len(ids) * fraction)))].tolist()
    return ds.subset_samples(np.sort(np.array(keep)))
