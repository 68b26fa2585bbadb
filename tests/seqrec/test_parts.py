"""The parts of a demo or study (``fit_parts``) recorded in the run's ``units.json``: a resumed run
reads back the parts it records (ended by early stopping, or run to the budget given again),
continues a part whose budget changed, and resumes a run folder from before ``units.json`` from its
parts' metrics.json and checkpoints."""

from __future__ import annotations

import json

import pytest
from seqrec import runner
from seqrec.config import DataConfig, ModelConfig, TrainConfig
from seqrec.runner import Part, fit_parts

DATA = DataConfig(dataset="synthetic", batch_size=64, synthetic={"num_users": 150, "num_items": 40, "num_topics": 4})
MODEL = ModelConfig(method="sasrec", hidden=16, inner=32)
PARTS = {f"sasrec_seed{s}": Part(MODEL, TrainConfig(patience=50), s) for s in (0, 1)}
FIT_AND_TEST = runner.fit_and_test


class Killed(Exception):
    """Stands for the run being killed."""


def _spy(monkeypatch, calls: list[str], kill_at: str | None = None, fake: dict | None = None) -> None:
    """Record the part of each call to ``seqrec.runner.fit_and_test``; raise :class:`Killed` at
    ``kill_at``; return ``fake`` instead of fitting when given."""
    def spy(part, *args, **kwargs):
        calls.append(part.name)
        if part.name == kill_at:
            raise Killed
        return dict(fake) if fake is not None else FIT_AND_TEST(part, *args, **kwargs)

    monkeypatch.setattr(runner, "fit_and_test", spy)


def _units(run) -> dict:
    return json.loads((run / "units.json").read_text())


def _floats(record: dict) -> dict:
    return {k: v for k, v in record.items() if isinstance(v, float)}


@pytest.mark.slow
def test_a_resumed_run_skips_its_recorded_parts_and_continues_one_whose_budget_grew(tmp_path, monkeypatch, capsys):
    calls: list[str] = []
    # killed after the first part ended
    _spy(monkeypatch, calls, kill_at="sasrec_seed1")
    with pytest.raises(Killed):
        fit_parts(tmp_path, DATA, PARTS, max_epochs=1, progress=False)
    saved = json.loads((tmp_path / "sasrec_seed0" / "metrics.json").read_text())
    first = _units(tmp_path)
    assert first == {"sasrec_seed0": {**_floats(saved), "stopped_early": False, "epochs_run": 1, "max_epochs": 1,
                                      "max_time": None}}
    assert {"test/NDCG@20", "test/HR@10", "fit_seconds"} <= set(first["sasrec_seed0"])
    # resumed with the same budget: the recorded part is read back (neither fitted nor tested again)
    calls.clear(), capsys.readouterr()
    _spy(monkeypatch, calls)
    got = fit_parts(tmp_path, DATA, PARTS, max_epochs=1, progress=False)
    assert calls == ["sasrec_seed1"]
    assert f"sasrec_seed0: read back from {tmp_path / 'units.json'} (it ran to this budget" in capsys.readouterr().out
    units = _units(tmp_path)
    assert units["sasrec_seed0"] == first["sasrec_seed0"] and list(units) == list(PARTS)
    assert got == {name: _floats(units[name]) for name in PARTS}
    assert got["sasrec_seed0"] == _floats(saved)
    # one more epoch: both parts continue from their checkpoints, recorded under the new budget
    calls.clear(), capsys.readouterr()
    got = fit_parts(tmp_path, DATA, PARTS, max_epochs=2, progress=False)
    assert calls == list(PARTS)
    assert "sasrec_seed0: continuing from" in capsys.readouterr().out
    units = _units(tmp_path)
    for name in PARTS:
        assert units[name]["epochs_run"] == 2 and units[name]["max_epochs"] == 2
        assert json.loads((tmp_path / name / "metrics.json").read_text())["test/NDCG@20"] == got[name]["test/NDCG@20"]
    # the same folder from before units.json: its finished parts are tested again, with the same figures
    (tmp_path / "units.json").unlink()
    calls.clear()
    again = fit_parts(tmp_path, DATA, PARTS, max_epochs=2, progress=False)
    assert calls == list(PARTS)
    rebuilt = _units(tmp_path)
    for name in PARTS:
        tested = {k: v for k, v in again[name].items() if k.startswith("test/")}
        assert tested == {k: v for k, v in got[name].items() if k.startswith("test/")} and len(tested) == 6
        assert rebuilt[name]["epochs_run"] == 2 and rebuilt[name]["max_epochs"] == 2


