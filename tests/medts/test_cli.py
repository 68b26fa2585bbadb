"""`medts study | table | fit | validate` through the console entry point, on tiny synthetic configs."""

import csv
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
    "protocol": {"methods": ["comet", "supervised"], "seeds": [0], "fractions": [1.0], "max_epochs_pretrain": 1,
                 "max_epochs_finetune": 1, "progress": False},
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
    run = tmp_path / "runs/medts/tiny/version_0"
    per_seed = json.loads((run / "per_seed.json").read_text())
    saved = json.loads((run / "metrics.json").read_text())
    assert saved["per_seed"] == per_seed and saved["summary"] == summary
    # one seed: the summary is that seed's value, with no spread
    accuracy = per_seed["supervised"]["0"]["finetune_1"]["sample/accuracy"]
    assert summary["supervised"]["finetune_1"]["sample/accuracy"] == {"mean": accuracy, "std": None, "n": 1}
    # 5 patients per class, 60/20/20: 3 training patients per class, 2 trials x 9 samples each
    assert per_seed["supervised"]["0"]["finetune_1"]["train_samples"] == 2 * 3 * 2 * 9
    # the table's cells are the per-seed metrics in %, the value alone for one seed, and n = 1
    with open(run / "table.csv") as fh:
        rows = {(r["method"], r["setting"]): r for r in csv.DictReader(fh)}
    assert set(rows) == {("comet", "linear"), ("comet", "finetune_1"), ("supervised", "finetune_1")}
    for (method, setting), row in rows.items():
        assert row["n"] == "1"
        assert row["sample/f1"] == f"{100 * per_seed[method]['0'][setting]['sample/f1']:.1f}"
    assert "| comet | linear |" in (run / "table.md").read_text()
    for png in ("comet/seed0/plots/loss_per_level.png", "comet/seed0/plots/embeddings_by_class.png",
                "comet/seed0/finetune_1/plots/loss.png", "supervised/seed0/finetune_1/plots/loss.png"):
        assert (run / png).stat().st_size > 1000, png
    config_saved = yaml.safe_load((run / "config.yaml").read_text())
    assert config_saved["comet"]["id_temperature"] == 0.2  # reachable from the config route
    text = main(["table", f"[{run}]", "--runs_root", str(tmp_path / "runs")])
    merged = tmp_path / "runs/medts/table/version_0"
    with open(merged / "table.csv") as fh:
        merged_rows = {(r["study"], r["method"], r["setting"]): r for r in csv.DictReader(fh)}
    assert {k[1:] for k in merged_rows} == set(rows) and {k[0] for k in merged_rows} == {"tiny"}
    assert all(merged_rows[("tiny", *k)]["sample/f1"] == rows[k]["sample/f1"] for k in rows)
    assert (merged / "table.md").read_text() in text and "tiny, pretraining actually run" in text


def test_the_table_states_the_sample_std_over_seeds(tmp_path):
    """Two seeds: mean ± the sample standard deviation (n - 1), and n = 2."""
    from medts.study import results_table

    results = {"comet": {"0": {"linear": {"sample/accuracy": 0.5}}, "1": {"linear": {"sample/accuracy": 0.7}}}}
    header, rows = results_table(results, metrics=("sample/accuracy",))
    assert header == ["method", "setting", "sample/accuracy", "n"]
    assert rows == [["comet", "linear", "60.0 ± 14.1", "2"]]  # population std would be 10.0


def test_old_flag_spellings_still_run_with_a_notice(config, tmp_path, capsys):
    parts = main(["study", "--config", str(config), "--protocol.pretrain_epochs", "1", "--protocol.finetune_epochs=1",
                  "--data.source.root", "elsewhere", "--data.cache_dir", str(tmp_path / "cache"),
                  "--prepare_only", "true"])
    assert sum(p["patients"] for p in parts.values()) == 10
    assert json.loads((tmp_path / "cache/manifest.json").read_text())["config"]["source"]["data_root"] == "elsewhere"
    err = capsys.readouterr().err
    assert "--data.source.root is now --data.source.data_root" in err
    assert "--protocol.pretrain_epochs is now --protocol.max_epochs_pretrain" in err
    assert "--protocol.finetune_epochs is now --protocol.max_epochs_finetune" in err


