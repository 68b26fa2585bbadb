"""Using a trained model: `medts embed`, `medts predict`, `medts export`, `medts evaluate`."""

import csv
import json

import numpy as np
import pytest
import torch
from contrastkit.train import CheckpointError, read_embeddings
from medts.cli import main
from medts.evaluate import patient_probabilities
from medts.use import load_encoder_from, load_finetuned

DEMO = ["--patients_per_class", "3", "--seconds", "10", "--max_epochs_pretrain", "1", "--max_epochs_finetune", "1",
        "--output_dims", "8", "--hidden_dims", "4", "--depth", "1", "--batch_size", "16", "--progress", "false",
        "--finetune_fraction", "1"]
DATA = ["--data.source.synthetic_patients_per_class", "3", "--data.source.synthetic_seconds", "10"]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    main(["demo", "--runs_root", str(root), "--threads", "1", *DEMO])
    return root, root / "medts/demo/version_0"


def _rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_embed_writes_one_row_per_sample_with_its_ids(demo_run):
    root, run = demo_run
    ckpt = run / "pretrain/checkpoints/last.ckpt"
    path = main(["embed", "--ckpt_path", str(ckpt), "--runs_root", str(root)])  # data from the checkpoint
    assert path == str(run.parent.parent / "embed/version_0/embeddings.npy")
    z, ids = read_embeddings(path)
    assert z.shape == (2 * 3 * 2 * 9, 8) and len(ids) == len(z)  # 6 patients x 2 trials x 9 samples
    assert {i.split("/")[0] for i in ids} == {f"syn{k}_{p:02d}" for k in range(2) for p in range(3)}
    assert ids[:3] == ["syn0_00/trial0/start0", "syn0_00/trial0/start32", "syn0_00/trial0/start64"]
    assert len(set(ids)) == len(ids)
    assert json.loads((run.parent.parent / "embed/version_0/embeddings.ids.json").read_text())["model"] == str(ckpt)
    assert (run.parent.parent / "embed/version_0/plots/embeddings.png").stat().st_size > 1000
    # the same numbers as the trained module's own embed()
    from medts.data import Construction, Source, build_from_source
    from medts.method import COMET

    module = COMET.load_from_checkpoint(ckpt, map_location="cpu", weights_only=True)
    ds = build_from_source(Source(synthetic_patients_per_class=3, synthetic_seconds=10), Construction())
    expected = module.embed(torch.from_numpy(ds.samples(np.arange(ds.n_samples)))).numpy()
    np.testing.assert_allclose(z, expected, rtol=1e-5, atol=1e-6)


def test_exported_encoder_gives_the_checkpoints_embeddings(demo_run, tmp_path):
    _root, run = demo_run
    for k, ckpt in enumerate((run / "pretrain/checkpoints/last.ckpt", run / "finetune/checkpoints/best.ckpt")):
        out = main(["export", "--ckpt_path", str(ckpt), "--runs_root", str(tmp_path), "--threads", "1"])
        assert out == str(tmp_path / f"medts/export/version_{k}/encoder.safetensors")
        assert json.loads((tmp_path / f"medts/export/version_{k}/encoder.json").read_text())["config"]["output_dims"] == 8
        a, b = load_encoder_from(ckpt), load_encoder_from(out)
        x = torch.randn(5, 64, 4)
        with torch.no_grad():
            assert torch.equal(a(x, mask="all_true"), b(x, mask="all_true"))
    got = np.load(main(["embed", "--ckpt_path", out, *DATA, "--part", "test", "--runs_root", str(tmp_path)]))
    assert got.shape == (2 * 2 * 9, 8)  # the test part: one patient per class
    with pytest.raises(ValueError, match="records no data settings"):  # an export outside a run with data
        main(["embed", "--ckpt_path", out, "--runs_root", str(tmp_path), "--threads", "1"])


def test_predict_per_sample_and_per_patient(demo_run):
    root, run = demo_run
    ckpt = run / "finetune/checkpoints/best.ckpt"
    metrics = main(["predict", "--ckpt_path", str(ckpt), "--runs_root", str(root)])  # the demo run's data
    out = root / "medts/predict/version_0"
    samples, patients = _rows(out / "predictions_samples.csv"), _rows(out / "predictions_patients.csv")
    assert len(samples) == 108 and len(patients) == 6
    probs = np.array([[float(r["p_class0"]), float(r["p_class1"])] for r in samples])
    np.testing.assert_allclose(probs.sum(1), 1, atol=1e-5)
    assert [r["predicted"] for r in samples] == [f"class{k}" for k in probs.argmax(1)]
    # the patient's probabilities are the mean of its samples'
    names = sorted({r["patient"] for r in samples})
    pid = np.array([names.index(r["patient"]) for r in samples])
    _, pp = patient_probabilities(probs, pid)
    by_name = {r["patient"]: [float(r["p_class0"]), float(r["p_class1"])] for r in patients}
    np.testing.assert_allclose([by_name[n] for n in names], pp, atol=1e-5)
    assert all(r["samples"] == "18" for r in patients)
    # the same probabilities as the fine-tuned module itself
    model = load_finetuned(ckpt)
    from medts.data import Construction, Source, build_from_source

    ds = build_from_source(Source(synthetic_patients_per_class=3, synthetic_seconds=10), Construction())
    np.testing.assert_allclose(probs, model.predict_proba(ds.samples(np.arange(ds.n_samples))), atol=1e-5)
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["sample/accuracy"] == pytest.approx(metrics["sample/accuracy"])
    assert saved["sample/accuracy"] == pytest.approx(np.mean(probs.argmax(1) == [int(r["label"][-1]) for r in samples]))


