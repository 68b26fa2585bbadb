"""``motionfc demo`` end to end on a tiny configuration, with assertions on its metrics."""

from __future__ import annotations

import json
import math
import re

import pytest
from contrastkit.train import load_module
from motionfc.cli import main
from motionfc.data.datamodule import StyleDataModule
from motionfc.method import CausalMotion
from motionfc.study import score


def test_demo_end_to_end(tmp_path, capsys):
    metrics = main(["demo", "--runs_root", str(tmp_path / "runs"), "--cache_dir", str(tmp_path / "cache"),
                    "--num_train", "128", "--num_val", "32", "--num_test", "64", "--num_ref", "16",
                    "--max_epochs_p3", "40", "--max_epochs_p4", "5", "--max_epochs_p5", "5", "--max_epochs_p6", "10"])
    out = capsys.readouterr().out
    assert "| ERM |" in out and "ood_extra ADE / FDE" in out
    # progress: a line per step of the demo and one per training stage, where the stage starts
    assert "motionfc demo: training modular" in out
    assert re.findall(r"\[(?:erm|modular)\] stage [^\n]*", out) == [
        "[erm] stage P3 from epoch 1 of 40", "[modular] stage P3 from epoch 1 of 60",
        "[modular] stage P4 from epoch 41 of 60", "[modular] stage P5 from epoch 46 of 60",
        "[modular] stage P6 from epoch 51 of 60"]
    run = tmp_path / "runs" / "motionfc" / "demo" / "version_0"
    saved = json.loads((run / "metrics.json").read_text())
    for f in ("config.yaml", "table.md", "table.json", "plots/predictions_0.7.png", "plots/style_embeddings.png"):
        assert (run / f).is_file(), f
    assert list((run / "erm" / "checkpoints").glob("last.ckpt"))
    for key in ("cv", "erm", "modular", "modular_leak"):
        for g in ("iid", "ood_inter", "ood_extra"):
            assert math.isfinite(saved[f"{key}/{g}/ade"]) and saved[f"{key}/{g}/ade"] > 0
    # trained forecasters beat constant velocity at the horizon in distribution ...
    assert saved["erm/iid/fde"] < 0.8 * saved["cv/iid/fde"]
    assert saved["modular/iid/fde"] < 0.8 * saved["cv/iid/fde"]
    # ... and the unseen larger separations are harder than the training styles
    assert saved["erm/ood_extra/ade"] > saved["erm/iid/ade"]
    assert metrics["run_dir"] == str(run)
    # the scores are those of the saved models on the test scenes: rescored from the checkpoint
    dm = StyleDataModule(num_train=128, num_val=32, num_test=64, num_ref=16, seed=0, cache_dir=str(tmp_path / "cache"))
    dm.setup()
    assert score(None, dm)["ood_extra"]["fde"] == pytest.approx(saved["cv/ood_extra/fde"], rel=1e-9)
    erm = load_module(run / "erm" / "checkpoints" / "last.ckpt", ("motionfc",), CausalMotion)
    assert score(erm, dm)["iid"]["ade"] == pytest.approx(saved["erm/iid/ade"], rel=1e-5)
    assert 0.0 <= saved["modular/style_error_8_styles"] < 1.0
    assert all(not isinstance(v, dict) for v in saved.values())  # flat, for `make demo`'s summary


TINY = ["--num_train", "16", "--num_val", "8", "--num_test", "8", "--num_ref", "8", "--max_epochs_p3", "2",
        "--max_epochs_p4", "1", "--max_epochs_p5", "1", "--max_epochs_p6", "2", "--progress", "false"]


def test_demo_killed_during_the_second_model_resumes_to_the_same_numbers(tmp_path, monkeypatch):
    """``motionfc demo --resume`` continues an interrupted demo (its checkpoints are
    in sub-runs ``erm/`` and ``modular/``) and ends with the numbers of an uninterrupted demo."""
    common = [*TINY, "--runs_root", str(tmp_path / "runs"), "--cache_dir", str(tmp_path / "cache")]
    full = main(["demo", *common, "--name", "full"])

    def killed(self):  # the modular model dies after its third epoch's checkpoint
        if self.hparams.modular and self.current_epoch == 3:
            raise RuntimeError("killed")

    with monkeypatch.context() as patch:
        patch.setattr(CausalMotion, "on_train_epoch_start", killed, raising=False)
        with pytest.raises(RuntimeError, match="killed"):
            main(["demo", *common, "--name", "cut"])
    run = tmp_path / "runs" / "motionfc" / "cut" / "version_0"
    assert (run / "modular" / "checkpoints" / "last.ckpt").is_file() and not (run / "metrics.json").exists()
    resumed = main(["demo", *common, "--name", "cut", "--resume"])
    assert not (run.parent / "version_1").exists()
    for key, value in full.items():
        if key not in ("seconds", "run_dir"):
            assert resumed[key] == value, key
