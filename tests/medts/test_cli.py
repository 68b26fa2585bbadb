"""`medts study | table | fit` through the console entry point, on tiny synthetic configs."""

import json

import pytest
import torch
import yaml
from medts.cli import main

ENC = {"output_dims": 8, "hidden_dims": 8, "depth": 2}
TINY = {
    "data": {"source": {"kind": "synthetic", "synthetic_patients_per_class": 5, "synthetic_seconds": 10.0},
             "construction": {"trial_mode": "pseudo", "trial_seconds": 5.0, "sample_seconds": 1.0, "overlap": 0.5},
             "batch_size": 32},
    "comet": ENC, "supervised": ENC,
    "protocol": {"methods": ["comet", "supervised"], "seeds": [0], "fractions": [1.0], "pretrain_epochs": 1,
                 "finetune_epochs": 1, "progress": False},
    "name": "tiny",
}


@pytest.fixture()
def config(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    return path


def test_prepare_only_writes_a_cache(config, tmp_path):
    cache = tmp_path / "cache"
    parts = main(["study", "--config", str(config), "--data.cache_dir", str(cache), "--prepare_only", "true"])
    assert sum(p["patients"] for p in parts.values()) == 10
    man = json.loads((cache / "manifest.json").read_text())
    assert man["config"]["construction"]["trial_seconds"] == 5.0 and man["summary"]["samples"] == 10 * 2 * 9


def test_study_runs_every_method_and_table_merges(config, tmp_path):
    summary = main(["study", "--config", str(config), "--runs_root", str(tmp_path / "runs"),
                    "--comet.id_temperature", "0.2"])
    assert set(summary) == {"comet", "supervised"}
    assert set(summary["comet"]) == {"pretrain", "linear", "finetune_1"}
    assert 0 <= summary["supervised"]["finetune_1"]["sample/accuracy"][0] <= 1
    run = tmp_path / "runs/medts/tiny/version_0"
    table_md = (run / "table.md").read_text()
    assert "| comet | linear | 1 |" in table_md and "±" not in table_md  # one seed: the value alone
    for png in ("comet/seed0/plots/loss_per_level.png", "comet/seed0/plots/embeddings_by_class.png",
                "comet/seed0/finetune_1/plots/loss.png", "supervised/seed0/finetune_1/plots/loss.png"):
        assert (run / png).stat().st_size > 1000, png
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["comet"]["id_temperature"] == 0.2  # reachable from the config route (issue 10, item 1)
    text = main(["table", f"[{run}]", "--out", str(tmp_path / "t.md"), "--runs_root", str(tmp_path / "runs")])
    assert "### tiny" in text and "| comet | finetune_1 | 1 |" in text
    assert (tmp_path / "runs/medts/table/version_0/table.md").read_text() == (tmp_path / "t.md").read_text() == text


def test_unknown_field_is_an_error(config, capsys):
    with pytest.raises(SystemExit):
        main(["study", "--config", str(config), "--protocol.epochs", "3"])
    assert "epochs" in capsys.readouterr().err


def test_lightning_fit_on_the_synthetic_default(tmp_path):
    cli = main(["fit", "--model.input_dims", "4", "--model.depth", "1", "--model.hidden_dims", "4",
                "--model.output_dims", "8", "--data.batch_size", "32", "--trainer.fast_dev_run", "true",
                "--root", str(tmp_path), "--trainer.enable_progress_bar", "false"])
    assert cli.trainer.state.finished and "train/loss_patient_step" in cli.trainer.logged_metrics


FIT = ["--model.input_dims", "4", "--model.depth", "1", "--model.hidden_dims", "4", "--model.output_dims", "8",
       "--data.source.synthetic_patients_per_class", "3", "--data.source.synthetic_seconds", "10",
       "--data.batch_size", "16", "--trainer.enable_progress_bar", "false", "--seed_everything", "0"]


def test_fit_killed_after_a_checkpoint_and_resumed_ends_as_an_uninterrupted_fit(tmp_path, capsys):
    """issue 9, item 6: 1 epoch, then --resume to 2, equals 2 epochs straight (weights and metrics.json)."""
    from contrastkit.train import load_checkpoint

    root = ["--root", str(tmp_path)]
    main(["fit", *FIT, *root, "--name", "straight", "--trainer.max_epochs", "2"])
    main(["fit", *FIT, *root, "--name", "killed", "--trainer.max_epochs", "1"])
    main(["fit", *FIT, *root, "--name", "killed", "--trainer.max_epochs", "2", "--resume"])
    assert (f"resuming {tmp_path}/medts/killed/version_0 from checkpoints/last.ckpt (saved in epoch 1 at step"
            in capsys.readouterr().out)
    runs = {n: tmp_path / "medts" / n / "version_0" for n in ("straight", "killed")}
    a, b = (load_checkpoint(r / "checkpoints/last.ckpt")["state_dict"] for r in runs.values())
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    ma, mb = (json.loads((r / "metrics.json").read_text()) for r in runs.values())
    losses = [k for k in ma if "loss" in k]
    assert {"train/loss_epoch", "val/loss_patient"} <= set(losses)
    assert {k: ma[k] for k in losses} == {k: mb[k] for k in losses} and mb["epochs_run"] == 2
    assert (runs["killed"] / "plots" / "loss.png").stat().st_size > 1000


def test_study_resume_keeps_finished_pairs_and_refuses_other_settings(config, tmp_path, capsys):
    """issue 9, item 17: a study resumed with other settings is refused, naming the field; a resumed
    study says which pairs it keeps."""
    from contrastkit.train import ResumeError

    runs = ["--runs_root", str(tmp_path / "runs")]
    main(["study", "--config", str(config), *runs, "--protocol.methods", "[supervised]"])
    run = tmp_path / "runs/medts/tiny/version_0"
    with pytest.raises(ResumeError, match=r"protocol.finetune_epochs: 1 -> 2"):
        main(["study", "--config", str(config), *runs, "--protocol.methods", "[supervised]",
              "--protocol.finetune_epochs", "2", "--resume"])
    stamp = (run / "per_seed.json").stat().st_mtime_ns
    capsys.readouterr()
    summary = main(["study", "--config", str(config), *runs, "--protocol.methods", "[supervised]", "--resume"])
    assert (run / "per_seed.json").stat().st_mtime_ns == stamp  # the finished pair was not run again
    assert f"[medts] supervised seed 0: finished before, kept ({run / 'per_seed.json'})" in capsys.readouterr().out
    assert 0 <= summary["supervised"]["finetune_1"]["sample/accuracy"][0] <= 1
    assert not (tmp_path / "runs/medts/tiny/version_1").exists()
