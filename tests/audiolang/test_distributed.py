"""audiolang under DDP.

1. One training step of CompA-CLAP's three stages on 2 gloo processes with half the batch each
   equals 1 process with the whole batch (loss and every parameter's gradient, float64, to a
   float64 rounding bound on each tensor's norm, ``step_gaps``): stage 1
   gathers audio and text; stages 2 and 3 gather the primary captions (audio->text) and the audios
   (text->audio) while each audio's hard negatives, positives and negative audio stay per anchor;
   the official multiplicative mask gathers the other audios' captions and leaves out the anchor's
   own by its global row.
2. Every process builds the same tokenizer (ranks, and a checkpoint read by another process).
   Training shares and validation under DDP: the last batch is kept when a process's share is one
   batch or less; validation covers the whole set on every rank.
3. ``audiolang fit ... --trainer.devices 2 --trainer.strategy ddp --trainer.accelerator cpu`` on
   tiny synthetic data runs end to end as a subprocess: one run directory, its metrics.json, and
   validation losses equal to a 1-process ``audiolang validate`` of its checkpoint.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from audiolang.data import datamodule
from audiolang.data.sources import SYNTHETIC_WORDS
from audiolang.method import CompaClap
from contrastkit.testing.ddp import ddp_step_matches_full_batch, run_on_two_cpu_processes, step_gaps

RATE, B, K, P = 8000, 6, 2, 2
# (stage, use_negatives, mask, text_hard_negatives): every loss path of the three stages
SETTINGS = [(1, True, "additive", False), (2, True, "additive", True), (2, True, "multiplicative", False),
            (3, True, "additive", False), (3, False, "additive", True), (3, True, "multiplicative", False)]


def make_module() -> CompaClap:
    """Tiny towers in float64, the same weights in every process."""
    torch.manual_seed(0)
    return CompaClap(stage=3, dim=8, width=8, layers=1, segments=2, sample_rate=RATE).double()


def step(module: CompaClap, batch: dict) -> torch.Tensor:
    """The sum of every setting's training loss; eval mode: no dropout, BatchNorm's running statistics
    (a process's batch statistics would differ from the full batch's; see the report on SyncBatchNorm)."""
    module.eval()
    total = 0
    for stage, use_negatives, mask, t2a in SETTINGS:
        module.stage, module.use_negatives, module.mask, module.text_hard_negatives = stage, use_negatives, mask, t2a
        total = total + module.compute_losses(batch, "train")["loss"]
    return total


def take(batch: dict, rank: int, world: int) -> dict:
    n = len(batch["captions"]) // world
    return {k: v[rank * n:(rank + 1) * n] for k, v in batch.items()}


def _batch() -> dict:
    g = torch.Generator().manual_seed(1)
    sentences = [s for s, _ in SYNTHETIC_WORDS.values()]
    caption = lambda i, j: f"{sentences[i % 6]}, then {sentences[j % 6]}"
    return {
        "audio": torch.randn(B, 2000, generator=g, dtype=torch.float64),
        "lengths": torch.tensor([2000, 1500, 1800, 1200, 2000, 1700]),
        "captions": [caption(i, i + 1) for i in range(B)],
        "negatives": [[caption(i + 1, i), f"{sentences[i % 6]} and {sentences[(i + 2) % 6]}"][:K] for i in range(B)],
        "positives": [[sentences[i % 6], sentences[(i + 1) % 6]][:P] for i in range(B)],
        "negative_audio": torch.randn(B, 1600, generator=g, dtype=torch.float64),
        "negative_lengths": torch.tensor([1600, 1000, 1600, 1300, 1500, 1600]),
    }


# The step's longest reduction: 6 clips x 64 mel bins x 13 frames = 4,992 terms in the first conv.
SUM_TERMS = 2**13


def test_three_stages_on_two_processes_equal_the_full_batch_step():
    full, ranks = ddp_step_matches_full_batch(make_module, step, take, _batch())
    assert "encoder.log_scale" in full["grads"] and "encoder.audio_proj.weight" in full["grads"]
    assert all(r["grads"].keys() == full["grads"].keys() for r in ranks)
    gaps = step_gaps(full, ranks, SUM_TERMS)
    assert max(gaps.values()) <= 1, {k: v for k, v in gaps.items() if v > 1}
    # the bound is tight enough to catch a wrong gradient: one entry of a bias gradient moved by
    # one millionth of the tensor's norm (far less than any real mistake) is outside it
    name = "encoder.audio.encoder.layers.0.self_attn.in_proj_bias"
    wrong = [{"loss": r["loss"], "grads": dict(r["grads"])} for r in ranks]
    wrong[0]["grads"][name] = wrong[0]["grads"][name].clone()
    wrong[0]["grads"][name][0] += 1e-6 * float(full["grads"][name].norm())
    assert step_gaps(full, wrong, SUM_TERMS)[name] > 1


def test_every_process_builds_the_same_tokenizer():
    """A trained WordPiece vocabulary differed from one process to the next."""
    code = ("import json; from audiolang.models.tokenizer import build_tokenizer; "
            "print(json.dumps(sorted(build_tokenizer().get_vocab().items())))")
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
            for _ in range(2)]
    from audiolang.models.tokenizer import build_tokenizer

    assert runs[0] == runs[1] == json.dumps(sorted(build_tokenizer().get_vocab().items())) + "\n"
    assert build_tokenizer().encode("a bell rings, then a low hum drones").tokens[:3] == ["a", "bell", "rings"]


def test_training_share_keeps_its_only_batch_and_validation_covers_the_whole_set(monkeypatch):
    """40 items in batches of 32 on 2 processes are 20 per process: one short batch each, not
    none (the last batch was dropped by the total, not by the process's share); validation is whole."""
    monkeypatch.setattr(datamodule, "world", lambda: (1, 2))
    dm = datamodule.AudioTextDataModule(batch_size=32)
    dm.train_set, dm.val_set = list(range(40)), list(range(7))
    assert dm.train_dataloader().drop_last is False
    dm.train_set = list(range(80))  # 40 per process: one full batch, the short one dropped
    assert dm.train_dataloader().drop_last is True
    sampler = dm.val_dataloader().sampler
    assert isinstance(sampler, torch.utils.data.DistributedSampler)  # Lightning leaves it as it is
    assert list(sampler) == list(range(7)) and len(sampler) == 7


TINY_FIT = ["--model.dim", "8", "--model.width", "8", "--model.layers", "1", "--model.segments", "2",
            "--model.sample_rate", "8000",
            "--data.build_size", "40", "--data.batch_size", "4", "--data.val_fraction", "0.25",
            "--data.clips.sources", "[synthetic]", "--data.clips.sample_rate", "8000", "--data.cache_dir", "cache",
            "--trainer.enable_progress_bar", "false"]


def test_two_process_fit_through_the_cli_matches_a_one_process_validation(tmp_path, monkeypatch):
    """`audiolang fit` on 2 CPU processes (Lightning's ddp launcher re-runs the console
    script): one run directory, and its validation losses equal a 1-process `audiolang validate` of
    its checkpoint (which also needs the same tokenizer in every process)."""
    run_on_two_cpu_processes("audiolang", ["fit", *TINY_FIT, "--model.stage", "3", "--trainer.max_epochs", "1",
                                           "--runs_root", "runs"], cwd=tmp_path)
    runs = tmp_path / "runs/audiolang/fit"
    assert sorted(p.name for p in runs.iterdir()) == ["version_0"]
    fit = json.loads((runs / "version_0/metrics.json").read_text())
    assert fit["epochs_run"] == 1
    from audiolang.cli import main

    monkeypatch.chdir(tmp_path)
    main(["validate", *TINY_FIT, "--model.stage", "3", "--ckpt_path", str(runs / "version_0/checkpoints/last.ckpt"),
          "--runs_root", "one"])
    one = json.loads((tmp_path / "one/audiolang/validate/version_0/metrics.json").read_text())
    val = {k: v for k, v in fit.items() if k.startswith("val/")}
    assert set(val) == {"val/loss", "val/audio_to_text", "val/text_to_audio", "val/logit_scale"}
    assert val == pytest.approx({k: one[k] for k in val}, rel=1e-6)
