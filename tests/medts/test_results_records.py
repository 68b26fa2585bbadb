"""The medts README's k-fold tables are what `medts table` makes of the committed study records.

A long study's run folder lives outside the repository and is lost with its machine; what the
README reports is kept as the record of finished units (``apps/medts/results/<study>/version_0/``:
``config.yaml`` and ``units.json``), from which `medts table` rebuilds every row. These tests hold
the README to its records, row for row, so that a figure cannot drift from the runs it names.
"""

from __future__ import annotations

import csv
from pathlib import Path

import yaml
from contrastkit.train.units import read_units
from medts.cli import main

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "apps/medts/results"
README = ROOT / "apps/medts/README.md"


def _studies() -> dict[str, list[Path]]:
    """Committed records grouped by study name (``<study>__<part>`` runs are parts of ``<study>``)."""
    groups: dict[str, list[Path]] = {}
    for run in sorted(RESULTS.glob("*/version_*")):
        groups.setdefault(run.parent.name.split("__")[0], []).append(run)
    return groups


def test_every_record_is_a_subject_wise_kfold_study_with_its_settings():
    studies = _studies()
    assert studies, f"no study records under {RESULTS}"
    for runs in studies.values():
        for run in runs:
            config = yaml.safe_load((run / "config.yaml").read_text())
            assert config["protocol"]["folds"] == 5, run
            units = read_units(run)
            # unit keys are method/fold<k>/seed<s>, of the methods and seeds the run was given
            methods = {key.split("/")[0] for key in units}
            assert methods <= set(config["protocol"]["methods"]), run
            assert all(key.split("/")[1].startswith("fold") for key in units), run


def _markdown_rows(csv_path: Path) -> list[str]:
    """The rows of a `medts table` CSV as README lines, without the study column."""
    with open(csv_path) as fh:
        rows = [list(row.values())[1:] for row in csv.DictReader(fh)]
    return ["| " + " | ".join(row) + " |" for row in rows]


def test_the_readme_tables_are_the_records_tables(tmp_path):
    readme = README.read_text().splitlines()
    for study, runs in _studies().items():
        main(["table", "[" + ", ".join(str(r) for r in runs) + "]", "--name", study,
              "--runs_root", str(tmp_path)])
        made = tmp_path / "medts" / study / "version_0"
        for stem in ("table", "paired"):
            rows = _markdown_rows(made / f"{stem}.csv")
            assert rows, (study, stem)
            missing = [row for row in rows if row not in readme]
            assert not missing, f"{study} {stem}: README rows differ from the records: {missing}"
