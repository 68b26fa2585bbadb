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
                        "--max_epochs_pretrain", "2", "--max_epochs_finetune", "3", "--output_dims", "16", "--hidden_dims", "8",
                        "--depth", "2", "--batch_size", "32", "--threads", "1", "--progress", "false",
                        "--finetune_fraction", "0.5"])
    # a quiet console (batch_size given to every log)
    shown = [str(w.message) for w in caught]
    assert not [m for m in shown if any(n in m for n in NOISE)], shown
    run = tmp_path / "medts" / "demo" / "version_0"
    saved = json.loads((run / "metrics.json").read_text())
    assert saved == metrics and set(saved) == {"linear", "finetune_0.5", "seconds"}
    # the scores are those of the models the run saved: the linear probe on the pretraining
    # checkpoint's encoder, the fine-tuning's best checkpoint on the test patients
    probe = main(["evaluate", "--ckpt_path", str(run / "pretrain/checkpoints/last.ckpt"), "--runs_root", str(tmp_path)])
    assert probe["linear"] == pytest.approx(saved["linear"], abs=1e-6)
    tuned = main(["evaluate", "--ckpt_path", str(run / "finetune/checkpoints/best.ckpt"), "--runs_root", str(tmp_path)])
    finetuned = {k: v for k, v in saved["finetune_0.5"].items() if k != "train_samples"}
    assert tuned["finetuned"] == pytest.approx(finetuned, abs=1e-6)
    # 6 patients per class, 60/20/20 split -> 4 train patients per class, 4 trials x 9 samples each
    assert saved["finetune_0.5"]["train_samples"] == pytest.approx(0.5 * 8 * 4 * 9, abs=1)
    # the synthetic classes are separable from a linear probe on the pretrained features
    assert saved["linear"]["sample/accuracy"] > 0.6
    for png in ("loss_per_level.png", "embeddings_by_patient.png", "embeddings_by_class.png"):
        assert (run / "plots" / png).stat().st_size > 1000
    log = (run / "pretrain" / "logs" / "csv" / "metrics.csv").read_text().splitlines()[0]
    assert all(f"train/loss_{lvl}_epoch" in log for lvl in ("patient", "trial", "sample", "observation"))
    out, err = capsys.readouterr()
    printed = [line.split() for line in out.splitlines()]
    for setting in ("linear", "finetune_0.5"):  # the printed table is the saved metrics
        row = next(cells for cells in printed if cells[:2] == [setting, "sample"])
        assert row[2:] == [f"{saved[setting][f'sample/{k}']:.3f}" for k in ("accuracy", "precision", "recall", "f1",
                                                                              "auroc", "auprc")]
    assert not any(n in err for n in NOISE), err


TINY_DEMO = ["--patients_per_class", "3", "--seconds", "10", "--max_epochs_pretrain", "2", "--max_epochs_finetune", "2",
             "--output_dims", "8", "--hidden_dims", "4", "--depth", "1", "--batch_size", "16", "--threads", "1",
             "--progress", "false", "--finetune_fraction", "1"]


def test_demo_resume_after_a_kill_during_finetuning_ends_with_the_same_numbers(tmp_path, capsys):
    """`medts demo --resume` finds the run by its sub-runs' checkpoints, keeps
    the finished pretraining (same linear-probe metrics) and continues the fine-tuning exactly."""
    import yaml

    straight = main(["demo", "--runs_root", str(tmp_path / "a"), *TINY_DEMO])
    # as if killed after the first fine-tuning epoch: the same run with one fine-tuning epoch, its
    # config then set to the two of an uninterrupted run and its metrics removed
    main(["demo", "--runs_root", str(tmp_path / "b"), *TINY_DEMO, "--max_epochs_finetune", "1"])
    run = tmp_path / "b/medts/demo/version_0"
    config = yaml.safe_load((run / "config.yaml").read_text())
    (run / "config.yaml").write_text(yaml.safe_dump({**config, "max_epochs_finetune": 2}))
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
