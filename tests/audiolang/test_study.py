"""End to end: a tiny study through the CLI, the checkpoint scored by `evaluate`; the CLI's help and the
transformers tower (issue 12, Outputs and Model)."""

import json
import subprocess
import sys

import pytest
import torch
from audiolang.cli import main
from audiolang.evaluate import CHANCE


def test_tiny_study_end_to_end(tmp_path):
    out = main(["study", "--methods", "[clap, compa_clap]", "--seeds", "[0]", "--epochs", "1", "--train_size", "48",
                "--benchmark_size", "12", "--batch_size", "16", "--root", str(tmp_path)])
    run = tmp_path / "audiolang" / "study" / "version_0"
    table = (run / "results.md").read_text()
    assert "| clap | 1 |" in table and "| compa_clap | 1 |" in table
    metrics = json.loads((run / "metrics.json").read_text())
    for method in ("clap", "compa_clap"):
        scores = out[method]
        for key in ("order/text", "order/audio", "order/group", "attribute/group", "order/third_group", "order/t2a_R@10"):
            assert 0.0 <= scores[key] <= 100.0
        assert scores["order/group"] <= min(scores["order/text"], scores["order/audio"])
        assert scores["order/t2a_R@1"] <= scores["order/t2a_R@5"] <= scores["order/t2a_R@10"]
        assert torch.isfinite(torch.tensor(metrics[f"{method}/seed0/train/loss_last"]))
        assert (run / "runs" / f"{method}_seed0" / "checkpoints" / "last.ckpt").is_file()
    ckpt = run / "runs" / "compa_clap_seed0" / "checkpoints" / "last.ckpt"
    bench = next((tmp_path / "audiolang" / "cache").glob("order-*/benchmark.csv"))
    again = main(["evaluate", "--ckpt_path", str(ckpt), "--benchmark", str(bench)])
    assert again["text"] == pytest.approx(out["compa_clap"]["order/text"])
    assert set(CHANCE) <= set(again)


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
    with pytest.raises(FileNotFoundError, match="nothing is downloaded"):
        CompaClap(pretrained=str(tmp_path / "absent"))
