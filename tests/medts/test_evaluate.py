"""The protocol's metrics, patient aggregation and best-validation-F1 fine-tuning."""


import numpy as np
import pytest
import torch
from medts.data import Construction, Source, build_from_source, split_set
from medts.evaluate import patient_probabilities, run_finetune, run_linear_probe, score


@pytest.fixture(scope="module")
def parts():
    src = Source(kind="synthetic", synthetic_patients_per_class=5, synthetic_seconds=15)
    return split_set(build_from_source(src, Construction(trial_seconds=5, sample_seconds=1, overlap=0.5)), seed=0)


def test_patient_probabilities_are_sample_means():
    probs = np.array([[0.9, 0.1], [0.3, 0.7], [0.2, 0.8], [0.6, 0.4]])
    ids, pp = patient_probabilities(probs, np.array([5, 5, 2, 2]))
    assert ids.tolist() == [2, 5]
    np.testing.assert_allclose(pp, [[0.4, 0.6], [0.6, 0.4]])


def test_score_perfect_and_inverted(parts):
    te = parts["test"]
    onehot = np.eye(2)[te.sample_label]
    perfect = score(te, onehot)
    assert all(v == pytest.approx(1.0) for v in perfect.values())
    worst = score(te, 1 - onehot)
    assert worst["sample/accuracy"] == 0 and worst["patient/accuracy"] == 0 and worst["sample/auroc"] == 0


def test_linear_probe_on_spectra_beats_chance(parts):
    spectra = lambda x: torch.from_numpy(np.abs(np.fft.rfft(x, axis=1)).reshape(len(x), -1))
    m = run_linear_probe(spectra, parts)
    assert m["sample/accuracy"] > 0.75 and m["patient/accuracy"] >= 0.75


def test_finetune_tests_the_best_validation_f1_checkpoint(parts, tmp_path):
    torch.manual_seed(0)
    kw = {"input_dims": 4, "output_dims": 8, "hidden_dims": 8, "depth": 2}
    m = run_finetune(None, parts, tmp_path / "ft", fraction=0.5, seed=0, max_epochs=4, lr=3e-3, batch_size=32,
                     encoder_kwargs=kw)
    assert m["train_samples"] == pytest.approx(0.5 * parts["train"].n_samples, abs=1)
    ckpt = torch.load(tmp_path / "ft/checkpoints/best.ckpt", weights_only=False)
    best_score = next(v["best_model_score"] for k, v in ckpt["callbacks"].items()
                      if "ModelCheckpoint" in k and "val/macro_f1" in k)
    logged = np.genfromtxt(tmp_path / "ft/logs/csv/metrics.csv", delimiter=",", names=True)
    f1 = logged["valmacro_f1"][~np.isnan(logged["valmacro_f1"])]
    assert len(f1) == 4 and float(best_score) == pytest.approx(f1.max())
    assert 0 <= m["sample/f1"] <= 1 and 0 <= m["patient/auroc"] <= 1


def test_finetune_of_a_pretrained_encoder_trains_the_encoder(parts, tmp_path):
    """Full fine-tuning: the exported (weight-averaged, frozen) encoder must come back trainable,
    and its weights must move, not only the head's."""
    from medts.method import COMET

    torch.manual_seed(0)
    pre = COMET(4, output_dims=8, hidden_dims=8, depth=2)
    exported = pre.export_encoder()
    assert all(p.requires_grad for p in exported.parameters())
    assert not any(p.requires_grad for p in pre.averaged_encoder().parameters())  # the average stays frozen
    before = {k: v.clone() for k, v in exported.state_dict().items()}
    run_finetune(exported, parts, tmp_path / "ft", fraction=1.0, seed=0, max_epochs=1, lr=3e-3, batch_size=32)
    state = torch.load(tmp_path / "ft/checkpoints/last.ckpt", weights_only=False)["state_dict"]
    moved = [k for k, v in before.items() if v.is_floating_point() and not torch.equal(state[f"encoder.{k}"], v)]
    assert len(moved) >= len([v for v in before.values() if v.is_floating_point()]) // 2


def test_training_loader_never_yields_a_batch_of_one(parts):
    from medts.data.datamodule import loader

    n = parts["train"].n_samples
    sizes = [len(b["x"]) for b in loader(parts["train"], n - 1, shuffle=True)]
    assert sizes == [n - 1]  # the lone last sample is dropped (BatchNorm needs two)
    assert [len(b["x"]) for b in loader(parts["train"], n - 1)] == [n - 1, 1]  # evaluation keeps every sample
