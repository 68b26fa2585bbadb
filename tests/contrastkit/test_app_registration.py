"""contrastkit.train.app: an app is a registration; the commands and flags are the core's."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from contrastkit.train.app import STANDARD_COMMANDS, App, run_app
from contrastkit.train.cli import rename_flags


@dataclass
class Data:
    """Settings of a toy data section."""

    seed: int = 0
    size: int = 10


def _cmd(**kwargs):
    return lambda: None


def _app(**overrides) -> App:
    fields = {"name": "toy", "module": "toy.method:Model", "datamodule": "toy.data:Data", "demo": "toy.demo:demo",
              "evaluate": "toy.evaluate:evaluate", "study": "toy.study:study", "embed": "toy.use:embed",
              "export": "toy.use:export", "use": ("predict", "toy.use:predict")}
    return App(**{**fields, **overrides})


def test_the_registration_gives_the_standard_commands_and_the_use_command():
    names = set(_app(commands={"synthesize": "toy.data:synthesize"}).all_commands())
    assert names == {*STANDARD_COMMANDS, "predict", "synthesize"} - {"fit", "validate", "test"}


def test_a_registration_that_breaks_the_shape_is_refused():
    with pytest.raises(ValueError, match="use command must be one of"):
        _app(use=("infer", "toy.use:infer"))
    with pytest.raises(ValueError, match="must register fit, validate and test itself"):
        _app(module=None, commands={"fit": "toy.fit:fit"})
    with pytest.raises(ValueError, match=r"\['embed'\] are standard commands"):
        _app(commands={"embed": "toy.other:embed"}).all_commands()


def test_old_flag_spellings_are_rewritten_with_a_notice(capsys):
    argv = ["fit", "--train.root", "r", "--train.epochs=3", "--name", "x"]
    out = rename_flags(argv, {"--train.root": "--runs_root", "--train.epochs": "--max_epochs"}, "toy fit")
    assert out == ["fit", "--runs_root", "r", "--max_epochs=3", "--name", "x"]
    err = capsys.readouterr().err
    assert "toy fit: --train.root is now --runs_root" in err and "--train.epochs is now --max_epochs" in err


def test_run_app_dispatches_a_registered_command():
    def predict(text: str = "") -> str:
        """Echo."""
        return text.upper()

    app = _app(module=None, datamodule=None, use=("predict", predict),
               commands={"fit": _cmd(), "validate": _cmd(), "test": _cmd()}, renamed={"--words": "--text"})
    assert run_app(app, ["predict", "--words", "hi"]) == "HI"


def test_a_rename_can_belong_to_one_command(capsys):
    """``"eth --root": "--data_root"`` rewrites --root in ``eth`` only; an app-wide rename of the
    same spelling applies to the other commands."""
    def predict(text: str = "", data_root: str = "", runs_root: str = "") -> tuple[str, str, str]:
        """Echo."""
        return text, data_root, runs_root

    app = _app(module=None, datamodule=None, use=("predict", predict),
               commands={"fit": _cmd(), "validate": _cmd(), "test": _cmd(), "eth": predict},
               renamed={"--root": "--runs_root", "eth --root": "--data_root"})
    assert run_app(app, ["eth", "--root", "scenes"]) == ("", "scenes", "")
    assert "--root is now --data_root" in capsys.readouterr().err
    assert run_app(app, ["predict", "--root", "runs2"]) == ("", "", "runs2")
    assert "--root is now --runs_root" in capsys.readouterr().err
    assert run_app(app, ["predict", "--text", "eth --root"]) == ("eth --root", "", "")  # values are not flags


def test_a_command_starts_from_the_settings_of_the_run_that_wrote_its_checkpoint(capsys):
    """``run_settings``: the reader's sections go first, so a flag given still wins; an unreadable
    run config leaves the command line as it was, with a notice; other commands are untouched."""
    def evaluate(ckpt_path: str = "", data: Data = Data()) -> tuple[str, int, int]:  # noqa: B008
        """Echo."""
        return ckpt_path, data.seed, data.size

    def reader(ckpt_path: str) -> dict:
        if ckpt_path == "lost.ckpt":
            raise FileNotFoundError("lost/config.yaml: missing")
        return {"data": {"seed": 7, "size": 3}}

    app = _app(module=None, datamodule=None, evaluate=evaluate, use=("predict", evaluate),
               commands={"fit": _cmd(), "validate": _cmd(), "test": _cmd()}, run_settings={"evaluate": reader})
    assert run_app(app, ["evaluate", "--ckpt_path", "run.ckpt"]) == ("run.ckpt", 7, 3)
    assert run_app(app, ["evaluate", "--ckpt_path=run.ckpt", "--data.size", "5"]) == ("run.ckpt", 7, 5)
    assert run_app(app, ["predict", "--ckpt_path", "run.ckpt"]) == ("run.ckpt", 0, 10)  # no reader for predict
    assert run_app(app, ["evaluate", "--ckpt_path", "lost.ckpt"]) == ("lost.ckpt", 0, 10)
    assert "toy evaluate: the settings of the run that wrote lost.ckpt are not readable" in capsys.readouterr().err
