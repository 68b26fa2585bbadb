"""Every app is the same shape: a registration (``contrastkit.train.app.App``) whose commands are
the standard ones plus its use command, with the same flags, and whose ``--help`` loads no torch.
A new app passes this test by registering its parts (docs/app-anatomy.md): the walk-through app
of docs/example_app (``toyapp``) is checked with the five, and run end to end (demo, --resume,
evaluate, embed, export, its use command, study). Each of the five is run end to end on its
tiniest synthetic demo (tests/conformance_settings.py): demo, demo --resume, embed, its use command."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from contrastkit.train.app import STANDARD_COMMANDS, App

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "docs" / "example_app"
sys.path.insert(0, str(EXAMPLE))  # toyapp, the walk-through app (not installed)
FIVE = sorted(p.parent.name for p in (ROOT / "apps").glob("*/pyproject.toml"))
APPS = [*FIVE, "toyapp"]
LIGHTNING = ("fit", "validate", "test")
# commands that read a trained model, and those that train (and so can be resumed)
READS_A_MODEL = ("embed", "export", "predict", "forecast", "recommend", "score")
RESUMABLE = ("demo", "study")
# spellings the vocabulary replaced (docs/app-anatomy.md, "One vocabulary")
RETIRED = {"root": "runs_root or data_root", "out": "the run folder", "epochs": "max_epochs",
           "checkpoint": "ckpt_path"}


def _app(name: str) -> App:
    app = importlib.import_module(f"{name}.cli").APP
    assert isinstance(app, App) and app.name == name
    return app


def _function(target):
    if not isinstance(target, str):
        return target
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


@pytest.mark.parametrize("name", APPS)
def test_every_app_has_the_standard_commands_and_a_use_command(name):
    app = _app(name)
    commands = set(app.all_commands()) | (set(LIGHTNING) if app.module is not None else set())
    missing = {*STANDARD_COMMANDS, app.use[0]} - commands
    assert not missing, f"{name} lacks {sorted(missing)}"


def _flag_sets(command: str, target) -> list[tuple[str, set[str]]]:
    """``(label, parameter names)`` of a command: a function's, or for a class (subcommands, as
    ``motionfc study style``) each public method's with the constructor's."""
    function = _function(target)
    if not inspect.isclass(function):
        return [(command, set(inspect.signature(function).parameters))]
    shared = set(inspect.signature(function).parameters)
    return [(f"{command} {name}", shared | set(inspect.signature(method).parameters) - {"self"})
            for name, method in inspect.getmembers(function, inspect.isfunction) if not name.startswith("_")]


@pytest.mark.parametrize("name", APPS)
def test_every_command_uses_the_shared_flag_names(name):
    problems = []
    use = _app(name).use[0]
    for command, target in _app(name).all_commands().items():
        for label, params in _flag_sets(command, target):
            problems += [f"{label}: --{p} (use {RETIRED[p]})" for p in params if p in RETIRED]
            if command in READS_A_MODEL and "ckpt_path" not in params:
                problems.append(f"{label}: no --ckpt_path")
            if command in RESUMABLE and "resume" not in params:
                problems.append(f"{label}: no --resume")
            if command in (*RESUMABLE, "embed", "evaluate", use) and "runs_root" not in params:
                problems.append(f"{label}: no --runs_root")
    assert not problems, f"{name}: " + "; ".join(problems)


@pytest.mark.parametrize("name", APPS)
def test_help_lists_every_command_and_loads_no_torch(name):
    code = (f"import sys; from {name}.cli import main; main(['--help']); "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(EXAMPLE), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120,
                          env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    app = _app(name)
    for command in [*app.all_commands(), *(LIGHTNING if app.module is not None else ())]:
        assert f"  {command} " in done.stdout, f"{command} missing from {name} --help"


def test_the_example_app_runs_every_command_from_its_registration_alone(tmp_path, capsys):
    """toyapp (docs/example_app) has no command code of its own beyond its commands' bodies: the
    core gives it the CLI, run folders, resume, checkpoints with their class, tables and the
    embedding format."""
    import numpy as np
    from contrastkit.train import read_embeddings
    from toyapp.cli import main

    root = ["--runs_root", str(tmp_path)]
    first = main(["demo", *root, "--max_epochs", "2"])
    run = tmp_path / "toyapp/demo/version_0"
    ckpt = run / "checkpoints/last.ckpt"
    assert first == json.loads((run / "metrics.json").read_text()) and 0.0 <= first["probe_accuracy"] <= 1.0
    capsys.readouterr()
    again = main(["demo", *root, "--max_epochs", "2", "--resume"])  # a finished demo: continues, trains nothing more
    assert again == first and f"resuming {run}" in capsys.readouterr().out
    assert not (tmp_path / "toyapp/demo/version_1").exists()

    scored = main(["evaluate", *root, "--ckpt_path", str(ckpt)])
    assert scored["probe_accuracy"] == first["probe_accuracy"]  # same weights, the run's own data

    main(["embed", *root, "--ckpt_path", str(ckpt)])
    x, ids = read_embeddings(tmp_path / "toyapp/embed/version_0/embeddings.npy")
    assert x.shape == (64, 8) and len(ids) == 64 and np.isfinite(x).all()  # 4 x 64 points, the test quarter

    exported = Path(main(["export", *root, "--ckpt_path", str(ckpt)]))
    assert exported.suffix == ".safetensors" and exported.with_suffix(".json").is_file()

    from toyapp.data import ToyDataModule

    data = ToyDataModule(seed=0)
    data.setup()
    points = data.splits["test"].tensors[0]
    np.save(tmp_path / "points.npy", points.numpy())
    predicted = main(["predict", *root, "--ckpt_path", str(ckpt), "--points", str(tmp_path / "points.npy")])
    # reference: the nearest training-class mean, in float64 numpy, of the embeddings the test read back
    from toyapp.use import load_model

    model = load_model(str(ckpt))
    xtr, ytr, _ = data.splits["train"].tensors
    ztr, zte = (model.embed(v).double().numpy() for v in (xtr, points))
    means = np.stack([ztr[ytr.numpy() == c].mean(0) for c in range(4)])
    expected = ((zte[:, None, :] - means[None]) ** 2).sum(-1).argmin(1)
    margin = np.sort(((zte[:, None, :] - means[None]) ** 2).sum(-1), 1)
    clear = (margin[:, 1] - margin[:, 0]) > 1e-4  # float32 vs float64: only ties can differ
    assert len(predicted) == 64 and (np.array(predicted)[clear] == expected[clear]).all()
    rows = (tmp_path / "toyapp/predict/version_0/predictions.csv").read_text().splitlines()
    assert rows[0] == "point,cluster" and [int(r.split(",")[1]) for r in rows[1:]] == predicted

    units = main(["study", *root, "--seeds", "[0, 1]", "--max_epochs", "1"])
    assert set(units) == {"seed0", "seed1"}
    table = (tmp_path / "toyapp/study/version_0/table.md").read_text()
    assert "| toy |" in table and "| 2 |" in table  # mean ± sample std over the 2 seeds, n stated


def _settings():
    """tests/conformance_settings.py (the tests folder is not a package: loaded by its path)."""
    name = "conformance_settings"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "tests" / f"{name}.py")
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


def _steady(metrics):
    """``metrics`` without what differs between two runs of the same model: wall time, the run's path."""
    if isinstance(metrics, dict):
        return {k: _steady(v) for k, v in metrics.items() if k not in ("seconds", "run_dir")}
    return metrics


