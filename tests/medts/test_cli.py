"""`medts study | table | fit` through the console entry point, on tiny synthetic configs."""

import json

import pytest
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
    assert "| comet | linear | 1 |" in (run / "table.md").read_text()
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["comet"]["id_temperature"] == 0.2  # reachable from the config route (issue 10, item 1)
    text = main(["table", f"[{run}]", "--out", str(tmp_path / "t.md")])
    assert "### tiny" in text and "| comet | finetune_1 | 1 |" in text


def test_unknown_field_is_an_error(config, capsys):
    with pytest.raises(SystemExit):
        main(["study", "--config", str(config), "--protocol.epochs", "3"])
    assert "epochs" in capsys.readouterr().err


def test_lightning_fit_on_the_synthetic_default(tmp_path):
    cli = main(["fit", "--model.input_dims", "4", "--model.depth", "1", "--model.hidden_dims", "4",
                "--model.output_dims", "8", "--data.batch_size", "32", "--trainer.fast_dev_run", "true",
                "--trainer.default_root_dir", str(tmp_path), "--trainer.enable_progress_bar", "false"])
    assert cli.trainer.state.finished and "train/loss_patient_step" in cli.trainer.logged_metrics
