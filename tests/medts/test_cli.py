"""`medts prepare | fit | evaluate` through the console entry point, on tiny synthetic configs."""

import json

import pytest
import yaml
from medts.cli import main
from medts.configs import load_experiment
from medts.data import read_cache

TINY = {
    "data": {"source": {"kind": "synthetic", "synthetic_patients_per_class": 5, "synthetic_seconds": 10.0},
             "construction": {"trial_mode": "pseudo", "trial_seconds": 5.0, "sample_seconds": 1.0, "overlap": 0.5},
             "batch_size": 32},
    "model": {"output_dims": 8, "hidden_dims": 8, "depth": 2},
    "protocol": {"methods": ["comet", "supervised"], "seeds": [0], "fractions": [1.0], "pretrain_epochs": 1,
                 "finetune_epochs": 1, "progress": False},
}


@pytest.fixture()
def config(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    return path


def test_prepare_writes_a_cache(config, tmp_path):
    out = main(["prepare", str(config), "--out", str(tmp_path / "cache")])
    ds = read_cache(out)
    assert ds.summary()["patients"] == 10 and ds.n_samples == 10 * 2 * 9
    man = json.loads((tmp_path / "cache/manifest.json").read_text())
    assert man["config"]["construction"]["trial_seconds"] == 5.0


def test_evaluate_runs_every_method(config, tmp_path):
    summary = main(["evaluate", str(config), "--runs_root", str(tmp_path / "runs")])
    assert set(summary) == {"comet", "supervised"}
    assert set(summary["comet"]) == {"pretrain", "linear", "finetune_1"}
    assert 0 <= summary["supervised"]["finetune_1"]["sample/accuracy"][0] <= 1
    run = tmp_path / "runs/medts/tiny/version_0"
    assert "| comet | linear | 1 |" in (run / "table.md").read_text()


def test_config_errors_name_the_field(config):
    with pytest.raises(ValueError, match="protocol: unknown field"):
        load_experiment(config, ["protocol.epochs=3"])
    data, model, _proto = load_experiment(config, ["model.depth=4", "data.split=[0.5, 0.25, 0.25]"])
    assert model.depth == 4 and data.split == (0.5, 0.25, 0.25)


def test_lightning_fit_on_the_synthetic_default(tmp_path):
    cli = main(["fit", "--model.input_dims", "4", "--model.depth", "1", "--model.hidden_dims", "4",
                "--model.output_dims", "8", "--data.batch_size", "32", "--trainer.fast_dev_run", "true",
                "--trainer.default_root_dir", str(tmp_path), "--trainer.enable_progress_bar", "false"])
    assert cli.trainer.state.finished and "train/loss_patient_step" in cli.trainer.logged_metrics
