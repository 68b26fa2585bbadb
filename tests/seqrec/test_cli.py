"""End to end: ``seqrec demo`` on a tiny synthetic config, then ``test`` and ``evaluate`` on its
outputs, through the console entry point; every command writes a run directory."""

from __future__ import annotations

import json

import pytest
from seqrec.cli import main


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    metrics = main(["demo", "--runs_root", str(root), "--max_epochs", "8", "--num_users", "400", "--num_items", "60",
                    "--methods", "[popularity, mclrec]", "--threads", "1", "--progress", "false"])
    return root, metrics


@pytest.mark.slow
def test_demo_writes_its_run_and_beats_popularity(demo_run):
    root, metrics = demo_run
    run = root / "seqrec" / "demo" / "version_0"
    saved = json.loads((run / "metrics.json").read_text())
    assert saved == pytest.approx(metrics)
    assert (run / "config.yaml").is_file() and (run / "results.md").is_file() and (run / "plots" / "loss.png").is_file()
    for k in ("HR@5", "HR@10", "HR@20", "NDCG@5", "NDCG@10", "NDCG@20"):
        assert 0.0 <= metrics[f"mclrec/test/{k}"] <= 1.0
    # the synthetic sequences follow item chains a sequential model learns and popularity cannot
    assert metrics["mclrec/test/HR@10"] > metrics["popularity/test/HR@10"] + 0.15
    assert metrics["mclrec/test/NDCG@10"] > 2 * metrics["popularity/test/NDCG@10"]
    mclrec = run / "mclrec"  # each method's run is a part of the demo's run
    assert (mclrec / "checkpoints" / "last.ckpt").is_file() and (mclrec / "checkpoints" / "best.ckpt").is_file()
    assert (mclrec / "config.yaml").is_file() and (mclrec / "item_ids.json").is_file()
    assert not (root / "seqrec" / "demo_mclrec").exists()


@pytest.mark.slow
def test_test_command_reproduces_the_demo_test_metrics_in_its_own_run(demo_run, capsys):
    """``seqrec test`` writes a run named after the checkpoint's run."""
    root, metrics = demo_run
    ckpt = root / "seqrec" / "demo" / "version_0" / "mclrec" / "checkpoints" / "best.ckpt"
    data = '{"dataset": "synthetic", "synthetic": {"num_users": 400, "num_items": 60, "num_topics": 20, "seed": 0}}'
    got = main(["test", "--ckpt_path", str(ckpt), "--data", data, "--runs_root", str(root)])
    assert got["test/HR@10"] == pytest.approx(metrics["mclrec/test/HR@10"], abs=1e-6)
    assert got["test/NDCG@20"] == pytest.approx(metrics["mclrec/test/NDCG@20"], abs=1e-6)
    run = root / "seqrec" / "demo_mclrec_test" / "version_0"
    saved = json.loads((run / "metrics.json").read_text())
    assert saved["test/NDCG@20"] == pytest.approx(got["test/NDCG@20"]) and saved["checkpoint"] == str(ckpt.resolve())
    assert (run / "config.yaml").is_file()
    assert capsys.readouterr().out.strip().splitlines()[-1] == f"run: {run}  metrics: {run / 'metrics.json'}"
    main(["evaluate", "--ckpt_path", str(ckpt), "--runs_root", str(root), "--name", "scored"])
    assert (root / "seqrec" / "scored" / "version_0" / "metrics.json").is_file()


def test_evaluate_popularity_writes_its_run_and_bad_method(tmp_path, capsys):
    """``seqrec evaluate`` writes a run and ends with its line."""
    data = '{"dataset": "synthetic", "synthetic": {"num_users": 100, "num_items": 40, "seed": 1}}'
    got = main(["evaluate", "--data", data, "--model.method", "popularity", "--runs_root", str(tmp_path)])
    assert 0.0 < got["test/HR@20"] < 1.0 and got["val/HR@5"] <= got["val/HR@20"]
    run = tmp_path / "seqrec" / "popularity" / "version_0"
    assert json.loads((run / "metrics.json").read_text())["test/HR@20"] == pytest.approx(got["test/HR@20"])
    assert capsys.readouterr().out.strip().splitlines()[-1] == f"run: {run}  metrics: {run / 'metrics.json'}"
    with pytest.raises(ValueError, match="only evaluates --model.method popularity"):
        main(["evaluate", "--data", data, "--model.method", "sasrec", "--runs_root", str(tmp_path / "bad")])
    assert not (tmp_path / "bad").exists()


def test_fit_then_validate_scores_the_best_checkpoint_on_the_validation_split(tmp_path, capsys):
    """``seqrec validate`` gives the validation figures of the checkpoint that fit picked, in its own run."""
    data = '{"dataset": "synthetic", "batch_size": 64, "synthetic": {"num_users": 80, "num_items": 20, "num_topics": 4}}'
    main(["fit", "--data", data, "--model.method", "mclrec", "--model.hidden", "8", "--model.inner", "16",
          "--model.augmenter_hidden", "[4]", "--max_epochs", "2", "--runs_root", str(tmp_path),
          "--progress", "false"])
    run = tmp_path / "seqrec" / "synthetic" / "version_0"
    assert capsys.readouterr().out.strip().splitlines()[-1] == f"run: {run}  metrics: {run / 'metrics.json'}"
    fitted = json.loads((run / "metrics.json").read_text())
    got = main(["validate", "--ckpt_path", fitted["best_checkpoint"], "--runs_root", str(tmp_path)])
    assert sorted(got) == [f"val/{m}@{k}" for m in ("HR", "NDCG") for k in (10, 20, 5)]
    assert got["val/NDCG@20"] == pytest.approx(fitted["best_val/NDCG@20"], abs=1e-6)
    scored = tmp_path / "seqrec" / "synthetic_validate" / "version_0"
    saved = json.loads((scored / "metrics.json").read_text())
    assert saved["val/NDCG@20"] == pytest.approx(got["val/NDCG@20"]) and not any(k.startswith("test/") for k in saved)


def test_old_flag_spellings_still_run_with_a_notice(tmp_path, capsys):
    """``--train.root``, ``--train.name`` and ``--train.seed`` (and ``--root``, ``--epochs``) are the
    old spellings of ``--runs_root``, ``--name`` and ``--seed``: accepted, with a notice."""
    data = '{"dataset": "synthetic", "synthetic": {"num_users": 100, "num_items": 40, "seed": 1}}'
    main(["fit", "--data", data, "--model.method", "popularity", "--train.root", str(tmp_path),
          "--train.name", "old", "--train.seed", "3", "--progress", "false"])
    err = capsys.readouterr().err
    assert "--train.root is now --runs_root" in err and "--train.name is now --name" in err
    assert (tmp_path / "seqrec" / "old" / "version_0" / "metrics.json").is_file()
    assert "seed: 3" in (tmp_path / "seqrec" / "old" / "version_0" / "config.yaml").read_text()
