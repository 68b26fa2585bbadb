"""``seqrec study``: methods x seeds in one run with a mean ± sample std table (table.csv,
table.md); ``--resume`` continues its parts in the same run directory."""

from __future__ import annotations

import csv
import json

import pytest
from seqrec.cli import main

DATA = json.dumps({"dataset": "synthetic", "batch_size": 64, "synthetic": {"num_users": 120, "num_items": 30,
                                                                           "num_topics": 4}})


def _study(root, epochs: int, *extra: str):
    return main(["study", "--data", DATA, "--model.hidden", "8", "--model.inner", "16", "--methods", "[sasrec]",
                 "--seeds", "[0, 1]", "--max_epochs", str(epochs), "--train.patience", "50",
                 "--runs_root", str(root), "--progress", "false", "--threads", "1", *extra])


@pytest.mark.slow
def test_study_writes_the_table_and_resumes_its_parts(tmp_path, capsys):
    summary = _study(tmp_path, 1)
    run = tmp_path / "seqrec" / "study" / "version_0"
    with (run / "table.csv").open() as f:
        header, popular, sasrec = csv.reader(f)
    assert header == ["method", "HR@5", "HR@10", "HR@20", "NDCG@5", "NDCG@10", "NDCG@20", "n", "run"]
    assert popular[0] == "Popularity" and popular[-2] == "1" and " ± " not in popular[1]
    assert sasrec[0] == "SASRec (ours, CE)" and sasrec[-2] == "2" and " ± " in sasrec[1]
    assert "seed 0: 1 epochs" in sasrec[-1] and "seed 1: 1 epochs" in sasrec[-1]
    assert (run / "table.md").is_file() and "sasrec, seed 1: e0/" in (run / "curves.md").read_text()
    for part in ("sasrec_seed0", "sasrec_seed1"):
        assert (run / part / "checkpoints" / "last.ckpt").is_file() and (run / part / "config.yaml").is_file()
    seeds = [json.loads((run / f"sasrec_seed{s}" / "metrics.json").read_text())["test/NDCG@20"] for s in (0, 1)]
    assert summary["sasrec/test/NDCG@20"] == pytest.approx(sum(seeds) / 2)
    assert 0.0 < summary["popularity/test/HR@20"] < 1.0
    assert json.loads((run / "metrics.json").read_text())["sasrec/test/NDCG@20"] == pytest.approx(sum(seeds) / 2)
    assert capsys.readouterr().out.strip().splitlines()[-1] == f"run: {run}  metrics: {run / 'metrics.json'}"

    _study(tmp_path, 2, "--resume")  # the same study, given one more epoch
    assert sorted(p.name for p in run.parent.iterdir()) == ["version_0"]
    for s in (0, 1):
        assert json.loads((run / f"sasrec_seed{s}" / "metrics.json").read_text())["epochs_run"] == 2
    assert "seed 0: 2 epochs" in (run / "table.md").read_text()


def test_study_checks_its_budgets_before_any_run(tmp_path):
    with pytest.raises(ValueError, match="one budget per method"):
        main(["study", "--methods", "[sasrec, mclrec]", "--max_times", "['00:00:01:00']",
              "--runs_root", str(tmp_path)])
    with pytest.raises(ValueError, match="model.method"):
        main(["study", "--methods", "[gru4rec]", "--runs_root", str(tmp_path)])
    assert not (tmp_path / "seqrec").exists()
