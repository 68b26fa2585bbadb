"""`medts demo` end to end on a tiny configuration, with assertions on what it writes."""

import json

import pytest
from medts.cli import main

pytestmark = pytest.mark.slow


def test_demo_end_to_end(tmp_path, capsys):
    metrics = main(["demo", "--runs_root", str(tmp_path), "--patients_per_class", "6", "--seconds", "20",
                    "--pretrain_epochs", "2", "--finetune_epochs", "3", "--output_dims", "16", "--hidden_dims", "8",
                    "--depth", "2", "--batch_size", "32", "--threads", "1", "--progress", "false",
                    "--finetune_fraction", "0.5"])
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
    out = capsys.readouterr().out
    assert "linear" in out and "finetune_0.5" in out and "auprc" in out


def test_figures_of_a_finished_run(tmp_path):
    """`medts figures` redraws the three figures from a pretraining folder (data from its checkpoint)."""
    main(["demo", "--runs_root", str(tmp_path), "--patients_per_class", "3", "--seconds", "10",
          "--pretrain_epochs", "1", "--finetune_epochs", "1", "--output_dims", "8", "--hidden_dims", "4",
          "--depth", "1", "--batch_size", "16", "--threads", "1", "--progress", "false", "--finetune_fraction", "1"])
    paths = main(["figures", str(tmp_path / "medts/demo/version_0/pretrain"), str(tmp_path / "fig")])
    assert sorted(p.split("/")[-1] for p in paths) == ["embeddings_by_class.png", "embeddings_by_patient.png",
                                                        "loss_per_level.png"]
    assert all((tmp_path / "fig" / p.split("/")[-1]).stat().st_size > 1000 for p in paths)
    with pytest.raises(FileNotFoundError, match="no pretraining checkpoint"):
        main(["figures", str(tmp_path), str(tmp_path / "fig2")])


def test_levels_table_and_resume(tmp_path, capsys):
    """`medts levels` (was scripts/synthetic_levels.py): one row per variant, plots per pretraining,
    and a resume that skips finished variants."""
    args = ["levels", "--seeds", "[0]", "--epochs", "1", "--variants", "[random, ts2vec]", "--runs_root", str(tmp_path)]
    results = main(args)
    run = tmp_path / "medts/levels/version_0"
    assert set(results) == {"random", "ts2vec"} and all(0 <= r[0]["sample/accuracy"] <= 1 for r in results.values())
    table = (run / "table.md").read_text()
    assert "| random (no pretraining) |" in table and "| ts2vec (S + O) |" in table and "±" not in table
    assert (run / "ts2vec/seed0/plots/loss_per_level.png").stat().st_size > 1000
    stamp = (run / "ts2vec/seed0/pretrain/checkpoints/last.ckpt").stat().st_mtime_ns
    assert main([*args, "--resume"]) == results
    assert (run / "ts2vec/seed0/pretrain/checkpoints/last.ckpt").stat().st_mtime_ns == stamp
    assert f"run: {run}" in capsys.readouterr().out
