"""``motionfc study`` on the shared run convention: a tiny style study end to end, its
run directory and summary, a ``--resume`` that skips finished work and refuses other settings,
and ``motionfc report`` / ``study ablation`` reading run directories."""

from __future__ import annotations

import json

import pytest
import yaml
from contrastkit.train import ResumeError
from motionfc.cli import main

TINY = ["--seeds", "[0]", "--num_train", "16", "--num_val", "8", "--num_test", "8", "--num_ref", "8",
        "--max_epochs", "[1, 1, 1, 1]", "--shots", "[4]", "--max_epochs_finetune", "1", "--refine_steps", "1"]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A tiny ``motionfc study style`` run: ``(its arguments, runs root, summary)``."""
    tmp = tmp_path_factory.mktemp("study")
    args = ["study", "style", *TINY, "--cache_dir", str(tmp / "cache"), "--runs_root", str(tmp / "runs")]
    return args, tmp / "runs", main(args)


def test_style_study_writes_its_run_directory(study, capsys):
    """the study is ``runs/motionfc/style_study/version_0`` with config.yaml, sub-runs and units.json."""
    _, runs, summary = study
    run = runs / "motionfc" / "style_study" / "version_0"
    assert json.loads((run / "units.json").read_text()) == json.loads(json.dumps(summary))
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["command"] == "study style" and config["seeds"] == [0] and config["shots"] == [4]
    variants = ("erm", "irm", "modular", "irm+modular", "irm+modular_observed")
    assert all((run / v / "seed0" / "checkpoints" / "last.ckpt").is_file() for v in variants)
    assert len(list((run / "lowshot").glob("*/checkpoints/last.ckpt"))) == 4
    assert {k for k in summary if k.startswith("table/")} == {f"table/{v}/seed0" for v in
                                                              ("erm", "irm", "modular", "irm+modular",
                                                               "irm+modular/observed")}
    assert {"cv", "refine/seed0", "lowshot/erm/all/k4/seed0", "lowshot/irm+modular/integ/k4/seed0"} <= set(summary)
    assert not (runs / "motionfc" / "style_study" / "version_1").exists()


def test_resume_skips_finished_work_and_refuses_other_settings(study, monkeypatch, capsys):
    """``--resume`` continues the newest study, redoes only what its units.json lacks, and
    refuses other settings (naming the field) without touching the run; it says what it keeps, and
    which sub-run continues from which epoch."""
    import motionfc.study
    import motionfc.transfer

    args, runs, full = study
    run = runs / "motionfc" / "style_study" / "version_0"
    cut = {k: v for k, v in full.items() if k != "lowshot/modular/integ/k4/seed0"}  # killed during that fine-tune
    (run / "units.json").write_text(json.dumps(cut))
    calls = {"train": 0, "finetune": 0}

    def counted(name, fn):
        def wrapper(*a, **kw):
            calls[name] += 1
            return fn(*a, **kw)
        return wrapper

    monkeypatch.setattr(motionfc.study, "train_method", counted("train", motionfc.study.train_method))
    monkeypatch.setattr(motionfc.transfer, "finetune", counted("finetune", motionfc.transfer.finetune))
    capsys.readouterr()
    resumed = main([*args, "--resume"])
    assert calls == {"train": 0, "finetune": 1}
    assert resumed.keys() == full.keys()
    assert resumed["lowshot/modular/integ/k4/seed0"] == pytest.approx(full["lowshot/modular/integ/k4/seed0"])
    assert json.loads((run / "units.json").read_text()) == json.loads(json.dumps(resumed))
    out = capsys.readouterr().out
    assert f"run: {run}" in out
    assert f"table/erm/seed0: finished before, kept ({run / 'units.json'})" in out
    lowshot = run / "lowshot" / "modular_integ_k4_seed0" / "checkpoints" / "last.ckpt"
    assert f"continuing from {lowshot} (saved in epoch 1 at step" in out
    config = (run / "config.yaml").read_text()
    with pytest.raises(ResumeError, match=r"max_epochs_finetune: 1 -> 2"):
        main([*args, "--max_epochs_finetune", "2", "--resume"])
    assert (run / "config.yaml").read_text() == config and not (run.parent / "version_1").exists()


def test_resume_without_a_study_is_refused(tmp_path):
    """``--resume`` with no study of that name holding a checkpoint says so and creates nothing."""
    with pytest.raises(ResumeError, match="no run of .* has a checkpoint"):
        main(["study", "style", *TINY, "--runs_root", str(tmp_path), "--name", "none", "--resume"])
    assert not (tmp_path / "motionfc").exists()


def test_ablation_and_report_read_run_directories(study, tmp_path, capsys):
    """``study ablation`` reads a style-study run directory and writes its own (a unit per model
    and seed, kept by --resume); ``report`` takes run directories (or their units.json, or the
    summary.json of older runs) and names a path that is neither."""
    _, runs, summary = study
    run = runs / "motionfc" / "style_study" / "version_0"
    ablation_args = ["study", "ablation", "--study", str(run), "--seeds", "[0]", "--runs_root", str(tmp_path)]
    ablation = main(ablation_args)
    ablation_run = tmp_path / "motionfc" / "style_ablation" / "version_0"
    assert json.loads((ablation_run / "units.json").read_text()) == json.loads(json.dumps(ablation))
    assert set(ablation) == {"modular/seed0", "irm+modular/seed0"}
    cut = {k: v for k, v in ablation.items() if k != "irm+modular/seed0"}  # stopped before its last unit
    (ablation_run / "units.json").write_text(json.dumps(cut))
    capsys.readouterr()
    resumed = main([*ablation_args, "--resume"])
    assert resumed.keys() == ablation.keys() and not (ablation_run.parent / "version_1").exists()
    assert resumed["modular/seed0"] == json.loads(json.dumps(ablation["modular/seed0"]))  # kept as recorded
    redone = resumed["irm+modular/seed0"]["reference"]["iid"]["ade"]  # scored again, same checkpoint
    assert redone == pytest.approx(ablation["irm+modular/seed0"]["reference"]["iid"]["ade"], rel=1e-6)
    assert "modular/seed0: finished before, kept" in capsys.readouterr().out
    reports = ["--runs_root", str(tmp_path / "reports")]
    from_dirs = main(["report", "--style", str(run), "--ablation", str(ablation_run), *reports])
    from_files = main(["report", "--style", str(run / "units.json"), "--ablation",
                       str(ablation_run / "units.json"), *reports])
    assert from_dirs == from_files
    older = tmp_path / "older_run"  # a run made before units.json: its record is summary.json
    older.mkdir()
    (older / "summary.json").write_text((run / "units.json").read_text())
    assert main(["report", "--style", str(older), "--ablation", str(ablation_run), *reports]) == from_dirs
    erm = summary["table/erm/seed0"]["default"]["iid"]
    assert f"| ERM | {erm['ade']:.3f} | {erm['fde']:.3f} |" in from_dirs["style"]
    # the report is a run folder of its own: report.md holds the tables, plots/ the figures
    report_run = tmp_path / "reports" / "motionfc" / "report" / "version_0"
    assert f"| ERM | {erm['ade']:.3f} | {erm['fde']:.3f} |" in (report_run / "report.md").read_text()
    assert "**More style sources**" in from_dirs["style"] and (report_run / "plots" / "lowshot.png").stat().st_size > 0
    with pytest.raises(FileNotFoundError, match="units.json: not found"):
        main(["report", "--style", str(tmp_path), *reports])
    assert not (report_run.parent / "version_3").exists()  # a refused input makes no run folder
    with pytest.raises(FileNotFoundError, match="config.yaml: not found"):
        main(["study", "ablation", "--study", str(tmp_path / "nowhere"), "--runs_root", str(tmp_path)])


def test_eth_ucy_grid_runs_inside_its_run_directory_and_resumes(eth_root, tmp_path):
    """the ETH/UCY grid is a run directory whose sub-runs are ``motionfc eth-ucy`` runs;
    ``--resume`` keeps recorded runs, continues an unrecorded one in its own sub-run, and refuses
    other settings."""
    args = ["study", "eth_ucy_grid", "--only", "1", "--max_train_scenes", "2", "--max_epochs", "[0, 0, 1]", "--procs", "1",
            "--data_root", str(eth_root), "--runs_root", str(tmp_path)]
    first = main(args)
    run = tmp_path / "motionfc" / "eth_ucy_grid" / "version_0"
    sub = run / "motionfc" / "eth_irm_spurious"
    assert [r["name"] for r in first] == ["eth_irm_spurious"] and "error" not in first[0]
    assert (sub / "version_0" / "checkpoints" / "last.ckpt").is_file()
    units = json.loads((run / "units.json").read_text())
    assert list(units.values()) == json.loads(json.dumps(first))
    assert yaml.safe_load((run / "config.yaml").read_text())["max_train_scenes"] == 2
    assert main([*args, "--resume"]) == first  # recorded: nothing runs again
    (run / "units.json").write_text("{}")  # killed before it was recorded
    again = main([*args, "--procs", "2", "--resume"])
    # continued in the same sub-run (STGAT's test noise differs from one test to another, so no equal ADE)
    assert again[0]["scored_checkpoint"] == first[0]["scored_checkpoint"] and again[0]["epochs_run"] == 1
    assert "alpha64/ade" in again[0] and not (sub / "version_1").exists() and not (run.parent / "version_1").exists()
    with pytest.raises(ResumeError, match=r"lambda_spurious_irm: 3.0 -> 1.0"):
        main([*args, "--lambda_spurious_irm", "1.0", "--resume"])
