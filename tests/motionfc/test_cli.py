"""The console entry: every shipped config parses, ``simulate`` caches and reports separations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from motionfc.cli import main

CONFIGS = Path(__file__).resolve().parents[2] / "apps" / "motionfc" / "configs"


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_configs_parse(path, capsys):
    command = "fit" if path.name.startswith("style_") else "demo" if path.name.startswith("demo") else "eth-ucy"
    with pytest.raises(SystemExit) as err:
        main([command, "--config", str(path), "--print_config"])
    assert err.value.code in (0, None)
    out = capsys.readouterr().out
    assert "seed" in out


def test_simulate(tmp_path):
    out = main(["simulate", "--styles", "[0.2, 0.7]", "--num_train", "4", "--num_val", "2", "--num_test", "2",
                "--num_ref", "2", "--cache_dir", str(tmp_path)])
    assert out["0.7/test"]["scenes"] == 2 and out["0.7/train"]["min_separation"] >= 1.4 - 1e-3
    assert len(list(tmp_path.glob("*.npz"))) == 8
    # without --cache_dir the cache is <runs_root>/motionfc/cache, the same scenes
    again = main(["simulate", "--styles", "[0.2, 0.7]", "--num_train", "4", "--num_val", "2", "--num_test", "2",
                  "--num_ref", "2", "--runs_root", str(tmp_path / "runs")])
    assert again == out and len(list((tmp_path / "runs" / "motionfc" / "cache").glob("*.npz"))) == 8


def test_bad_values_are_rejected(tmp_path):
    with pytest.raises(SystemExit):
        main(["eth-ucy", "--fold", "eth", "--lambda_irm", "abc"])
    with pytest.raises(ValueError, match="unknown fold"):
        main(["eth-ucy", "--fold", "mars", "--runs_root", str(tmp_path)])
    with pytest.raises(ValueError, match="max_epochs must be three stage lengths"):
        main(["eth-ucy", "--fold", "eth", "--epochs", "[1, 1]", "--runs_root", str(tmp_path)])
    assert not list(tmp_path.iterdir())  # nothing written for a rejected config


def test_lightning_fit_and_test(tmp_path):
    cfg = CONFIGS / "style_irm_modular.yaml"
    common = ["--config", str(cfg), "--trainer.default_root_dir", str(tmp_path), "--data.num_train", "64",
              "--data.num_val", "32", "--data.num_test", "32", "--data.num_ref", "16", "--data.cache_dir", str(tmp_path / "c"),
              "--trainer.enable_progress_bar", "false", "--runs_root", str(tmp_path)]
    main(["fit", *common, "--trainer.max_epochs", "4", "--model.epochs", "[1, 1, 1, 1]"])
    ckpt = next(tmp_path.glob("motionfc/*/version_0/checkpoints/last.ckpt"))
    cli = main(["test", *common, "--model.epochs", "[1, 1, 1, 1]", "--ckpt_path", str(ckpt)])
    ade = cli.trainer.callback_metrics["test/ade"].item()
    assert 0 < ade < 5
    test_run = tmp_path / "motionfc" / "test" / "version_0"
    assert json.loads((test_run / "metrics.json").read_text())["test/ade"] == pytest.approx(ade)
    # validate scores the checkpoint on the validation split: the fit's last validation, recomputed
    fitted = json.loads((ckpt.parent.parent / "metrics.json").read_text())
    main(["validate", *common, "--model.epochs", "[1, 1, 1, 1]", "--ckpt_path", str(ckpt)])
    validated = json.loads((tmp_path / "motionfc" / "validate" / "version_0" / "metrics.json").read_text())
    assert validated["command"] == "validate" and validated["checkpoint"] == str(ckpt)
    assert validated["val/ade"] == pytest.approx(fitted["val/ade"], rel=1e-5)


def test_evaluate_with_refinement(tmp_path):
    from contrastkit.train import make_trainer, seed_everything
    from motionfc.data.datamodule import StyleDataModule
    from motionfc.method import CausalMotion

    seed_everything(0)
    data = ["--num_train", "32", "--num_val", "16", "--num_test", "8", "--num_ref", "8", "--cache_dir", str(tmp_path / "c")]
    dm = StyleDataModule(num_train=32, num_val=16, num_test=8, num_ref=8, cache_dir=str(tmp_path / "c"))
    make_trainer(tmp_path, 2, progress=False, num_sanity_val_steps=0).fit(CausalMotion(epochs=(1, 0, 0, 1)), datamodule=dm)
    ckpt = str(tmp_path / "checkpoints" / "last.ckpt")
    rows = main(["evaluate", "--ckpt_path", ckpt, *data, "--refine_steps", "2", "--refine_lr", "0.01",
                 "--runs_root", str(tmp_path / "runs")])
    assert set(rows) == {"model", "refined (2 steps)"}
    # evaluate writes a run directory: its table as metrics.json, table.md and a plot
    run = tmp_path / "runs" / "motionfc" / "evaluate" / "version_0"
    assert json.loads((run / "metrics.json").read_text()) == json.loads(json.dumps(rows))
    assert (run / "config.yaml").is_file() and (run / "table.md").is_file()
    assert (run / "plots" / "predictions_0.7.png").stat().st_size > 0
    for t in rows.values():
        assert {"iid", "ood_inter", "ood_extra", "0.8"} <= set(t) and t["0.8"]["peds"] == 16
    assert rows["model"]["iid"]["ade"] != rows["refined (2 steps)"]["iid"]["ade"]
    leak = main(["evaluate", "--ckpt_path", ckpt, *data, "--style_source", "leak", "--runs_root", str(tmp_path / "runs")])
    assert (run.parent / "version_1" / "metrics.json").is_file()
    assert leak["model"]["ood_extra"]["ade"] > 0


def test_style_temperature_reaches_the_loss_from_yaml_and_cli(tmp_path):
    """``style_temperature`` is CausalMotion's argument (one name, one default), set from YAML or the command line."""
    import yaml
    from motionfc.data.datamodule import StyleDataModule
    from motionfc.method import CausalMotion

    cfg = yaml.safe_load((CONFIGS / "style_modular.yaml").read_text())
    assert cfg["model"]["style_temperature"] == 0.07 == CausalMotion().hparams.style_temperature
    with pytest.raises(SystemExit):
        main(["fit", "--config", str(CONFIGS / "style_modular.yaml"), "--model.style_temperature", "0.5",
              "--print_config"])
    dm = StyleDataModule(num_train=16, num_val=4, num_test=4, num_ref=4, batch_size=16, cache_dir=str(tmp_path))
    dm.setup()
    batch = {e: next(iter(dm._loader(w, False))) for e, w in dm.splits["train"].items()}
    losses = [CausalMotion(style_temperature=t).compute_loss(batch, "P4")["style"] for t in (0.07, 0.5)]
    assert not torch.isclose(losses[0], losses[1])
    with pytest.raises(ValueError, match="style_temperature"):
        CausalMotion(style_temperature=0.0)


