"""End to end: a tiny study through the CLI (killed after its first unit, resumed per unit from
units.json, and as a folder from before units.json), the checkpoint scored by `evaluate`; the CLI's
help and the transformers tower."""

import csv
import json
import shutil
import subprocess
import sys

import audiolang.study as audiolang_study
import audiolang.use
import contrastkit.train
import pytest
import torch
from audiolang.cli import main
from audiolang.evaluate import CHANCE
from contrastkit.train import load_checkpoint


class Killed(Exception):
    """Stands for the study being killed."""


def _spy(monkeypatch, name: str, calls: list[str], kill_at: str | None = None) -> None:
    """Record ``seed<S>/<stage>`` of each call to ``audiolang.study.<name>``; raise :class:`Killed` at ``kill_at``."""
    real = getattr(audiolang_study, name)

    def spy(run_dir, *args, **kwargs):
        calls.append(f"{run_dir.parent.name}/{run_dir.name}")
        if run_dir.name == kill_at:
            raise Killed
        return real(run_dir, *args, **kwargs)

    monkeypatch.setattr(audiolang_study, name, spy)


def _refuse(*args, **kwargs):
    raise AssertionError("a resumed study trained or scored a stage whose results it had")


def test_tiny_study_end_to_end(tmp_path, monkeypatch, capsys):
    args = ["study", "--methods", "[clap, compa_clap]", "--seeds", "[0]", "--max_epochs", "1",
            "--max_epochs_finetune", "1", "--train_size", "48", "--benchmark_size", "12", "--batch_size", "16",
            "--runs_root", str(tmp_path)]
    run = tmp_path / "audiolang" / "study" / "version_0"
    seed_dir = run / "runs" / "seed0"
    # killed while scoring CompA-CLAP, its first unit (clap, seed 0) recorded
    trained, scored = [], []
    with monkeypatch.context() as m:
        _spy(m, "train_stage", trained)
        _spy(m, "score_checkpoint", scored, kill_at="clap-hn-mod")
        with pytest.raises(Killed):
            main(args)
    assert trained == ["seed0/clap", "seed0/clap", "seed0/clap-hn", "seed0/clap-hn-mod"]
    assert scored == ["seed0/clap", "seed0/clap-hn-mod"]
    first = json.loads((run / "units.json").read_text())
    assert list(first) == ["clap/seed0"] and first["clap/seed0"]["order/unseen/group"] >= 0.0
    assert not (run / "table.md").exists()
    # stage 3 lost as well: --resume skips the recorded unit (its stage not even loaded), keeps
    # CompA-CLAP's finished stages, trains stage 3 again and scores it
    stage1 = (seed_dir / "clap" / "checkpoints" / "last.ckpt").stat().st_mtime_ns
    shutil.rmtree(seed_dir / "clap-hn-mod")
    trained.clear(), scored.clear(), capsys.readouterr()
    with monkeypatch.context() as m:
        _spy(m, "train_stage", trained)
        _spy(m, "score_checkpoint", scored)
        out = main([*args, "--resume"])
    assert trained == ["seed0/clap", "seed0/clap-hn", "seed0/clap-hn-mod"] and scored == ["seed0/clap-hn-mod"]
    assert f"[audiolang] clap/seed0: finished before, kept ({run / 'units.json'})" in capsys.readouterr().out
    assert (seed_dir / "clap" / "checkpoints" / "last.ckpt").stat().st_mtime_ns == stage1
    assert not (run.parent / "version_1").exists()
    units = json.loads((run / "units.json").read_text())
    assert list(units) == ["clap/seed0", "compa_clap/seed0"] and units["clap/seed0"] == first["clap/seed0"]
    table = (run / "table.md").read_text()
    assert (run / "plots" / "scores.png").stat().st_size > 0
    metrics = json.loads((run / "metrics.json").read_text())
    for key, result in units.items():  # metrics.json flattens the record
        assert {k: metrics[f"{key}/{k}"] for k in result} == result
    # the table: a row per method with its chain of stages, the scores (one seed: the value alone) and n
    with open(run / "table.csv", newline="") as f:
        rows = {r["method"]: r for r in csv.DictReader(f)}
    assert list(rows) == ["clap", "compa_clap"] and rows["compa_clap"]["stages"] == "clap → hn → mod"
    for method, row in rows.items():
        assert row["n"] == "1"
        for column in ("order/unseen/group", "order/seen/group", "attribute/unseen/group", "attribute/seen/group"):
            assert row[column] == f"{metrics[f'{method}/seed0/{column}']:.1f}"
    assert f"| compa_clap | clap → hn → mod | {rows['compa_clap']['order/unseen/text']} |" in table
    for method in ("clap", "compa_clap"):
        scores = out[method]
        for key in ("order/text", "order/audio", "order/group", "attribute/group", "order/third_group", "order/t2a_R@10"):
            assert 0.0 <= scores[key] <= 100.0
        assert scores["order/group"] <= min(scores["order/text"], scores["order/audio"])
        assert scores["order/group"] == scores["order/unseen/group"]  # the headline: unseen wording
        assert scores["order/t2a_R@1"] <= scores["order/t2a_R@5"] <= scores["order/t2a_R@10"]
        assert torch.isfinite(torch.tensor(metrics[f"{method}/seed0/train/loss_last"]))
    # staged as the paper: one stage-1 run per seed, CompA-CLAP's stages each started from the previous one
    assert sorted(p.name for p in seed_dir.iterdir()) == ["clap", "clap-hn", "clap-hn-mod"]
    for stage, parent in (("clap-hn", "clap"), ("clap-hn-mod", "clap-hn")):
        hparams = load_checkpoint(seed_dir / stage / "checkpoints" / "last.ckpt")["hyper_parameters"]
        assert hparams["init_from"] == str(seed_dir / parent / "checkpoints" / "last.ckpt")
    assert load_checkpoint(seed_dir / "clap-hn-mod" / "checkpoints" / "last.ckpt")["hyper_parameters"]["stage"] == 3
    ckpt = seed_dir / "clap-hn-mod" / "checkpoints" / "last.ckpt"
    bench = next((tmp_path / "audiolang" / "cache").glob("order-*/benchmark.csv"))
    again = main(["evaluate", "--ckpt_path", str(ckpt), "--benchmark", str(bench), "--runs_root", str(tmp_path)])
    assert json.loads((tmp_path / "audiolang/evaluate/version_0/metrics.json").read_text()) == pytest.approx(again)
    assert again["text"] == pytest.approx(out["compa_clap"]["order/text"])
    assert again["seen/group"] == pytest.approx(out["compa_clap"]["order/seen/group"])
    assert set(CHANCE) <= set(again)
    # a study folder from before units.json: resumed from its stages' checkpoints and cached scores
    # (nothing trained or scored again), the record rebuilt, the same table
    for name in ("units.json", "table.md", "table.csv"):
        (run / name).unlink()
    monkeypatch.setattr(contrastkit.train, "fit_resumable", _refuse)
    monkeypatch.setattr(audiolang.use, "load_model", _refuse)
    main([*args, "--resume"])
    assert json.loads((run / "units.json").read_text()) == units
    assert (run / "table.md").read_text() == table
    assert (seed_dir / "clap" / "checkpoints" / "last.ckpt").stat().st_mtime_ns == stage1