def test_predict_refuses_a_pretraining_checkpoint_and_other_classes(demo_run, tmp_path):
    _root, run = demo_run
    with pytest.raises(CheckpointError, match="not a fine-tuned checkpoint"):
        main(["predict", "--ckpt_path", str(run / "pretrain/checkpoints/last.ckpt"), *DATA,
              "--runs_root", str(tmp_path), "--threads", "1"])
    with pytest.raises(ValueError, match=r"predicts the classes \['class0', 'class1'\], the data has"):
        main(["predict", "--ckpt_path", str(run / "finetune/checkpoints/best.ckpt"), *DATA,
              "--data.source.synthetic_classes", "3", "--runs_root", str(tmp_path), "--threads", "1"])
    assert not (tmp_path / "medts/predict").exists() or not any((tmp_path / "medts/predict").iterdir())


def test_evaluate_runs_the_protocol_on_a_pretraining_checkpoint(demo_run, tmp_path):
    """The linear probe and a fine-tuning per label fraction, scored on the test patients, in
    the evaluate run's metrics.json; the fine-tuning is a sub-run with its own checkpoints."""
    _root, run = demo_run
    demo_metrics = json.loads((run / "metrics.json").read_text())
    metrics = main(["evaluate", "--ckpt_path", str(run / "pretrain/checkpoints/last.ckpt"), "--fractions", "[1.0]",
                    "--max_epochs_finetune", "1", "--finetune_lr", "1e-3", "--finetune_batch_size", "16",
                    "--runs_root", str(tmp_path), "--threads", "1"])
    out = tmp_path / "medts/evaluate/version_0"
    assert json.loads((out / "metrics.json").read_text()) == metrics
    assert set(metrics) == {"linear", "finetune_1"}
    # the probe on the checkpoint's encoder is the demo's own probe of the same model and data
    assert metrics["linear"] == pytest.approx(demo_metrics["linear"], abs=1e-6)
    # the same fine-tuning as the demo's (same encoder, data, fraction, seed, epochs and lr)
    assert metrics["finetune_1"] == pytest.approx(demo_metrics["finetune_1"], abs=1e-6)
    assert (out / "finetune_1/checkpoints/best.ckpt").is_file()


def test_evaluate_scores_a_finetuned_checkpoint_on_the_test_patients(demo_run, tmp_path):
    _root, run = demo_run
    ckpt = run / "finetune/checkpoints/best.ckpt"
    metrics = main(["evaluate", "--ckpt_path", str(ckpt), "--runs_root", str(tmp_path), "--threads", "1"])
    predicted = main(["predict", "--ckpt_path", str(ckpt), "--part", "test", "--runs_root", str(tmp_path), "--threads", "1"])
    assert metrics == {"finetuned": pytest.approx(predicted)}
    demo_finetune = json.loads((run / "metrics.json").read_text())["finetune_1"]
    assert metrics["finetuned"] == pytest.approx({k: v for k, v in demo_finetune.items() if k != "train_samples"})


def test_data_recorded_under_the_old_name_of_the_data_folder_is_read(tmp_path):
    from medts.use import data_of

    old = tmp_path / "old.ckpt"
    torch.save({"datamodule_hyper_parameters": {
        "source": {"kind": "synthetic", "root": "somewhere", "synthetic_patients_per_class": 3}, "construction": {}}},
        old)
    data = data_of(old, None)
    assert data.source.data_root == "somewhere" and data.source.synthetic_patients_per_class == 3


def test_checkpoints_are_rebuilt_as_the_class_they_record(demo_run, tmp_path):
    """The recorded class decides what is built: a checkpoint naming a class this version lacks is
    refused by name, a fine-tuned one comes back as the FineTuner it recorded."""
    from contrastkit.train.checkpoint import CLASS_KEY
    from medts.finetune import FineTuner

    _root, run = demo_run
    best = run / "finetune/checkpoints/best.ckpt"
    assert torch.load(best, weights_only=True)[CLASS_KEY]["module"] == "medts.finetune:FineTuner"
    assert isinstance(load_finetuned(best), FineTuner)
    ckpt = torch.load(run / "pretrain/checkpoints/last.ckpt", weights_only=True)
    ckpt[CLASS_KEY]["module"] = "medts.method:Gone"
    torch.save(ckpt, tmp_path / "gone.ckpt")
    with pytest.raises(CheckpointError, match=r"gone\.ckpt: its model class medts\.method:Gone does not exist"):
        main(["embed", "--ckpt_path", str(tmp_path / "gone.ckpt"), *DATA, "--runs_root", str(tmp_path)])