def _cases() -> list[str]:
    return sorted(_settings().CASES)


@pytest.mark.slow
@pytest.mark.parametrize("name", _cases())
def test_every_app_resumes_its_demo_embeds_and_uses_the_demo_model(name, tmp_path, capsys):
    """Through the console entry, on the app's tiniest demo: ``demo --resume`` of a finished demo
    continues its run folder and trains nothing more (same checkpoints, same metrics); ``embed``
    writes the one format (``embeddings.npy`` + ``embeddings.ids.json``) with a finite row per
    input; the use command runs on the demo's model and writes its output in its own run folder."""
    import numpy as np
    from contrastkit.train import read_embeddings

    case = _settings().CASES[name]
    main = importlib.import_module(f"{name}.cli").main
    runs = tmp_path / "runs"
    demo = ["demo", "--runs_root", str(runs), "--threads", "1", *case.demo]
    first = main(demo)
    run = runs / name / "demo" / "version_0"
    saved = json.loads((run / "metrics.json").read_text())
    stamps = {p: p.stat().st_mtime_ns for p in run.rglob("*.ckpt")}
    assert stamps and (run / case.embed_model) in stamps and (run / case.use_model) in stamps
    capsys.readouterr()
    again = main([*demo, "--resume"])
    assert f"resuming {run}" in capsys.readouterr().out
    assert [p.name for p in (runs / name / "demo").iterdir()] == ["version_0"]
    assert _steady(again) == _steady(first)
    assert _steady(json.loads((run / "metrics.json").read_text())) == _steady(saved)
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # nothing trained or saved again

    flags, expected = case.embed_input(tmp_path, run)
    main(["embed", "--ckpt_path", str(run / case.embed_model), *flags, "--runs_root", str(runs)])
    x, ids = read_embeddings(runs / name / "embed" / "version_0" / "embeddings.npy")
    assert x.ndim == 2 and np.issubdtype(x.dtype, np.floating) and np.isfinite(x).all()
    assert len(ids) == len(x) == (expected if isinstance(expected, int) else len(expected))
    if not isinstance(expected, int):
        assert [str(i) for i in ids] == expected

    case.use(main, runs, run / case.use_model, tmp_path)
