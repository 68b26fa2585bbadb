"""The console behaviour shared by every app's commands (``contrastkit.train.cli.run_cli``): an
expected error is one line and exit status 2, Ctrl-C says what ``--resume`` will do, a bug keeps its
traceback, and ``--debug`` shows every traceback."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch

TOY_APP = '''
from contrastkit.train.cli import run_cli


def bad_data(path: str = "data.csv") -> None:
    """Fails on bad input."""
    raise ValueError(f"{path}: line 3: 2 columns where 4 are expected")


def interrupted() -> None:
    """Ctrl-C in the middle."""
    raise KeyboardInterrupt


def bug() -> None:
    """A programming error."""
    return None + 1


if __name__ == "__main__":
    run_cli("toy", commands={"bad_data": bad_data, "interrupted": interrupted, "bug": bug})
'''


def _toy(tmp_path, *args: str) -> subprocess.CompletedProcess:
    script = tmp_path / "toy.py"
    script.write_text(textwrap.dedent(TOY_APP))
    return subprocess.run([sys.executable, str(script), *args], check=False, capture_output=True, text=True,
                          timeout=300)


def test_an_expected_error_is_one_line_and_status_2(tmp_path):
    done = _toy(tmp_path, "bad_data", "--path", "visits.csv")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines()[0] == "toy bad_data: error: visits.csv: line 3: 2 columns where 4 are expected"


def test_debug_shows_the_traceback(tmp_path):
    done = _toy(tmp_path, "bad_data", "--debug")
    assert done.returncode == 1 and "Traceback" in done.stderr and "ValueError: data.csv: line 3" in done.stderr


def test_ctrl_c_says_how_to_continue(tmp_path):
    done = _toy(tmp_path, "interrupted")
    assert done.returncode == 130 and "Traceback" not in done.stderr
    assert "interrupted — the same command with --resume continues" in done.stderr


def test_a_bug_keeps_its_traceback(tmp_path):
    done = _toy(tmp_path, "bug")
    assert done.returncode == 1 and "Traceback" in done.stderr and "TypeError" in done.stderr


def test_the_interrupt_notice_says_whether_there_is_anything_to_resume(tmp_path, capsys):
    from types import SimpleNamespace

    from contrastkit.train.trainer import InterruptNotice

    run_dir = tmp_path / "version_0"
    (run_dir / "checkpoints").mkdir(parents=True)
    trainer = SimpleNamespace(is_global_zero=True, default_root_dir=str(run_dir))
    InterruptNotice().on_exception(trainer, None, KeyboardInterrupt())
    assert "interrupted before the run's first checkpoint" in capsys.readouterr().err
    torch.save({"epoch": 0}, run_dir / "checkpoints" / "last.ckpt")
    InterruptNotice().on_exception(trainer, None, KeyboardInterrupt())
    assert "the same command with --resume continues" in capsys.readouterr().err
    InterruptNotice().on_exception(trainer, None, ValueError("not an interrupt"))
    assert capsys.readouterr().err == ""


def test_a_flag_is_never_taken_as_the_abbreviation_of_a_longer_one(capsys):
    from contrastkit.train.cli import run_cli

    def command(captions_file: str = "none") -> str:
        """Reads captions from a file."""
        return captions_file

    assert run_cli("toy", commands={"c": command}, argv=["c", "--captions_file", "a.txt"]) == "a.txt"
    with pytest.raises(SystemExit):
        run_cli("toy", commands={"c": command}, argv=["c", "--captions", "a.txt"])
    assert "unrecognized arguments: --captions" in capsys.readouterr().err


def test_ctrl_c_in_a_part_without_checkpoint_still_resumes_the_earlier_parts(tmp_path, capsys):
    """A demo or study trains its parts in folders inside its run: Ctrl-C in a part that has no
    checkpoint yet must not say "nothing to resume" when earlier parts have one."""
    from types import SimpleNamespace

    from contrastkit.train import open_run
    from contrastkit.train.trainer import InterruptNotice

    run_dir = open_run(tmp_path, "t", "study", {})
    (run_dir / "pretrain" / "checkpoints").mkdir(parents=True)
    torch.save({"epoch": 3}, run_dir / "pretrain" / "checkpoints" / "last.ckpt")
    (run_dir / "finetune").mkdir()
    trainer = SimpleNamespace(is_global_zero=True, default_root_dir=str(run_dir / "finetune"))
    InterruptNotice().on_exception(trainer, None, KeyboardInterrupt())
    err = capsys.readouterr().err
    assert "the same command with --resume continues" in err and str(run_dir.resolve()) in err
