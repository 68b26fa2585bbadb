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
from contrastkit.train.tables import markdown_table
from contrastkit.train.units import read_units
from medts.cli import main

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "apps/medts/results"
README = ROOT / "apps/medts/README.md"


RECORDS = sorted(RESULTS.glob("*/version_*"))


def test_every_record_is_a_subject_wise_kfold_study_with_its_settings():
    assert RECORDS, f"no study records under {RESULTS}"
    for run in RECORDS:
        config = yaml.safe_load((run / "config.yaml").read_text())
        assert config["protocol"]["folds"] == 5, run
        units = read_units(run)
        # unit keys are method/fold<k>/seed<s>, of the methods the run was given
        methods = {key.split("/")[0] for key in units}
        assert methods <= set(config["protocol"]["methods"]), run
        assert all(key.split("/")[1].startswith("fold") for key in units), run


def _readme_rows(csv_path: Path) -> list[str]:
    """The rows of a `medts table` CSV as README lines (the README drops the study column)."""
    with open(csv_path) as fh:
        rows = [list(row.values())[1:] for row in csv.DictReader(fh)]
    return markdown_table(["-"] * len(rows[0]), rows).splitlines()[2:] if rows else []


def test_the_readme_tables_are_the_records_tables(tmp_path):
    readme = README.read_text().splitlines()
    # one `medts table` over every record: it merges the parts `<study>__<part>` of each study
    main(["table", "[" + ", ".join(str(r) for r in RECORDS) + "]", "--runs_root", str(tmp_path)])
    made = tmp_path / "medts" / "table" / "version_0"
    for stem in ("table", "paired"):
        rows = _readme_rows(made / f"{stem}.csv")
        assert rows, stem
        missing = [row for row in rows if row not in readme]
        assert not missing, f"{stem}: README rows differ from the records: {missing}"