def test_study_and_report_are_subcommands(tmp_path, capsys):
    """The experiments run as ``motionfc study <name>`` and ``motionfc report`` (no side scripts)."""
    with pytest.raises(SystemExit):
        main(["study", "--help"])
    out = capsys.readouterr().out
    assert all(name in out for name in ("style", "ablation", "irm_sweep", "eth_ucy_grid"))
    assert not (CONFIGS.parent / "experiments").exists()
    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps({"epochs_run": 7, "alpha1/ade": 0.5, "alpha1/fde": 1.0}))
    blocks = main(["report", "--spurious_runs", f"[ERM={metrics}]", "--runs_root", str(tmp_path)])
    assert "| ERM | 7 | 0.500 / 1.000 |" in blocks["spurious"]
    report = (tmp_path / "motionfc" / "report" / "version_0" / "report.md").read_text()
    assert report.startswith("## spurious\n") and "| ERM | 7 | 0.500 / 1.000 |" in report


def test_report_tables_give_the_sample_std_over_seeds():
    """mean ± the sample standard deviation (n - 1), as every app's tables; one seed: the mean alone."""
    from motionfc.report import ablation_table, ms

    assert ms([1.0, 2.0, 3.0]) == "2.000 ± 1.000" and ms([0.5]) == "0.500" and ms([]) == "-"
    sources = ("reference", "leak_batch64", "leak_batch1", "style_of_0.1", "style_of_0.8", "no_style")
    seeds = {f"{model}/seed{i}": {k: {g: {"ade": float(i)} for g in ("iid", "ood_inter", "ood_extra")} for k in sources}
             for model in ("modular", "irm+modular") for i in range(2)}  # ADE 0 and 1: mean 0.5, sample std 0.707
    assert "| modular (ERM) | reference scenes (ours, default) | 0.500 ± 0.707 |" in ablation_table(seeds)


