"""Using a trained model (issue 11, item 3): `medts embed`, `medts predict`, `medts export`."""

import csv
import json

import numpy as np
import pytest
import torch
from contrastkit.train import CheckpointError
from medts.cli import main
from medts.evaluate import patient_probabilities
from medts.use import load_encoder_from, load_finetuned

DEMO = ["--patients_per_class", "3", "--seconds", "10", "--pretrain_epochs", "1", "--finetune_epochs", "1",
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
    z = np.load(path)
    ids = _rows(run.parent.parent / "embed/version_0/ids.csv")
    assert z.shape == (2 * 3 * 2 * 9, 8) and len(ids) == len(z)  # 6 patients x 2 trials x 9 samples
    assert {r["patient"] for r in ids} == {f"syn{k}_{p:02d}" for k in range(2) for p in range(3)}
    assert ids[0].keys() == {"row", "patient", "trial", "start", "label"}
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
    for ckpt in (run / "pretrain/checkpoints/last.ckpt", run / "finetune/checkpoints/best.ckpt"):
        out = main(["export", "--ckpt_path", str(ckpt), "--out", str(tmp_path / ckpt.parent.parent.name)])
        assert json.loads((tmp_path / f"{ckpt.parent.parent.name}.json").read_text())["config"]["output_dims"] == 8
        a, b = load_encoder_from(ckpt), load_encoder_from(out)
        x = torch.randn(5, 64, 4)
        with torch.no_grad():
            assert torch.equal(a(x, mask="all_true"), b(x, mask="all_true"))
    got = np.load(main(["embed", "--ckpt_path", out, *DATA, "--part", "test", "--runs_root", str(tmp_path)]))
    assert got.shape == (2 * 2 * 9, 8)  # the test part: one patient per class


def test_predict_per_sample_and_per_patient(demo_run):
    root, run = demo_run
    ckpt = run / "finetune/checkpoints/best.ckpt"
    metrics = main(["predict", "--ckpt_path", str(ckpt), *DATA, "--runs_root", str(root)])
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
              "--runs_root", str(tmp_path)])
    with pytest.raises(ValueError, match=r"predicts the classes \['class0', 'class1'\], the data has"):
        main(["predict", "--ckpt_path", str(run / "finetune/checkpoints/best.ckpt"), *DATA,
              "--data.source.synthetic_classes", "3", "--runs_root", str(tmp_path)])
    with pytest.raises(ValueError, match="records no data settings"):
        main(["predict", "--ckpt_path", str(run / "finetune/checkpoints/best.ckpt"), "--runs_root", str(tmp_path)])
    assert not (tmp_path / "medts/predict").exists() or not any((tmp_path / "medts/predict").iterdir())
