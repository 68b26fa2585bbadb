"""COMET under DDP: one training step on 2 gloo processes with half the batch each equals
the step of one process with the whole batch (all four levels, both id pairings, float64), the
hierarchy sampler shards its training batches by rank, and a 2-process `medts fit` reports what a
1-process validation of its checkpoint reports."""

import json

import numpy as np
import pytest
import torch
from contrastkit.testing.ddp import assert_same_step, ddp_step_matches_full_batch, run_on_two_cpu_processes
from medts.data.sampler import HierarchyBatchSampler
from medts.method import COMET


def make_comet() -> COMET:
    torch.manual_seed(0)
    return COMET(3, output_dims=8, hidden_dims=6, depth=2, dropout=0.0, swa=False).double()


def step(module: COMET, batch: dict) -> torch.Tensor:
    """Eval mode: no dropout, view masks drawn per sample from its index (the same on any rank);
    the training stage: the losses gather. Both id pairings, all four levels."""
    module.eval()
    official = module.compute_losses(batch, "train")["loss"]
    module.hparams.id_pairing = "all"
    return official + module.compute_losses(batch, "train")["loss"]


def take(batch: dict, rank: int, world: int) -> dict:
    n = len(batch["x"]) // world
    return {k: v[rank * n:(rank + 1) * n] for k, v in batch.items()}


def _batch() -> dict:
    g = torch.Generator().manual_seed(1)
    # trials and patients spread over both halves: positives across ranks, and unequal pair counts per rank
    return {"x": torch.randn(8, 16, 3, generator=g, dtype=torch.float64),
            "patient": torch.tensor([0, 0, 1, 0, 1, 2, 2, 1]),
            "trial": torch.tensor([0, 0, 1, 2, 1, 3, 3, 2]),
            "index": torch.arange(10, 18)}


def test_comet_step_on_two_processes_equals_the_full_batch_step():
    full, ranks = ddp_step_matches_full_batch(make_comet, step, take, _batch())
    assert_same_step(full, ranks)


def test_hierarchy_sampler_shards_training_batches_and_replicates_evaluation():
    trial = np.repeat(np.arange(20), 5)  # 100 samples
    patient = trial // 2
    one = HierarchyBatchSampler(trial, patient, 16, seed=3)
    ranks = [HierarchyBatchSampler(trial, patient, 8, seed=3, rank=r, world=2) for r in range(2)]
    for s in ranks:
        s.set_epoch(4)
    a, b = (list(s) for s in ranks)
    assert len(a) == len(b) == len(ranks[0]) == 100 // 8 // 2 == 6 and all(len(x) == 8 for x in a + b)
    assert not set(np.concatenate(a)) & set(np.concatenate(b))  # distinct batches
    # a step's global batch is 16 consecutive samples of the epoch's order, as one process packs them
    order = one.epoch_order(4)
    steps = {tuple(order[i:i + 16]) for i in range(0, 96, 16)}
    assert {tuple(x + y) for x, y in zip(a, b, strict=True)} == steps
    fixed = [list(HierarchyBatchSampler(trial, patient, 8, fixed=True, rank=r, world=2)) for r in range(2)]
    assert fixed[0] == fixed[1] == list(HierarchyBatchSampler(trial, patient, 8, fixed=True))
    with pytest.raises(ValueError, match="no training step on 4 processes of 32 samples"):
        HierarchyBatchSampler(trial, patient, 32, rank=0, world=4)


TINY_FIT = ["--model.input_dims", "4", "--model.depth", "1", "--model.hidden_dims", "4", "--model.output_dims", "8",
            "--data.source.synthetic_patients_per_class", "3", "--data.source.synthetic_seconds", "10",
            "--data.batch_size", "8", "--trainer.enable_progress_bar", "false"]


def test_two_process_fit_through_the_cli_matches_a_one_process_validation(tmp_path):
    """`medts fit` on 2 CPU processes (Lightning's ddp launcher re-runs the console script): one run
    directory, and its validation losses equal a 1-process `medts validate` of its checkpoint."""
    run_on_two_cpu_processes("medts", ["fit", *TINY_FIT, "--trainer.max_epochs", "1", "--runs_root", "runs"], cwd=tmp_path)
    runs = tmp_path / "runs/medts/fit"
    assert sorted(p.name for p in runs.iterdir()) == ["version_0"]
    fit = json.loads((runs / "version_0/metrics.json").read_text())
    ckpt = runs / "version_0/checkpoints/last.ckpt"
    from medts.cli import main

    main(["validate", *TINY_FIT, "--ckpt_path", str(ckpt), "--runs_root", str(tmp_path / "one")])
    one = json.loads((tmp_path / "one/medts/validate/version_0/metrics.json").read_text())
    val = {k: v for k, v in fit.items() if k.startswith("val/")}
    assert set(val) == {"val/loss", "val/loss_patient", "val/loss_trial", "val/loss_sample", "val/loss_observation"}
    assert val == pytest.approx({k: one[k] for k in val}, rel=1e-5)