def test_fit_stopped_and_resumed_ends_like_an_uninterrupted_fit(tmp_path):
    """``motionfc fit`` stopped after a checkpoint (fewer epochs) and continued with
    ``--resume`` ends with the metrics of the uninterrupted fit, through the app's CLI."""
    common = ["--config", str(CONFIGS / "style_irm_modular.yaml"), "--data.num_train", "32", "--data.num_val", "16",
              "--data.num_test", "8", "--data.num_ref", "8", "--data.cache_dir", str(tmp_path / "c"),
              "--trainer.enable_progress_bar", "false", "--runs_root", str(tmp_path), "--model.epochs", "[1, 1, 1, 1]"]
    main(["fit", *common, "--name", "full", "--trainer.max_epochs", "4"])
    main(["fit", *common, "--name", "cut", "--trainer.max_epochs", "2"])  # the "kill": stopped after epoch 2
    main(["fit", *common, "--name", "cut", "--trainer.max_epochs", "4", "--resume"])
    full, cut = (json.loads((tmp_path / "motionfc" / n / "version_0" / "metrics.json").read_text()) for n in ("full", "cut"))
    assert full["epochs_run"] == cut["epochs_run"] == 4 and not (tmp_path / "motionfc" / "cut" / "version_1").exists()
    for key in ("val/ade", "val/fde", "train/loss_epoch", "train/risk_epoch", "train/style_epoch"):
        assert cut[key] == full[key], key
    # the loss plot splits the curve by stage (P3..P6 logged as a `stage` column)
    from contrastkit.train.plots import loss_curves, read_logged_rows

    labels = [label for label, _, _ in loss_curves(read_logged_rows(tmp_path / "motionfc" / "cut" / "version_0"),
                                                   ["train/loss_step"])]
    assert labels == [f"train/loss_step (stage {k})" for k in (3, 4, 5, 6)]


def test_old_flag_spellings_still_run_with_a_notice(tmp_path, capsys):
    """Epochs flags are max_epochs*, the STGAT penalty weight is lambda_irm (v-REx's lambda_vrex):
    the old spellings are rewritten with a notice, and a weight the risk does not use is refused."""
    import yaml

    with pytest.raises(SystemExit):
        main(["demo", "--epochs_p3", "7", "--epochs_p6", "9", "--print_config"])
    captured = capsys.readouterr()
    config = yaml.safe_load(captured.out)
    assert (config["max_epochs_p3"], config["max_epochs_p6"]) == (7, 9)
    assert "--epochs_p3 is now --max_epochs_p3" in captured.err
    with pytest.raises(SystemExit):
        main(["eth-ucy", "--risk", "irm", "--lambda_penalty", "0.3", "--epochs", "[1, 2, 3]", "--print_config"])
    config = yaml.safe_load(capsys.readouterr().out)
    assert config["lambda_irm"] == 0.3 and config["max_epochs"] == [1, 2, 3] and config["lambda_vrex"] == 0.0
    with pytest.raises(SystemExit):  # eth-ucy's --root was its data folder
        main(["eth-ucy", "--root", "scenes/raw", "--print_config"])
    captured = capsys.readouterr()
    assert yaml.safe_load(captured.out)["data_root"] == "scenes/raw" and "--root is now --data_root" in captured.err
    with pytest.raises(ValueError, match="risk vrex does not use --lambda_irm 5.*--lambda_vrex"):
        main(["eth-ucy", "--risk", "vrex", "--lambda_penalty", "5", "--runs_root", str(tmp_path)])
    assert not tmp_path.joinpath("motionfc").exists()


def test_stgat_checkpoints_with_the_old_penalty_name_are_read():
    from motionfc.checkpoints import renamed_hparams

    assert renamed_hparams({"risk": "vrex", "lambda_penalty": 5.0}) == {"risk": "vrex", "lambda_vrex": 5.0}
    assert renamed_hparams({"risk": "irm", "lambda_penalty": 0.1}) == {"risk": "irm", "lambda_irm": 0.1}
    assert renamed_hparams({"risk": "erm", "lambda_penalty": 0.0}) == {"risk": "erm"}
