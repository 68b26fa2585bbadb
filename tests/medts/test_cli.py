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
    units = json.loads((run / "units.json").read_text())
    saved = json.loads((run / "metrics.json").read_text())
    assert saved["units"] == units and saved["summary"] == summary
    assert set(units) == {"comet/seed0", "supervised/seed0"}
    per_seed = {m: {"0": units[f"{m}/seed0"]} for m in ("comet", "supervised")}
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


def test_paired_interval_is_over_fold_means_when_seeds_share_a_fold():
    """3 folds x 2 seeds: the seeds of a fold share its test subjects, so the interval is
    Student's t over the 3 fold means (2 degrees of freedom); on a fixed split, over the seeds."""
    import numpy as np
    from medts.study import paired_table
    from scipy.stats import t

    gain = {"fold0/seed0": 4.0, "fold0/seed1": 6.0, "fold1/seed0": -1.0, "fold1/seed1": 1.0,
            "fold2/seed0": 2.0, "fold2/seed1": 2.0}  # comet - supervised, in points

    def results(units):
        return {m: {u: {"finetune_1": {"sample/accuracy": 0.5 + (g / 100 if m == "comet" else 0.0)}}
                    for u, g in units.items()} for m in ("comet", "supervised")}

    _, rows = paired_table(results(gain), metrics=("sample/accuracy",))
    means = np.array([5.0, 0.0, 2.0])
    half = t.ppf(0.975, 2) * means.std(ddof=1) / np.sqrt(3)
    assert rows == [["supervised", "finetune_1", f"+2.3 [{2.333333 - half:+.1f}, {2.333333 + half:+.1f}], 5/6 wins", "6"]]
    by_seed = {f"seed{i}": g for i, g in enumerate(gain.values())}
    _, rows = paired_table(results(by_seed), metrics=("sample/accuracy",))
    d = np.array(list(gain.values()))
    half = t.ppf(0.975, 5) * d.std(ddof=1) / np.sqrt(6)
    assert rows[0][2] == f"+2.3 [{d.mean() - half:+.1f}, {d.mean() + half:+.1f}], 5/6 wins"


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
    stamp = (run / "units.json").stat().st_mtime_ns
    capsys.readouterr()
    summary = main(["study", "--config", str(config), *runs, "--protocol.methods", "[supervised]", "--resume"])
    assert (run / "units.json").stat().st_mtime_ns == stamp  # the finished unit was not run again
    assert f"[medts] supervised/seed0: finished before, kept ({run / 'units.json'})" in capsys.readouterr().out
    kept = json.loads((run / "units.json").read_text())["supervised/seed0"]["finetune_1"]["sample/accuracy"]
    assert summary["supervised"]["finetune_1"]["sample/accuracy"]["mean"] == kept
    assert not (tmp_path / "runs/medts/tiny/version_1").exists()

    # on another machine, from the record alone (config.yaml + units.json, as apps/medts/results
    # keeps it: no checkpoints) the finished unit is kept, and other settings are still refused
    moved = tmp_path / "elsewhere/medts/tiny/version_0"
    moved.mkdir(parents=True)
    for name in ("config.yaml", "units.json"):
        (moved / name).write_bytes((run / name).read_bytes())
    # as a record made on another machine holds them: that machine's run root and data cache
    record = yaml.safe_load((moved / "config.yaml").read_text())
    record["data"].update(runs_root="/another/machine/runs", cache_dir="/another/machine/runs/medts/cache/ab12")
    (moved / "config.yaml").write_text(yaml.safe_dump(record))
    capsys.readouterr()
    with pytest.raises(ResumeError, match=r"protocol.methods"):
        main(["study", "--config", str(config), "--runs_root", str(tmp_path / "elsewhere"), "--resume"])
    summary = main(["study", "--config", str(config), "--runs_root", str(tmp_path / "elsewhere"),
                    "--protocol.methods", "[supervised]", "--resume"])
    assert f"[medts] supervised/seed0: finished before, kept ({moved / 'units.json'})" in capsys.readouterr().out
    assert summary["supervised"]["finetune_1"]["sample/accuracy"]["mean"] == kept


