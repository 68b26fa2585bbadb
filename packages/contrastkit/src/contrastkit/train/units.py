"""A study's bookkeeping: the results of its units, kept so that a killed study resumes per unit.

A *unit* is one piece of a study that trains and scores on its own (e.g. method x fold x seed).
Its result — a JSON-able dict of figures — is recorded under a key such as ``"comet/fold0/seed1"``
in ``<run_dir>/units.json``, rewritten atomically after every unit: a kill leaves the previous
record whole, and ``--resume`` skips the units it lists (their sub-runs' checkpoints let an
unfinished unit continue where it stopped).

    units = StudyUnits(run_dir, resume=resume)
    for seed in seeds:
        result = units.run(f"comet/seed{seed}", lambda: train_and_score(seed))
    table = seed_table(units.results, ...)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from contrastkit.atomic import write_text_atomic
from contrastkit.train.rundir import UNITS_FILE, is_rank_zero

__all__ = ["UNITS_FILE", "StudyUnits", "read_units"]


class StudyUnits:
    """The finished units of the study in ``run_dir`` (``units.json``); see the module docstring.

    Args:
        run_dir: the study's run folder.
        resume: read the units a previous (interrupted) run of this folder recorded; without it
            the record starts empty.
        label: prefix of the progress lines (e.g. ``"[medts]"``).
    """

    def __init__(self, run_dir: str | Path, resume: bool = False, label: str = "") -> None:
        self.path = Path(run_dir) / UNITS_FILE
        self.label = f"{label} " if label else ""
        self.results: dict[str, dict[str, Any]] = read_units(self.path.parent) if resume else {}

    def done(self, key: str) -> bool:
        """Whether unit ``key`` finished (in this run or the one it resumes)."""
        return key in self.results

    def run(self, key: str, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """``compute()``'s result for unit ``key``, recorded; a unit recorded before is not run again."""
        if self.done(key):
            print(f"{self.label}{key}: finished before, kept ({self.path})", flush=True)
            return self.results[key]
        return self.record(key, compute())

    def record(self, key: str, result: dict[str, Any]) -> dict[str, Any]:
        """Record ``result`` for unit ``key`` (one computed elsewhere, e.g. in a process pool)."""
        self.results[key] = result
        if is_rank_zero():  # under DDP every rank computes the same result; one writes it
            write_text_atomic(self.path, json.dumps(self.results, indent=1))
        return result

    def forget(self, key: str) -> None:
        """Drop unit ``key`` from the record (it is to be run again: a failed unit, a lost checkpoint)."""
        if self.results.pop(key, None) is not None and is_rank_zero():
            write_text_atomic(self.path, json.dumps(self.results, indent=1))


def read_units(run_dir: str | Path) -> dict[str, dict[str, Any]]:
    """The units a study run folder recorded (empty when it has no ``units.json``); a damaged
    file is an error naming it."""
    path = Path(run_dir) / UNITS_FILE
    if not path.is_file():
        return {}
    try:
        units = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not readable JSON ({error}); delete it to run the study's units again") from None
    if not isinstance(units, dict) or not all(isinstance(v, dict) for v in units.values()):
        raise ValueError(f"{path}: expected {{unit key: {{figure: value}}}}")
    return units
