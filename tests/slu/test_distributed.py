"""slu under DDP.

1. One COCONUT training step on 2 gloo processes with half the batch each equals 1 process with the
   whole batch (loss and every parameter's gradient, float64), for NSPT + audio-text + S-KD
   (coconut_skd), NTPT and audio-KD (er_kd), on a batch whose halves hold different numbers of
   rehearsal and new clips, and on one where a half has no rehearsal clip and the other no new
   clip: the contrastive terms gather candidates and labels from both ranks, every term is weighted
   by its global count.
2. ``slu fit ... --trainer.devices 2 --trainer.strategy ddp --trainer.accelerator cpu`` (COCONUT,
   2 tasks) runs end to end as a subprocess: one run directory, its metrics.json, and an accuracy
   matrix and a WER equal to a 1-process ``slu evaluate`` of each task's checkpoint.
"""

from __future__ import annotations

import json

import pytest
import torch
from contrastkit.testing.ddp import assert_same_step, ddp_step_matches_full_batch, run_on_two_cpu_processes
from slu.method import ContinualSLU, MethodConfig
from slu.models.seq2seq import SLUModel

V, EOS, MELS, B, T = 24, 2, 8, 8, 12
# every loss path: NSPT + text + S-KD, NTPT + text, audio-KD
SETTINGS = ("coconut_skd", "ntpt", "er_kd")


def _model(seed: int):
    torch.manual_seed(seed)
    return SLUModel(V, n_mels=MELS, d_model=16, encoder_layers=1, decoder_layers=1, heads=2, ff=32, dropout=0.0,
                       proj_dim=8).double()


def make_module() -> ContinualSLU:
    """A tiny float64 student and teacher, the same weights in every process."""
    return ContinualSLU(_model(0), _model(1), EOS, lambda_supcon=1.0, lambda_text=1.0, lambda_kd=1.0, lambda_skd=1.0)


def step(module: ContinualSLU, batches: list[dict]) -> torch.Tensor:
    """The sum of every setting's training loss on each batch (no dropout: deterministic)."""
    module.on_fit_start()  # student in train mode, teacher in eval
    total = 0
    for name in SETTINGS:
        module.method = MethodConfig(name, 1.0, 0.1, 1.0, 0.1, 1.0, 1.0)
        for batch in batches:
            total = total + module.compute_losses(batch, "train")["loss"]
    return total


def take(batches: list[dict], rank: int, world: int) -> list[dict]:
    n = B // world
    return [{k: v[rank * n:(rank + 1) * n] for k, v in batch.items()} for batch in batches]


def _batch(rehearsal: list[int], labels: list[int], seed: int) -> dict:
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(6, T + 1, (B,), generator=g)
    tokens = torch.zeros(B, 7, dtype=torch.long)
    skd = torch.zeros(B, 6, dtype=torch.long)
    for b in range(B):
        n = int(torch.randint(3, 6, (), generator=g))
        tokens[b, :n + 2] = torch.cat([torch.tensor([1]), torch.randint(3, V, (n,), generator=g), torch.tensor([EOS])])
        skd[b, :n + 1] = torch.cat([torch.tensor([1]), torch.randint(3, V, (n - 1,), generator=g), torch.tensor([EOS])])
    return {"feats": torch.randn(B, T, MELS, generator=g, dtype=torch.float64), "lengths": lengths, "tokens": tokens,
            "labels": torch.tensor(labels), "rehearsal": torch.tensor(rehearsal, dtype=torch.bool), "skd_tokens": skd,
            "index": torch.arange(B), "transcripts": [f"utterance {b}" for b in range(B)]}


def test_coconut_step_on_two_processes_equals_the_full_batch_step():
    """rank 0 holds 1 rehearsal + 3 new clips and rank 1 3 + 1 (then 0 + 4 and 4 + 0)."""
    batches = [_batch([1, 0, 0, 0, 1, 1, 1, 0], [0, 2, 3, 2, 1, 0, 1, 3], seed=1),
               _batch([0, 0, 0, 0, 1, 1, 1, 1], [2, 3, 2, 3, 0, 1, 1, 0], seed=2)]
    full, ranks = ddp_step_matches_full_batch(make_module, step, take, batches)
    assert {"model.text_proj.0.weight", "model.audio_proj.2.weight", "model.out.weight"} <= set(full["grads"])
    assert not any(name.startswith("teacher.") for name in full["grads"])
    assert_same_step(full, ranks)


TINY = ["--data.dataset", "synthetic_fsc", "--data.n_tasks", "2", "--data.batch_size", "4", "--data.vocab_size", "40",
        "--data.synthetic.train_speakers", "3", "--data.synthetic.test_speakers", "1",
        "--data.synthetic.phrasings", "2", "--data.synthetic.max_classes", "4", "--data.cache_dir", "cache"]
MODEL = ["--model.d_model", "32", "--model.encoder_layers", "1", "--model.decoder_layers", "1", "--model.heads", "2",
         "--model.ff", "64", "--model.proj_dim", "16"]


def test_two_process_continual_fit_through_the_cli_matches_a_one_process_evaluation(tmp_path, monkeypatch):
    """`slu fit` (COCONUT, 2 tasks) on 2 CPU processes (Lightning's ddp launcher re-runs the
    console script at each task's first fit): one run directory, written once, and its accuracy
    matrix equal to a 1-process `slu evaluate` of each task's checkpoint."""
    run_on_two_cpu_processes("slu", ["fit", *TINY, *MODEL, "--method.name", "coconut", "--train.max_epochs", "4",
                                     "--train.lr", "0.005", "--train.memory_per_class", "2", "--runs_root", "runs",
                                     "--threads", "1"], cwd=tmp_path)
    runs = tmp_path / "runs/slu/fit"
    assert sorted(p.name for p in runs.iterdir()) == ["version_0"]
    run = runs / "version_0"
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["task_0.ckpt", "task_1.ckpt"]
    fit = json.loads((run / "metrics.json").read_text())["rows"]["coconut"][0]
    assert fit["memory_size"] == 8
    from slu.cli import main

    monkeypatch.chdir(tmp_path)
    scores = [main(["evaluate", "--ckpt_path", str(run / f"checkpoints/task_{t}.ckpt"), *TINY]) for t in range(2)]
    matrix = [[scores[t][f"task_{j}_acc"] for j in range(t + 1)] for t in range(2)]
    assert fit["matrix"] == [[pytest.approx(matrix[0][0], abs=1e-12), None],
                             [pytest.approx(v, abs=1e-12) for v in matrix[1]]]
    assert fit["wer_after_task_1"] == pytest.approx(scores[1]["wer"], abs=1e-12)  # all test clips, every word
    assert 0 < fit["wer_after_task_1"] < 10 and fit["avg_acc"] > 0