FITTED = {"method": "sasrec", "test/HR@5": 0.5, "fit_seconds": 3.0, "stopped_early": False, "epochs_run": 11,
          "processes": 1, "best_checkpoint": None}


@pytest.mark.parametrize(("max_epochs", "max_time", "fitted"), [
    (10, None, False),           # the budget it ran to: read back
    (11, None, True),            # more epochs: continued
    (10, "00:00:01:00", True),   # a time budget: continued
])
def test_a_recorded_part_continues_only_when_its_budget_changed(tmp_path, monkeypatch, max_epochs, max_time, fitted):
    ran_out = {"test/HR@5": 0.25, "stopped_early": False, "epochs_run": 10, "max_epochs": 10, "max_time": None}
    (tmp_path / "units.json").write_text(json.dumps({"sasrec": ran_out}))
    calls: list[str] = []
    _spy(monkeypatch, calls, fake=FITTED)
    got = fit_parts(tmp_path, DATA, {"sasrec": Part(MODEL, TrainConfig(max_time=max_time), 0)}, max_epochs=max_epochs)
    assert calls == (["sasrec"] if fitted else [])
    expected = ({"test/HR@5": 0.5, "fit_seconds": 3.0, "stopped_early": False, "epochs_run": 11,
                 "max_epochs": max_epochs, "max_time": max_time} if fitted else ran_out)
    assert _units(tmp_path) == {"sasrec": expected}
    assert got == {"sasrec": _floats(expected)}


def test_a_part_that_early_stopping_ended_is_read_back_whatever_the_budget(tmp_path, monkeypatch, capsys):
    stopped = {"test/HR@5": 0.25, "stopped_early": True, "epochs_run": 7, "max_epochs": 10, "max_time": None}
    (tmp_path / "units.json").write_text(json.dumps({"sasrec": stopped}))
    calls: list[str] = []
    _spy(monkeypatch, calls, fake=FITTED)
    got = fit_parts(tmp_path, DATA, {"sasrec": Part(MODEL, TrainConfig(max_time="00:01:00:00"), 0)}, max_epochs=50)
    assert calls == [] and got == {"sasrec": {"test/HR@5": 0.25}} and _units(tmp_path) == {"sasrec": stopped}
    assert "early stopping ended it" in capsys.readouterr().out


def test_a_folder_from_before_units_json_resumes_from_its_parts_metrics(tmp_path, monkeypatch, capsys):
    """No units.json: a part whose metrics.json says early stopping ended it is read back (and
    recorded); one that did not early-stop is continued (tested again when it had finished)."""
    for name, stopped in (("early", True), ("budget", False)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "metrics.json").write_text(json.dumps(
            {"stopped_early": stopped, "test/HR@5": 0.25, "epochs_run": 7, "method": "sasrec"}))
    calls: list[str] = []
    _spy(monkeypatch, calls, fake=FITTED)
    parts = {name: Part(MODEL, TrainConfig(), 0) for name in ("early", "budget")}
    got = fit_parts(tmp_path, DATA, parts, max_epochs=9)
    assert calls == ["budget"]
    assert got == {"early": {"test/HR@5": 0.25}, "budget": {"test/HR@5": 0.5, "fit_seconds": 3.0}}
    assert _units(tmp_path)["early"] == {"test/HR@5": 0.25, "stopped_early": True, "epochs_run": 7, "max_epochs": 9,
                                         "max_time": None}
    assert f"early: read back from {tmp_path / 'early' / 'metrics.json'}" in capsys.readouterr().out
    (tmp_path / "early" / "metrics.json").write_text("{not json")
    (tmp_path / "units.json").unlink()
    with pytest.raises(ValueError, match=r"early/metrics.json: not readable JSON"):
        fit_parts(tmp_path, DATA, parts, max_epochs=9)
