"""contrastkit.train.app: an app is a registration; the commands and flags are the core's."""

from __future__ import annotations

import pytest
from contrastkit.train.app import STANDARD_COMMANDS, App, run_app
from contrastkit.train.cli import rename_flags


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