def test_unknown_field_is_an_error(config, capsys):
    with pytest.raises(SystemExit):
        main(["study", "--config", str(config), "--protocol.epochs", "3"])
    assert "epochs" in capsys.readouterr().err


FIT = ["--model.input_dims", "4", "--model.depth", "1", "--model.hidden_dims", "4", "--model.output_dims", "8",
       "--data.source.synthetic_patients_per_class", "3", "--data.source.synthetic_seconds", "10",
       "--data.batch_size", "16", "--trainer.enable_progress_bar", "false", "--seed_everything", "0"]


def test_fit_writes_a_loadable_checkpoint_and_validate_scores_it(tmp_path):
    """fit: the run folder holds a checkpoint that rebuilds the COMET it trained, and the losses
    of every level; validate: its own run scores that checkpoint on the validation patients."""
    import math

    from contrastkit.train import load_checkpoint, load_module
    from medts.method import COMET

    cli = main(["fit", *FIT, "--runs_root", str(tmp_path), "--name", "tiny", "--trainer.max_epochs", "1"])
    run = tmp_path / "medts/tiny/version_0"
    ckpt = run / "checkpoints/last.ckpt"
    model = load_module(ckpt, packages=("medts",), expected=COMET)
    assert model.hparams.input_dims == 4 and model.hparams.output_dims == 8
    trained = {k: v.cpu() for k, v in cli.model.state_dict().items()}
    assert all(torch.equal(trained[k], v) for k, v in load_checkpoint(ckpt)["state_dict"].items())
    fitted = json.loads((run / "metrics.json").read_text())
    assert fitted["epochs_run"] == 1 and fitted["last_checkpoint"] == str(ckpt)
    levels = ("patient", "trial", "sample", "observation")
    assert all(math.isfinite(fitted[f"val/loss_{lvl}"]) for lvl in levels)
    main(["validate", *FIT, "--runs_root", str(tmp_path), "--ckpt_path", str(ckpt)])
    scored = json.loads((tmp_path / "medts/validate/version_0/metrics.json").read_text())
    assert scored["command"] == "validate" and scored["checkpoint"] == str(ckpt)
    val = {k: v for k, v in fitted.items() if k.startswith("val/")}  # the fit's last validation, same weights
    assert len(val) == 5 and {k: scored[k] for k in val} == pytest.approx(val, rel=1e-5)


def test_fit_killed_after_a_checkpoint_and_resumed_ends_as_an_uninterrupted_fit(tmp_path, capsys):
    """1 epoch, then --resume to 2, equals 2 epochs straight (weights and metrics.json)."""
    from contrastkit.train import load_checkpoint

    root = ["--runs_root", str(tmp_path)]
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
    """A study resumed with other settings is refused, naming the field; a resumed
    study says which pairs it keeps."""
    from contrastkit.train import ResumeError

    runs = ["--runs_root", str(tmp_path / "runs")]
    main(["study", "--config", str(config), *runs, "--protocol.methods", "[supervised]"])
    run = tmp_path / "runs/medts/tiny/version_0"
    with pytest.raises(ResumeError, match=r"protocol.max_epochs_finetune: 1 -> 2"):
        main(["study", "--config", str(config), *runs, "--protocol.methods", "[supervised]",
              "--protocol.max_epochs_finetune", "2", "--resume"])
    stamp = (run / "per_seed.json").stat().st_mtime_ns
    capsys.readouterr()
    summary = main(["study", "--config", str(config), *runs, "--protocol.methods", "[supervised]", "--resume"])
    assert (run / "per_seed.json").stat().st_mtime_ns == stamp  # the finished pair was not run again
    assert f"[medts] supervised seed 0: finished before, kept ({run / 'per_seed.json'})" in capsys.readouterr().out
    kept = json.loads((run / "per_seed.json").read_text())["supervised"]["0"]["finetune_1"]["sample/accuracy"]
    assert summary["supervised"]["finetune_1"]["sample/accuracy"]["mean"] == kept
    assert not (tmp_path / "runs/medts/tiny/version_1").exists()