def test_help_imports_no_torch():
    code = "import sys; from audiolang.cli import main; main(['--help']); print('torch' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip().endswith("False")
    assert "build-benchmark" in res.stdout and "study" in res.stdout


def test_transformers_clap_from_a_local_folder(tmp_path):
    from audiolang.method import CompaClap
    from audiolang.models.clap_hf import save_tiny_clap
    from audiolang.models.tokenizer import build_tokenizer

    save_tiny_clap(tmp_path, build_tokenizer())
    module = CompaClap(stage=3, pretrained=str(tmp_path))
    batch = {"audio": torch.randn(3, 12000), "lengths": torch.tensor([12000, 9000, 6000]),
             "captions": ["a dog barks", "rain falls", "a bell rings"],
             "negatives": [["x", "y", "z"]] * 3, "positives": [["p", "q"]] * 3}
    losses = module.compute_losses(batch, "train")
    losses["loss"].backward()
    assert torch.isfinite(losses["loss"])
    assert any(p.grad is not None for p in module.encoder.hf.model.text_model.parameters())
    with pytest.raises(ValueError, match=r"absent: no such folder .*nothing is downloaded"):
        CompaClap(pretrained=str(tmp_path / "absent"))
    # the CLAP baseline as released: scored from the folder without training
    from audiolang.data.build import ClipConfig, build_benchmark

    bench = build_benchmark(tmp_path / "cache", "order", 4, seed=0, clips=ClipConfig(sources=("synthetic",)))
    scores = main(["evaluate", "--pretrained", str(tmp_path), "--benchmark", str(bench), "--runs_root", str(tmp_path)])
    assert set(CHANCE) <= set(scores) and all(0 <= scores[k] <= 100 for k in CHANCE)
    with pytest.raises(ValueError, match="not both"):
        main(["evaluate", "--pretrained", str(tmp_path), "--ckpt_path", "x.ckpt", "--benchmark", str(bench),
              "--runs_root", str(tmp_path)])
