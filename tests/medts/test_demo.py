"""`medts demo` end to end on a tiny configuration, with assertions on what it writes."""

import json
import warnings

import pytest
import torch
from medts.cli import main

pytestmark = pytest.mark.slow


# warnings the app itself must prevent (the eval-mode and few-workers ones are filtered by the shared
# trainer; train mode at fit start is tested in tests/contrastkit/test_train_layer.py)
NOISE = ("Trying to infer the `batch_size`",)


def test_demo_end_to_end(tmp_path, capsys):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        metrics = main(["demo", "--runs_root", str(tmp_path), "--patients_per_class", "6", "--seconds", "20",
                        "--pretrain_epochs", "2", "--finetune_epochs", "3", "--output_dims", "16", "--hidden_dims", "8",
                        "--depth", "2", "--batch_size", "32", "--threads", "1", "--progress", "false",
                        "--finetune_fraction", "0.5"])
    # issue 11: a quiet console (batch_size given to every log)
    shown = [str(w.message) for w in caught]
    assert not [m for m in shown if any(n in m for n in NOISE)], shown
    run = tmp_path / "medts" / "demo" / "version_0"
    saved = json.loads((run / "metrics.json").read_text())
    assert saved["linear"] == pytest.approx(metrics["linear"])
    for setting in ("linear", "finetune_0.5"):
        for level in ("sample", "patient"):
            for k in ("accuracy", "precision", "recall", "f1", "auroc", "auprc"):
                assert 0.0 <= saved[setting][f"{level}/{k}"] <= 1.0
    # 6 patients per class, 60/20/20 split -> 4 train patients per class, 4 trials x 9 samples each
    assert saved["finetune_0.5"]["train_samples"] == pytest.approx(0.5 * 8 * 4 * 9, abs=1)
    # the synthetic classes are separable from a linear probe on the pretrained features
    assert saved["linear"]["sample/accuracy"] > 0.6
    for png in ("loss_per_level.png", "embeddings_by_patient.png", "embeddings_by_class.png"):
        assert (run / "plots" / png).stat().st_size > 1000
    log = (run / "pretrain" / "logs" / "csv" / "metrics.csv").read_text().splitlines()[0]
    assert all(f"train/loss_{lvl}_epoch" in log for lvl in ("patient", "trial", "sample", "observation"))
    out, err = capsys.readouterr()
    assert "linear" in out and "finetune_0.5" in out and "auprc" in out
    assert not any(n in err for n in NOISE), err


TINY_DEMO = ["--patients_per_class", "3", "--seconds", "10", "--pretrain_epochs", "2", "--finetune_epochs", "2",
             "--output_dims", "8", "--hidden_dims", "4", "--depth", "1", "--batch_size", "16", "--threads", "1",
             "--progress", "false", "--finetune_fraction", "1"]


def test_demo_resume_after_a_kill_during_finetuning_ends_with_the_same_numbers(tmp_path, capsys):
    """issue 9, item 6/17: `medts demo --resume` finds the run by its sub-runs' checkpoints, keeps
    the finished pretraining (same linear-probe metrics) and continues the fine-tuning exactly."""
    import yaml

    straight = main(["demo", "--runs_root", str(tmp_path / "a"), *TINY_DEMO])
    # as if killed after the first fine-tuning epoch: the same run with one fine-tuning epoch, its
    # config then set to the two of an uninterrupted run and its metrics removed
    main(["demo", "--runs_root", str(tmp_path / "b"), *TINY_DEMO, "--finetune_epochs", "1"])
    run = tmp_path / "b/medts/demo/version_0"
    config = yaml.safe_load((run / "config.yaml").read_text())
    (run / "config.yaml").write_text(yaml.safe_dump({**config, "finetune_epochs": 2}))
    (run / "metrics.json").unlink()
    stamp = (run / "pretrain/checkpoints/last.ckpt").stat().st_mtime_ns
    capsys.readouterr()
    resumed = main(["demo", "--runs_root", str(tmp_path / "b"), *TINY_DEMO, "--resume"])
    assert f"resuming {run}" in capsys.readouterr().out
    assert (run / "pretrain/checkpoints/last.ckpt").stat().st_mtime_ns == stamp  # not trained again
    assert not (run.parent / "version_1").exists()
    assert resumed["linear"] == pytest.approx(straight["linear"], abs=1e-6)
    # the fine-tuning continued exactly: its epoch-2 weights are the uninterrupted run's
    from contrastkit.train import load_checkpoint

    a, b = (load_checkpoint(r / "finetune/checkpoints/last.ckpt")["state_dict"]
            for r in (tmp_path / "a/medts/demo/version_0", run))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
