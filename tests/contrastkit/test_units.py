"""The study bookkeeping: units recorded atomically, skipped on resume, damaged records named."""

from __future__ import annotations

import json

import pytest
from contrastkit.train.units import UNITS_FILE, StudyUnits, read_units


def test_a_resumed_study_runs_only_the_units_it_has_not_recorded(tmp_path):
    calls = []

    def unit(key, value):
        return lambda: calls.append(key) or {"score": value}

    first = StudyUnits(tmp_path)
    assert first.run("a/seed0", unit("a/seed0", 0.5)) == {"score": 0.5}

    class Killed(Exception):
        pass

    def killed():
        raise Killed

    with pytest.raises(Killed):
        first.run("a/seed1", killed)
    assert json.loads((tmp_path / UNITS_FILE).read_text()) == {"a/seed0": {"score": 0.5}}

    again = StudyUnits(tmp_path, resume=True, label="[app]")
    assert again.run("a/seed0", unit("a/seed0", 9.0)) == {"score": 0.5}  # kept, not recomputed
    assert again.run("a/seed1", unit("a/seed1", 0.25)) == {"score": 0.25}
    assert calls == ["a/seed0", "a/seed1"]
    assert read_units(tmp_path) == {"a/seed0": {"score": 0.5}, "a/seed1": {"score": 0.25}}


def test_without_resume_the_record_starts_empty(tmp_path):
    StudyUnits(tmp_path).run("u", lambda: {"x": 1.0})
    fresh = StudyUnits(tmp_path)
    assert not fresh.done("u")
    assert fresh.run("u", lambda: {"x": 2.0}) == {"x": 2.0}


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"u": 3}'])
def test_a_damaged_record_is_named(tmp_path, content):
    (tmp_path / UNITS_FILE).write_text(content)
    with pytest.raises(ValueError, match=str(tmp_path / UNITS_FILE)):
        StudyUnits(tmp_path, resume=True)


def test_no_temporary_file_is_left_beside_the_record(tmp_path):
    units = StudyUnits(tmp_path)
    for i in range(3):
        units.run(f"u{i}", lambda i=i: {"i": float(i)})
    assert sorted(p.name for p in tmp_path.iterdir()) == [UNITS_FILE]


def test_results_computed_elsewhere_are_recorded_and_a_unit_can_be_forgotten(tmp_path):
    units = StudyUnits(tmp_path)
    units.record("job_a", {"ade": 0.5})
    units.record("job_b", {"error": "boom"})
    units.forget("job_b")  # a failed unit is run again
    units.forget("never_run")
    assert read_units(tmp_path) == {"job_a": {"ade": 0.5}}
    assert StudyUnits(tmp_path, resume=True).done("job_a")


def test_a_study_with_recorded_units_and_no_checkpoint_can_be_resumed(tmp_path):
    """A study that scores models trained elsewhere writes no checkpoint; its units.json is what
    --resume finds it by. A run with neither is not resumable."""
    from contrastkit.train import ResumeError, open_run

    config = {"seeds": [0, 1]}
    empty = open_run(tmp_path, "toy", "scores", config)
    with pytest.raises(ResumeError, match="no run of .* has a checkpoint"):
        open_run(tmp_path, "toy", "scores", config, resume=True)
    run = open_run(tmp_path, "toy", "scores", config)
    StudyUnits(run).run("seed0", lambda: {"x": 1.0})
    assert open_run(tmp_path, "toy", "scores", config, resume=True) == run != empty


def test_a_record_moved_to_another_machine_resumes_there_but_not_with_other_settings(tmp_path):
    """Where a run and its data cache were kept (runs_root, cache_dir) is no setting of the
    experiment: a record copied into another runs root resumes; any other field still differs."""
    from contrastkit.train import ResumeError, open_run

    made_elsewhere = {"data": {"source": "eeg", "runs_root": "/old/runs", "cache_dir": "/old/runs/toy/cache/ab12"},
                      "seeds": [0]}
    run = open_run(tmp_path / "old", "toy", "study", made_elsewhere)
    StudyUnits(run).run("seed0", lambda: {"x": 1.0})
    moved = tmp_path / "new/toy/study/version_0"
    moved.mkdir(parents=True)
    for name in ("config.yaml", UNITS_FILE):
        (moved / name).write_bytes((run / name).read_bytes())
    here = {"data": {"source": "eeg", "runs_root": str(tmp_path / "new"), "cache_dir": "/new/cache/ab12"},
            "seeds": [0]}
    assert open_run(tmp_path / "new", "toy", "study", here, resume=True) == moved
    other = {**here, "data": {**here["data"], "source": "ecg"}}
    with pytest.raises(ResumeError, match=r"data.source: 'eeg' -> 'ecg'"):
        open_run(tmp_path / "new", "toy", "study", other, resume=True)
