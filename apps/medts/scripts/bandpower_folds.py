"""A non-deep check of a k-fold study's folds: log band power + logistic regression, fold by fold.

Each sample ``(T, C)`` becomes the log mean power of its channels in five bands (1-4, 4-8, 8-13,
13-30, 30-60 Hz; ``C x 5`` features); a standardized, L2-regularized (C = 0.1) logistic
regression is fit on the fold's training subjects and scored on its test subjects, by sample and
by patient (the mean probability of a patient's samples). It reads the same cache and folds as
``medts study --protocol.folds k``, so it tells whether a chance-level table is the task or the
models:

    python apps/medts/scripts/bandpower_folds.py --config apps/medts/configs/eeg_smni.yaml --folds 5
"""

from __future__ import annotations

import argparse

import numpy as np
import yaml
from medts.data.build import Construction
from medts.data.datamodule import MedTSDataModule, with_fold
from medts.data.hierarchy import HierarchicalSet
from medts.data.sources import Source
from medts.evaluate import all_samples, score
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

BANDS_HZ = ((1, 4), (4, 8), (8, 13), (13, 30), (30, 60))


def band_power_features(part: HierarchicalSet) -> np.ndarray:
    """``(n_samples, C * len(BANDS_HZ))`` log mean power per channel and band."""
    x = all_samples(part)  # (n, T, C)
    power = np.abs(np.fft.rfft(x, axis=1)) ** 2  # (n, F, C)
    freq = np.fft.rfftfreq(x.shape[1], 1 / part.fs)
    return np.concatenate([np.log(power[:, (freq >= lo) & (freq < hi)].mean(1) + 1e-8) for lo, hi in BANDS_HZ], 1)


def score_fold(data: MedTSDataModule) -> tuple[float, float]:
    """Sample and patient accuracy of the band-power classifier on ``data``'s test part (the
    metrics of :func:`medts.evaluate.score`, as in ``medts study``)."""
    train, test = data.parts["train"], data.parts["test"]
    classifier = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    classifier.fit(band_power_features(train), train.sample_label)
    metrics = score(test, classifier.predict_proba(band_power_features(test)))
    return metrics["sample/accuracy"], metrics["patient/accuracy"]


def main(argv: list[str] | None = None) -> list[tuple[float, float]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, help="a medts study config (its data section is read)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--runs_root", default="runs", help="the run root whose data cache is used (or written)")
    args = parser.parse_args(argv)
    with open(args.config) as fh:
        section = yaml.safe_load(fh)["data"]
    data = MedTSDataModule(**{**section, "source": Source(**section["source"]),
                              "construction": Construction(**section.get("construction", {})),
                              "runs_root": args.runs_root})
    data.setup()
    scores = []
    for fold in range(args.folds):
        part = with_fold(data, args.folds, fold)
        part.setup()
        scores.append(score_fold(part))
        print(f"fold {fold}: sample accuracy {100 * scores[-1][0]:.1f} %, patient accuracy {100 * scores[-1][1]:.1f} %")
    sample, patient = np.array(scores).T * 100
    print(f"mean ± sample std over {args.folds} folds: sample {sample.mean():.1f} ± {sample.std(ddof=1):.1f} %, "
          f"patient {patient.mean():.1f} ± {patient.std(ddof=1):.1f} %")
    return scores


if __name__ == "__main__":
    main()