def test_kfold_study_scores_every_fold_and_pairs_comet_with_the_baseline(config, tmp_path):
    """--protocol.folds 3: a unit per method x fold x seed; the table's n counts folds x seeds;
    paired.csv is COMET minus the baseline over the same units (numpy/scipy reference)."""
    import numpy as np
    from scipy.stats import t

    main(["study", "--config", str(config), "--runs_root", str(tmp_path / "runs"), "--protocol.folds", "3"])
    run = tmp_path / "runs/medts/tiny/version_0"
    units = json.loads((run / "units.json").read_text())
    keys = [f"fold{f}/seed0" for f in range(3)]
    assert set(units) == {f"{m}/{k}" for m in ("comet", "supervised") for k in keys}
    with open(run / "table.csv") as fh:
        assert {r["n"] for r in csv.DictReader(fh)} == {"3"}
    with open(run / "paired.csv") as fh:
        paired = {r["setting"]: r for r in csv.DictReader(fh)}
    assert set(paired) == {"finetune_1"} and paired["finetune_1"]["baseline"] == "supervised"
    diffs = np.array([100 * (units[f"comet/{k}"]["finetune_1"]["sample/accuracy"]
                             - units[f"supervised/{k}"]["finetune_1"]["sample/accuracy"]) for k in keys])
    half = t.ppf(0.975, 2) * diffs.std(ddof=1) / np.sqrt(3)
    expected = (f"{diffs.mean():+.1f} [{diffs.mean() - half:+.1f}, {diffs.mean() + half:+.1f}], "
                f"{int((diffs > 0).sum())}/3 wins")
    cell = paired["finetune_1"]["comet - baseline: sample/accuracy"]
    assert cell.startswith(expected), (cell, expected)
    # `medts table` on the run (as on a study still running) gives the same paired rows, under the study's name
    text = main(["table", f"[{run}]", "--runs_root", str(tmp_path / "runs")])
    with open(tmp_path / "runs/medts/table/version_0/paired.csv") as fh:
        merged = list(csv.DictReader(fh))
    assert [{k: v for k, v in r.items() if k != "study"} for r in merged] == list(paired.values())
    assert {r["study"] for r in merged} == {"tiny"} and cell in text

    # the same study split by method into two runs (`<name>__<part>`, as two processes would run it)
    # merges into the same paired rows: each unit seeds itself, so no figure depends on the split
    for part, method in (("a", "comet"), ("b", "supervised")):
        main(["study", "--config", str(config), "--runs_root", str(tmp_path / "split"), "--protocol.folds", "3",
              "--name", f"tiny__{part}", "--protocol.methods", f"[{method}]"])
    main(["table", "[" + ", ".join(str(tmp_path / f"split/medts/tiny__{p}/version_0") for p in "ab") + "]",
          "--runs_root", str(tmp_path / "split")])
    with open(tmp_path / "split/medts/table/version_0/paired.csv") as fh:
        assert list(csv.DictReader(fh)) == merged


def test_levels_records_each_variant_and_seed_and_a_resume_keeps_them(tmp_path, capsys):
    root = ["--runs_root", str(tmp_path), "--seeds", "[0]", "--max_epochs", "1", "--variants", "[random, comet]",
            "--progress", "false"]
    first = main(["levels", *root])
    run = tmp_path / "medts/levels/version_0"
    units = json.loads((run / "units.json").read_text())
    assert set(units) == {"random/seed0", "comet/seed0"} and first == {"random": [units["random/seed0"]],
                                                                       "comet": [units["comet/seed0"]]}
    capsys.readouterr()
    again = main(["levels", *root, "--resume"])
    assert again == first and "comet/seed0: finished before, kept" in capsys.readouterr().out


def test_a_pretraining_resumed_after_it_finished_reports_the_time_it_took(config, tmp_path):
    """A process stopped after pretraining saved its last checkpoint but before the unit was
    recorded: the resume runs 0 steps, and the unit's seconds are those saved in the checkpoint."""
    from contrastkit.train.checkpoint import load_checkpoint

    runs = ["--runs_root", str(tmp_path / "runs"), "--protocol.methods", "[comet]"]
    main(["study", "--config", str(config), *runs])
    run = tmp_path / "runs/medts/tiny/version_0"
    first = json.loads((run / "units.json").read_text())["comet/seed0"]["pretrain"]
    ckpt = run / "comet/seed0/pretrain/checkpoints/last.ckpt"
    saved = load_checkpoint(ckpt)
    (timer_key,) = [k for k in saved["callbacks"] if k.startswith("Timer")]
    assert 0.0 < saved["callbacks"][timer_key]["time_elapsed"]["train"] <= first["seconds"]
    # as if the first process had pretrained for an hour, then stopped before recording the unit
    saved["callbacks"][timer_key]["time_elapsed"]["train"] = 3600.0
    torch.save(saved, ckpt)
    (run / "units.json").write_text("{}")
    main(["study", "--config", str(config), *runs, "--resume"])
    again = json.loads((run / "units.json").read_text())["comet/seed0"]["pretrain"]
    assert again["steps"] == first["steps"] and again["epochs"] == first["epochs"]
    assert 3600.0 <= again["seconds"] < 2 * 3600.0


def test_the_pretraining_time_cap_stops_pretraining_after_a_step(config, tmp_path):
    runs = ["--runs_root", str(tmp_path / "runs"), "--protocol.methods", "[comet]", "--protocol.linear_probe", "false"]
    main(["study", "--config", str(config), *runs, "--name", "whole", "--protocol.max_epochs_pretrain", "3"])
    main(["study", "--config", str(config), *runs, "--name", "capped", "--protocol.max_epochs_pretrain", "3",
          "--protocol.pretrain_max_minutes", "0.000001"])
    whole, capped = (json.loads((tmp_path / f"runs/medts/{n}/version_0/units.json").read_text())["comet/seed0"]["pretrain"]
                     for n in ("whole", "capped"))
    assert whole["epochs"] == 3 and whole["steps"] >= 3
    assert capped["steps"] == 1  # the Timer checks after every step
